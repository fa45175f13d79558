package io.devicelogin.operator.idp;

import static io.devicelogin.operator.testing.Logins.awaitLogin;
import static io.devicelogin.operator.testing.Logins.phase;
import static io.devicelogin.operator.testing.Logins.ready;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testidp.FaultProxy;
import io.devicelogin.operator.testidp.FaultProxy.Endpoint;
import io.devicelogin.operator.testidp.FaultProxy.Fault;
import io.devicelogin.operator.testidp.Login;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue #12, in-flight state in the API: tokens the IdP issued whose ID token can't be checked yet (its signing keys
 * can't be fetched) are the login once the device code is used up, so they are kept with the login's grant Secret
 * (never its token Secret, status, Events or logs) and a restarted operator checks them again instead of ending the
 * login. The real Nimbus client against a {@link FakeIdp} behind a {@link FaultProxy}.
 */
class UnverifiedTokensRestartIT {

  private static FaultProxy proxy;
  private static FakeIdp idp;
  private static OperatorFixture fixture;
  private static KubernetesClient client;

  @BeforeAll
  static void start() {
    proxy = FaultProxy.start();
    idp = FakeIdp.startBehind(proxy).interval(1);
    fixture = OperatorFixture.start(metrics -> new NimbusIdentityProviderClient(
        Duration.ofSeconds(2), Duration.ofSeconds(3), metrics, Clock.systemUTC(), EgressGuard.none()));
    client = fixture.client();
  }

  @AfterAll
  static void stop() {
    try {
      fixture.assertNoLeaks(Logins.secretsOf(idp));
      fixture.close();
    } finally {
      try {
        idp.close();
      } finally {
        proxy.close();
      }
    }
  }

  @Test
  void tokensIssuedWhileTheKeysCantBeFetchedSurviveARestartAndBecomeTheLoginOnceTheyCan() {
    String ns = "unverified-restart";
    client.resource(Resources.anyUser(Resources.identityProvider(ns, "corp", idp.issuer(), "cli"))).create();
    client.resource(Resources.deviceLogin(ns, "alice", "corp")).create();
    Login login = idp.login(awaitLogin(client, ns, "alice", phase(Phase.AwaitingUser)).getStatus().getUserCode());
    idp.rotateSigningKey(); // a key id the operator has not cached: the JWKS must be fetched
    proxy.fail(Endpoint.JWKS, Fault.SERVER_ERROR);
    login.approve(Claims.user("alice"));
    awaitLogin(client, ns, "alice", dl -> ready(dl).getMessage().contains("its signing keys"), Duration.ofSeconds(15));
    int polls = login.pollCount();
    Secret grant = client.secrets().inNamespace(ns).withName("devicelogin-grant-alice").get();
    assertThat(grant.getData()).as("kept with the grant").containsKeys("unverified-id-token",
        "unverified-access-token", "unverified-check-until");
    assertThat(decode(grant, "unverified-id-token")).isEqualTo(login.issuedTokens().get(0).idToken());
    assertThat(client.secrets().inNamespace(ns).withName("oidc-alice-example-com").get())
        .as("no token Secret before the check succeeds").isNull();

    fixture.restartOperator();
    int jwks = proxy.requests(Endpoint.JWKS).size();
    await().atMost(Duration.ofSeconds(15)).until(() -> proxy.requests(Endpoint.JWKS).size() > jwks);
    DeviceLogin waiting = Logins.get(client, ns, "alice");
    assertThat(waiting.getStatus().getPhase()).as("the restarted operator keeps the login")
        .isEqualTo(Phase.AwaitingUser);
    assertThat(login.pollCount()).as("the used-up device code is not polled again").isEqualTo(polls);

    proxy.heal();
    DeviceLogin done = awaitLogin(client, ns, "alice", phase(Phase.Ready), Duration.ofSeconds(20));
    assertThat(ready(done).getReason()).isEqualTo("Issued");
    Secret secret = client.secrets().inNamespace(ns).withName("oidc-alice-example-com").get();
    assertThat(decode(secret, "id-token")).as("the tokens issued before the restart")
        .isEqualTo(login.issuedTokens().get(0).idToken());
    assertThat(login.issuedTokens()).as("tokens issued once").hasSize(1);
    assertThat(login.pollCount()).isEqualTo(polls);
    await().atMost(Duration.ofSeconds(10))
        .until(() -> client.secrets().inNamespace(ns).withName("devicelogin-grant-alice").get() == null);
  }

  private static String decode(Secret secret, String key) {
    return new String(Base64.getDecoder().decode(secret.getData().get(key)), StandardCharsets.UTF_8);
  }
}
