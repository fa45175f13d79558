package io.devicelogin.operator.testing;

import static org.awaitility.Awaitility.await;

import io.devicelogin.operator.api.v1alpha1.Condition;
import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.status.Conditions;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testidp.IssuedTokens;
import io.devicelogin.operator.testidp.Login;
import io.devicelogin.operator.testidp.SignIn;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.awaitility.core.ConditionTimeoutException;

/** Waiting for and reading DeviceLogins in integration tests, and the secret values a {@link FakeIdp} handed out. */
public final class Logins {

  public static final Duration TIMEOUT = Duration.ofSeconds(20);

  private Logins() {}

  /** Waits until the DeviceLogin has a phase and {@code condition} holds; returns what was seen. */
  public static DeviceLogin awaitLogin(
      KubernetesClient client, String namespace, String name, Predicate<DeviceLogin> condition) {
    return awaitLogin(client, namespace, name, condition, TIMEOUT);
  }

  public static DeviceLogin awaitLogin(
      KubernetesClient client, String namespace, String name, Predicate<DeviceLogin> condition, Duration timeout) {
    try {
      return await().atMost(timeout).pollInterval(Duration.ofMillis(100))
          .until(() -> get(client, namespace, name),
              dl -> dl != null && dl.getStatus() != null && dl.getStatus().getPhase() != null && condition.test(dl));
    } catch (ConditionTimeoutException e) {
      DeviceLogin last = get(client, namespace, name);
      throw new AssertionError("DeviceLogin " + namespace + "/" + name + " did not reach the expected state within "
          + timeout.toSeconds() + "s; its status is "
          + (last == null ? "(no such DeviceLogin)" : Serialization.asJson(last.getStatus())), e);
    }
  }

  public static DeviceLogin get(KubernetesClient client, String namespace, String name) {
    return client.resources(DeviceLogin.class).inNamespace(namespace).withName(name).get();
  }

  public static Predicate<DeviceLogin> phase(Phase phase) {
    return dl -> dl.getStatus().getPhase() == phase;
  }

  public static Predicate<DeviceLogin> reason(String reason) {
    return dl -> ready(dl) != null && reason.equals(ready(dl).getReason());
  }

  /** The Ready condition. */
  public static Condition ready(DeviceLogin login) {
    return Conditions.find(login.getStatus().getConditions(), Constants.READY);
  }

  /** Events about the named object, oldest first. */
  public static List<Event> events(KubernetesClient client, String namespace, String name) {
    return client.v1().events().inNamespace(namespace).list().getItems().stream()
        .filter(e -> e.getInvolvedObject() != null && name.equals(e.getInvolvedObject().getName()))
        .toList();
  }

  /**
   * Every device code, authorization code, PKCE verifier and token {@code idp} handed out or received: none may ever be
   * visible outside Secrets.
   */
  public static List<String> secretsOf(FakeIdp idp) {
    List<String> values = new ArrayList<>();
    for (Login login : idp.logins()) {
      values.add(login.deviceCode());
      login.issuedTokens().forEach(tokens -> add(values, tokens));
    }
    for (SignIn signIn : idp.signIns()) {
      values.add(signIn.code());
      signIn.issuedTokens().forEach(tokens -> add(values, tokens));
    }
    idp.codeExchanges().forEach(exchange -> values.add(exchange.param("code_verifier")));
    return values;
  }

  private static void add(List<String> values, IssuedTokens tokens) {
    values.add(tokens.accessToken());
    values.add(tokens.refreshToken());
    values.add(tokens.idToken());
  }
}
