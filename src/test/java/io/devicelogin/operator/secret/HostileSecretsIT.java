package io.devicelogin.operator.secret;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testing.LiveHeap;
import io.devicelogin.operator.testing.LeakScanner;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.LogCapture;
import io.devicelogin.operator.testing.MockCluster;
import io.devicelogin.operator.testing.RunningOperator;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue #12, memory: the operator's Secret informer caches every Secret with its label, and any tenant who may create
 * Secrets can put the label on as many as their quota allows, each up to about 1 MiB. A tenant plants a few hundred
 * labelled Secrets of 512 KiB each (Opaque, grant and token type; with annotations and a controller owner reference
 * naming a victim DeviceLogin, and two at the victims' grant and token Secret names). The heap the operator retains
 * for them once its informer has seen them (live heap after a GC with the operator running, minus without it, minus
 * the same before the attack) must be far below the data they hold. The victims end with a clear SecretConflict, the
 * planted Secrets are never written over, another login in the namespace completes (and stays Ready when a restarted
 * operator lists the planted Secrets), and nothing planted shows in status, Events or logs.
 */
class HostileSecretsIT {

  private static final int SECRETS = Integer.getInteger("hostile.secrets", 180);
  private static final int PAYLOAD_CHARS = 512 * 1024;
  private static final String NS = "team-hostile";

  private RunningOperator operator;

  @AfterEach
  void stopOperator() {
    if (operator != null) {
      operator.close();
    }
  }

  @Test
  void labelledSecretsATenantPlantsAreNotCachedWholeAndBreakNoLogin() throws Exception {
    List<String> markers = new ArrayList<>();
    try (LogCapture logs = LogCapture.attach(); MockCluster cluster = MockCluster.start();
        FakeIdp idp = FakeIdp.start().interval(1).tokenLifetime(60)) {
      KubernetesClient client = cluster.client();
      operator = RunningOperator.start(cluster);
      client.resource(Resources.anyUser(Resources.identityProvider(NS, "corp", idp.issuer(), "cli"))).create();
      // a login that completes before the attack: deleting its token Secret after the planted ones tells when the
      // operator's informer has seen them all (one watch, in order)
      approve(client, idp, create(client, "canary", "corp", "oidc-canary"), "carol");

      // the operator's own heap: live heap with it running minus without it (stopped and unreachable)
      operator.close();
      operator = null;
      long stoppedBefore = LiveHeap.bytes();
      operator = RunningOperator.start(cluster);
      long runningBefore = LiveHeap.bytes();

      // the victims: one whose grant Secret name will be taken (its provider comes later, so it waits unstarted), one
      // whose token Secret name will be taken (it waits for approval)
      DeviceLogin grantVictim = create(client, "grant-victim", "late", null);
      DeviceLogin tokenVictim = create(client, "token-victim", "corp", "oidc-token-victim");
      String userCode = Logins.awaitLogin(client, NS, "token-victim", Logins.phase(Phase.AwaitingUser)).getStatus()
          .getUserCode();

      String payload = randomBase64(PAYLOAD_CHARS);
      List<Secret> squats = List.of(
          client.resource(planted(GrantStore.secretName(grantVictim), GrantStore.TYPE, grantVictim, payload, -1,
              markers)).create(),
          client.resource(planted("oidc-token-victim", Constants.TOKEN_SECRET_TYPE, tokenVictim, payload, -2,
              markers)).create());
      String[] types = {"Opaque", GrantStore.TYPE, Constants.TOKEN_SECRET_TYPE};
      for (int i = 0; i < SECRETS; i++) {
        DeviceLogin named = i % 2 == 0 ? tokenVictim : grantVictim;
        client.resource(planted("hostile-" + i, types[i % 3], named, payload, i, markers)).create();
      }
      long plantedChars = (long) (SECRETS + squats.size()) * PAYLOAD_CHARS;

      client.secrets().inNamespace(NS).withName("oidc-canary").delete();
      Logins.awaitLogin(client, NS, "canary", Logins.reason("RefreshFailed"));

      // the victims end with a clear reason and the Secrets at their names stay as the tenant left them
      client.resource(Resources.anyUser(Resources.identityProvider(NS, "late", idp.issuer(), "cli"))).create();
      DeviceLogin grantRefused = Logins.awaitLogin(client, NS, "grant-victim", Logins.phase(Phase.Failed));
      assertThat(Logins.ready(grantRefused).getReason()).isEqualTo("SecretConflict");
      assertThat(Logins.ready(grantRefused).getMessage()).startsWith("Secret devicelogin-grant-grant-victim already "
          + "exists and is not this DeviceLogin's grant Secret (its data is missing or larger than the operator "
          + "writes)");
      idp.login(userCode).approve(Claims.user("tom"));
      DeviceLogin tokenRefused = Logins.awaitLogin(client, NS, "token-victim", Logins.phase(Phase.Failed));
      assertThat(Logins.ready(tokenRefused).getReason()).isEqualTo("SecretConflict");
      assertThat(Logins.ready(tokenRefused).getMessage()).startsWith("Secret oidc-token-victim already exists and is "
          + "not a DeviceLogin token Secret (its data is missing or larger than the operator writes)");
      for (Secret squat : squats) {
        assertThat(client.secrets().inNamespace(NS).withName(squat.getMetadata().getName()).get()
            .getMetadata().getResourceVersion()).as("never written over").isEqualTo(squat.getMetadata()
            .getResourceVersion());
      }
      // another login in the namespace completes
      approve(client, idp, create(client, "bystander", "corp", "oidc-bob"), "bob");
      assertThat(TokenSecrets.value(client.secrets().inNamespace(NS).withName("oidc-bob").get(),
          TokenSecrets.ID_TOKEN)).isNotBlank();

      long running = LiveHeap.bytes();
      operator.close();
      operator = null;
      long stopped = LiveHeap.bytes();

      long before = runningBefore - stoppedBefore;
      long retained = running - stopped - before;
      System.out.printf(Locale.ROOT, "HostileSecretsIT: %d labelled Secrets holding %.1f MiB of data; the operator "
              + "retains %.1f MiB before them and %.1f MiB more once it has seen them%n", SECRETS + squats.size(),
          plantedChars / 1048576.0, before / 1048576.0, retained / 1048576.0);
      assertThat(retained).as("heap retained for the planted Secrets").isLessThan(plantedChars / 10);

      // a restarted operator lists them all at start (the same item store keeps the same; the heap is not measured
      // here: the mock API server keeps about as much again as it lists, whether the operator runs or not)
      operator = RunningOperator.start(cluster);
      Logins.awaitLogin(client, NS, "bystander", Logins.phase(Phase.Ready));
      // every token and device code the IdP handed out, and every value planted (status, Events, logs, metrics)
      new LeakScanner().secrets(markers).secrets(Logins.secretsOf(idp))
          .assertNoLeaks(client, logs, operator.scrapeMetrics());
    }
  }

  private static DeviceLogin create(KubernetesClient client, String name, String provider, String secretName) {
    DeviceLogin login = Resources.deviceLogin(NS, name, provider);
    login.getSpec().setSecretName(secretName);
    return client.resource(login).create();
  }

  private static void approve(KubernetesClient client, FakeIdp idp, DeviceLogin login, String user) {
    String name = login.getMetadata().getName();
    String userCode = Logins.awaitLogin(client, NS, name, Logins.phase(Phase.AwaitingUser)).getStatus().getUserCode();
    idp.login(userCode).approve(Claims.user(user));
    Logins.awaitLogin(client, NS, name, Logins.phase(Phase.Ready));
  }

  /**
   * A Secret with the operator's label, {@code type}, {@code payload} and small marked values where a grant or token
   * Secret holds its codes and tokens, with the annotations and controller owner reference of a Secret that
   * {@code victim} wrote.
   */
  private static Secret planted(String name, String type, DeviceLogin victim, String payload, int i,
      List<String> markers) {
    String marker = "planted-" + i + "-" + Long.toHexString(new Random(i).nextLong());
    markers.add(marker);
    String subject = "planted-subject-" + i + "-x";
    markers.add(subject);
    return new SecretBuilder()
        .withNewMetadata().withNamespace(NS).withName(name)
        .addToLabels(Constants.MANAGED_BY_LABEL, Constants.MANAGED_BY)
        .addToAnnotations(Map.of(Constants.DEVICELOGIN_ANNOTATION, victim.getMetadata().getName(),
            TokenSecrets.WRITER_UID_ANNOTATION, victim.getMetadata().getUid(),
            TokenSecrets.GRANT_ANNOTATION, "grant-" + i, Constants.SUBJECT_ANNOTATION, subject))
        .withOwnerReferences(OwnerReferences.controller(victim))
        .endMetadata()
        .withType(type)
        .withData(Map.of("padding", payload, "id-token", base64(marker), "device-code", base64(marker),
            "refresh-token", base64(marker)))
        .build();
  }

  private static String base64(String value) {
    return Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8));
  }

  private static String randomBase64(int chars) {
    byte[] bytes = new byte[chars / 4 * 3];
    new Random(12).nextBytes(bytes);
    return Base64.getEncoder().encodeToString(bytes);
  }
}
