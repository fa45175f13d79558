package io.devicelogin.operator.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProvider;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The one secret-hygiene check every integration and end-to-end test runs: no token, refresh token, device code,
 * client secret or authorization code may appear in status, Events, the operator's log output or its metrics.
 *
 * <p>The secret values come from where they legitimately live (the operator's Secrets, the IdP's records) plus any
 * the test adds; the places searched are everything a person or another tool can see.
 */
public final class LeakScanner {

  /** Shorter values (like "true") would match by chance; real tokens and codes are far longer. */
  private static final int MIN_LENGTH = 8;

  private final Set<String> secrets = new LinkedHashSet<>();

  /** Adds values that must never be visible. */
  public LeakScanner secrets(Collection<String> values) {
    values.stream().filter(v -> v != null && v.length() >= MIN_LENGTH).forEach(secrets::add);
    return this;
  }

  public LeakScanner secrets(String... values) {
    return secrets(List.of(values));
  }

  /** Adds every value held in Secrets the operator manages (tokens, device codes), except the public keys. */
  public LeakScanner secretsFromCluster(KubernetesClient client) {
    for (Secret secret : client.secrets().inAnyNamespace()
        .withLabel(Constants.MANAGED_BY_LABEL, Constants.MANAGED_BY).list().getItems()) {
      if (secret.getData() == null) {
        continue;
      }
      secret.getData().forEach((key, value) -> {
        if (SECRET_KEYS.contains(key)) {
          secrets(new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8));
        }
      });
    }
    return this;
  }

  private static final Set<String> SECRET_KEYS =
      Set.of("id-token", "refresh-token", "access-token", "device-code", "code-verifier", "response-code");

  public int secretCount() {
    return secrets.size();
  }

  /** Fails if any secret value appears in what a person or a tool can see. */
  public void assertNoLeaks(KubernetesClient client, LogCapture logs, String metricsText) {
    assertNoLeaks(client, logs.text(), metricsText);
  }

  /** As {@link #assertNoLeaks(KubernetesClient, LogCapture, String)}, for an operator whose log is text (a process's output). */
  public void assertNoLeaks(KubernetesClient client, String logText, String metricsText) {
    Map<String, String> haystacks = new LinkedHashMap<>();
    for (DeviceLogin login : client.resources(DeviceLogin.class).inAnyNamespace().list().getItems()) {
      haystacks.put("status of DeviceLogin " + login.getMetadata().getName(),
          Serialization.asJson(login.getStatus()) + Serialization.asJson(login.getMetadata()));
    }
    for (IdentityProvider provider : client.resources(IdentityProvider.class).inAnyNamespace().list().getItems()) {
      haystacks.put("IdentityProvider " + provider.getMetadata().getName(), Serialization.asJson(provider));
    }
    for (ClusterIdentityProvider provider : client.resources(ClusterIdentityProvider.class).list().getItems()) {
      haystacks.put("ClusterIdentityProvider " + provider.getMetadata().getName(), Serialization.asJson(provider));
    }
    client.v1().events().inAnyNamespace().list().getItems().forEach(event ->
        haystacks.put("Event " + event.getMetadata().getName(), Serialization.asJson(event)));
    haystacks.put("operator log", logText);
    haystacks.put("metrics", metricsText);
    List<String> leaks = new ArrayList<>();
    haystacks.forEach((where, text) -> {
      for (String secret : secrets) {
        if (text.contains(secret)) {
          leaks.add(where + " contains a secret value starting " + secret.substring(0, 4) + "…");
        }
      }
    });
    assertThat(secrets).as("the scan must have secrets to look for").isNotEmpty();
    assertThat(leaks).as("secret values visible outside Secrets").isEmpty();
  }
}
