package io.devicelogin.operator.secret;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.devicelogin.operator.OperatorSettings;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.idp.CallLimiter;
import io.devicelogin.operator.idp.EgressGuard;
import io.devicelogin.operator.idp.NimbusIdentityProviderClient;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testing.LeakScanner;
import io.devicelogin.operator.testing.LogCapture;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.MockCluster;
import io.devicelogin.operator.testing.Resources;
import io.devicelogin.operator.testing.RunningOperator;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An operator watching a list of namespaces (WATCH_NAMESPACES) has one Secret informer, with its own item store, per
 * namespace: each namespace's list at start keeps its own Secrets and leaves the other namespaces' alone, so a
 * restarted operator still finds every Ready login's token Secret (a lost entry would read as a deleted Secret and end
 * the login RefreshFailed).
 */
class SecretInformerNamespacesIT {

  private static final List<String> NAMESPACES = List.of("team-a", "team-b", "team-c");

  private RunningOperator operator;

  @AfterEach
  void stopOperator() {
    if (operator != null) {
      operator.close();
    }
  }

  private RunningOperator start(MockCluster cluster) {
    return RunningOperator.start(cluster, metrics -> new NimbusIdentityProviderClient(
        Duration.ofSeconds(2), Duration.ofSeconds(3), metrics, Clock.systemUTC(), EgressGuard.none(),
        new CallLimiter(CallLimiter.defaultLimit(OperatorSettings.DEFAULT_RECONCILE_THREADS))),
        settings -> new OperatorSettings(Set.copyOf(NAMESPACES), "devicelogin-system", 0, Duration.ofSeconds(2),
            Duration.ofSeconds(3)).withIdpEgress(EgressGuard.none()));
  }

  @Test
  void eachWatchedNamespaceKeepsItsOwnSecretsAcrossRestarts() {
    try (LogCapture logs = LogCapture.attach(); MockCluster cluster = MockCluster.start();
        FakeIdp idp = FakeIdp.start().interval(1).tokenLifetime(120)) {
      KubernetesClient client = cluster.client();
      for (String ns : NAMESPACES) {
        client.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
        client.resource(Resources.anyUser(Resources.identityProvider(ns, "corp", idp.issuer(), "cli"))).create();
      }
      operator = start(cluster);
      for (String ns : NAMESPACES) {
        client.resource(Resources.deviceLogin(ns, "login", "corp")).create();
        String userCode = Logins.awaitLogin(client, ns, "login", Logins.phase(Phase.AwaitingUser)).getStatus()
            .getUserCode();
        idp.login(userCode).approve(Claims.user("user-" + ns));
        Logins.awaitLogin(client, ns, "login", Logins.phase(Phase.Ready));
      }

      for (int restart = 0; restart < 2; restart++) {
        operator.close();
        operator = start(cluster);
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() -> NAMESPACES.stream()
            .map(ns -> Logins.get(client, ns, "login")).allMatch(SecretInformerNamespacesIT::ready));
      }
      // and each namespace's informer still sees its token Secret go
      client.secrets().inNamespace("team-b").withName("oidc-user-team-b-example-com").delete();
      Logins.awaitLogin(client, "team-b", "login", Logins.reason("RefreshFailed"));
      assertThat(Logins.get(client, "team-a", "login").getStatus().getPhase()).isEqualTo(Phase.Ready);

      new LeakScanner().secrets(Logins.secretsOf(idp)).assertNoLeaks(client, logs, operator.scrapeMetrics());
    }
  }

  private static boolean ready(DeviceLogin login) {
    return login != null && login.getStatus().getPhase() == Phase.Ready;
  }
}
