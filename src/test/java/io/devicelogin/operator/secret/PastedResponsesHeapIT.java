package io.devicelogin.operator.secret;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.status.Conditions;
import io.devicelogin.operator.status.DeviceLoginStatusBuilder;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testing.LeakScanner;
import io.devicelogin.operator.testing.LiveHeap;
import io.devicelogin.operator.testing.LogCapture;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.MockCluster;
import io.devicelogin.operator.testing.Resources;
import io.devicelogin.operator.testing.RunningOperator;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue #13, memory: the paste-back informer watches every Secret labelled {@value Constants#DEVICELOGIN_LABEL}, and any
 * tenant who may create Secrets can label as many as their quota allows, each up to about 1 MiB, naming DeviceLogins
 * that do not exist (so nothing consumes them). The heap the operator retains for them once its informer has seen them
 * (as {@link HostileSecretsIT} measures it) must be far below the data they hold, and a login in the same namespace
 * still completes by paste-back.
 */
class PastedResponsesHeapIT {

  private static final int SECRETS = Integer.getInteger("pasted.secrets", 80);
  private static final int PAYLOAD_CHARS = 512 * 1024;
  private static final String NS = "team-paste-flood";

  private RunningOperator operator;

  @AfterEach
  void stopOperator() {
    if (operator != null) {
      operator.close();
    }
  }

  @Test
  void labelledSecretsATenantPlantsAreNotCachedWhole() throws Exception {
    try (LogCapture logs = LogCapture.attach(); MockCluster cluster = MockCluster.start();
        FakeIdp idp = FakeIdp.start()) {
      KubernetesClient client = cluster.client();
      operator = RunningOperator.start(cluster);
      IdentityProvider provider = Resources.identityProvider(NS, "corp", idp.issuer(), "cli");
      provider.getSpec().setGrant(IdentityProviderSpec.GrantType.AuthorizationCode);
      provider.getSpec().setRedirectUri("http://localhost:8000/");
      client.resource(provider).create();
      client.resource(Resources.deviceLogin(NS, "victim", "corp", "victim@example.com")).create();
      URI url = URI.create(Logins.awaitLogin(client, NS, "victim", dl -> dl.getStatus().getAuthorizationUrl() != null)
          .getStatus().getAuthorizationUrl());

      operator.close();
      operator = null;
      long stoppedBefore = LiveHeap.bytes();
      operator = RunningOperator.start(cluster);
      long runningBefore = LiveHeap.bytes();

      String payload = randomText(PAYLOAD_CHARS);
      for (int i = 0; i < SECRETS; i++) {
        // paste-back Secrets with an oversized URL, and Secrets of other types with the label
        client.resource(new SecretBuilder().withNewMetadata().withNamespace(NS).withName("flood-" + i)
            .addToLabels(Constants.DEVICELOGIN_LABEL, "ghost-" + i).endMetadata()
            .withType(i % 2 == 0 ? Constants.AUTHORIZATION_RESPONSE_TYPE : "Opaque")
            .addToData(Constants.REDIRECT_URL_KEY, base64("http://localhost:8000/?code=" + payload))
            .build()).create();
      }
      long plantedChars = (long) SECRETS * PAYLOAD_CHARS;

      // the watch delivers in order: once the victim's own paste is consumed, the informer has seen the flood
      client.resource(new SecretBuilder().withNewMetadata().withNamespace(NS).withName("victim-response")
          .addToLabels(Constants.DEVICELOGIN_LABEL, "victim").endMetadata()
          .withType(Constants.AUTHORIZATION_RESPONSE_TYPE)
          .addToData(Constants.REDIRECT_URL_KEY, base64(idp.signIn(url, Claims.user("victim"))))
          .build()).create();
      DeviceLogin done = Logins.awaitLogin(client, NS, "victim", Logins.phase(Phase.Ready));
      assertThat(Conditions.find(done.getStatus().getConditions(), DeviceLoginStatusBuilder.RECONCILED)).isNull();

      long running = LiveHeap.bytes();
      operator.close();
      operator = null;
      long stopped = LiveHeap.bytes();

      long before = runningBefore - stoppedBefore;
      long retained = running - stopped - before;
      System.out.printf(Locale.ROOT, "PastedResponsesHeapIT: %d labelled Secrets holding %.1f MiB of data; the "
              + "operator retains %.1f MiB before them and %.1f MiB more once it has seen them%n", SECRETS,
          plantedChars / 1048576.0, before / 1048576.0, retained / 1048576.0);
      assertThat(retained).as("heap retained for the planted Secrets").isLessThan(plantedChars / 10);

      List<String> secrets = new ArrayList<>(Logins.secretsOf(idp));
      new LeakScanner().secrets(secrets).assertNoLeaks(client, logs, "");
    }
  }

  private static String base64(String value) {
    return Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8));
  }

  private static String randomText(int chars) {
    byte[] bytes = new byte[chars / 4 * 3];
    new Random(13).nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
