package io.devicelogin.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.idp.IssuedTokens;
import io.devicelogin.operator.idp.TokenPollResult;
import io.devicelogin.operator.testing.MockCluster;
import io.devicelogin.operator.testing.Resources;
import io.devicelogin.operator.testing.RunningOperator;
import io.devicelogin.operator.testing.ScriptedIdp;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The DeviceLogin reconciler against the mock API server with a scripted IdP double. */
class DeviceLoginReconcilerIT {

  private static final String NS = "team-a";

  private MockCluster cluster;
  private KubernetesClient client;
  private ScriptedIdp idp;
  private RunningOperator operator;

  @BeforeEach
  void start() {
    cluster = MockCluster.start();
    client = cluster.client();
    idp = new ScriptedIdp(Clock.systemUTC(), Duration.ofSeconds(1));
    operator = RunningOperator.start(cluster, metrics -> idp);
    client.resource(Resources.identityProvider(NS, "corp", "http://127.0.0.1:1/realms/x", "cli")).create();
  }

  @AfterEach
  void stop() {
    if (operator != null) {
      operator.close();
    }
    cluster.close();
  }

  @Test
  void loginGoesFromAwaitingUserToReadyAndWritesTheSecret() {
    client.resource(Resources.deviceLogin(NS, "alice", "corp")).create();
    DeviceLogin awaiting = awaitPhase("alice", Phase.AwaitingUser);
    assertThat(awaiting.getStatus().getUserCode()).isEqualTo("CODE-0001");

    idp.script(1, new TokenPollResult.Issued(tokens("alice@example.com")));
    DeviceLogin ready = awaitPhase("alice", Phase.Ready);
    assertThat(ready.getStatus().getUserCode()).isNull();
    assertThat(ready.getStatus().getSecretName()).isEqualTo("oidc-alice-example-com");
    Secret secret = client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get();
    assertThat(secret.getType()).isEqualTo("devicelogin.io/oidc-tokens");
    await().atMost(Duration.ofSeconds(10)).until(() -> client.secrets().inNamespace(NS)
        .withName("devicelogin-grant-alice").get() == null);
    assertThat(idp.grantsStarted()).isEqualTo(1);
  }

  private DeviceLogin awaitPhase(String name, Phase phase) {
    return await().atMost(Duration.ofSeconds(15)).until(
        () -> client.resources(DeviceLogin.class).inNamespace(NS).withName(name).get(),
        dl -> dl != null && dl.getStatus() != null && dl.getStatus().getPhase() == phase);
  }

  static IssuedTokens tokens(String email) {
    Instant now = Instant.now();
    JWTClaimsSet claims = new JWTClaimsSet.Builder().subject("sub-" + email).claim("email", email)
        .claim("groups", List.of("developers")).issueTime(java.util.Date.from(now))
        .expirationTime(java.util.Date.from(now.plusSeconds(300))).build();
    return new IssuedTokens(new PlainJWT(claims).serialize(), "access-" + now.toEpochMilli(),
        "refresh-" + now.toEpochMilli(), now.plusSeconds(300), now, claims.toJSONObject());
  }
}
