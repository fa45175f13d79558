package io.devicelogin.operator.reconciler;

import static io.devicelogin.operator.testing.Logins.phase;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.idp.CallLimiter;
import io.devicelogin.operator.idp.EgressGuard;
import io.devicelogin.operator.idp.NimbusIdentityProviderClient;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testing.LogCapture;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.MockCluster;
import io.devicelogin.operator.testing.Resources;
import io.devicelogin.operator.testing.RunningOperator;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * Issue #11, one slow IdP starves every tenant: a tenant's IdP whose token endpoint answers only after 2.5 s, with
 * many logins polling it every second, beside another tenant's fast IdP. With the fair share (8 reconcile threads, at
 * most 2 requests in flight per owner) the fast tenant's approvals typically reach Ready within one interval and all
 * within three; the same run without it is measured beside, and must be at least three times slower at the median.
 */
class FairShareIT {

  private static final int THREADS = 8;
  private static final int SLOW_LOGINS = 24;
  private static final int FAST_LOGINS = 12;
  private static final Duration SLOW_ANSWER = Duration.ofMillis(2500);
  /** How late the watcher below may see a login turn Ready: its 25 ms pause and one list of the logins. */
  private static final long SAMPLING_MILLIS = 100;

  @Test
  void aSlowTenantIdpDoesNotDelayAnotherTenantsLogins() {
    List<Long> fair = approvalToReadyMillis(new CallLimiter(CallLimiter.defaultLimit(THREADS)));
    List<Long> unlimited = approvalToReadyMillis(CallLimiter.unlimited());
    System.out.printf(Locale.ROOT, "FairShareIT approval->Ready of the fast tenant (interval 1 s, %d slow logins at "
            + "%d ms per poll, %d threads): fair share p50 %d ms, max %d ms; without it p50 %d ms, max %d ms%n",
        SLOW_LOGINS, SLOW_ANSWER.toMillis(), THREADS, percentile(fair, 50), percentile(fair, 100),
        percentile(unlimited, 50), percentile(unlimited, 100));

    // Ready is seen by listing the logins every 25 ms: a reading can be late by that and one list round trip
    assertThat(percentile(fair, 50)).as("the typical fast approval within one poll interval (+ the sampling)")
        .isLessThanOrEqualTo(1000 + SAMPLING_MILLIS);
    assertThat(percentile(fair, 100)).as("every fast approval within three poll intervals (+ the sampling); runs on "
        + "this 2-core machine gave 1.1-2.8 s, without the share 5.6-7.4 s").isLessThanOrEqualTo(3000 + SAMPLING_MILLIS);
    assertThat(percentile(fair, 50) * 3).as("the fair share keeps the fast tenant far ahead of the unfair case")
        .isLessThan(percentile(unlimited, 50));
  }

  /** Runs the scenario with {@code limiter}; returns each fast login's approval → Ready time. */
  private static List<Long> approvalToReadyMillis(CallLimiter limiter) {
    try (LogCapture logs = LogCapture.attach();
        FakeIdp slow = FakeIdp.start().interval(1).expiresIn(600);
        FakeIdp fast = FakeIdp.start().interval(1).expiresIn(600);
        MockCluster cluster = MockCluster.start();
        RunningOperator operator = RunningOperator.start(cluster, metrics -> new NimbusIdentityProviderClient(
                Duration.ofSeconds(2), Duration.ofSeconds(3), metrics, Clock.systemUTC(), EgressGuard.none(), limiter),
            settings -> settings.withReconcileThreads(THREADS))) {
      slow.intercept((request, proceed) -> {
        if (request.path().equals(slow.tokenEndpoint().getPath())) {
          sleep(SLOW_ANSWER);
        }
        return proceed.get();
      });
      KubernetesClient client = cluster.client();
      client.resource(Resources.identityProvider("tenant-slow", "idp", slow.issuer(), "cli")).create();
      client.resource(Resources.identityProvider("team-fast", "idp", fast.issuer(), "cli")).create();
      for (int i = 0; i < SLOW_LOGINS; i++) {
        client.resource(login("tenant-slow", "slow-" + i)).create();
      }
      // the slow tenant's logins compete for its own share (some starts are deferred and retried, and polls of the
      // started ones, every second at 2.5 s each, keep its share full): enough are polling to keep it so
      await().atMost(Duration.ofSeconds(60)).until(() -> slow.logins().size() >= THREADS / 2);
      sleep(Duration.ofSeconds(3));
      for (int i = 0; i < FAST_LOGINS; i++) {
        client.resource(login("team-fast", "fast-" + i)).create();
      }
      await().atMost(Duration.ofSeconds(60)).until(() -> fast.logins().size() == FAST_LOGINS);

      Map<String, Long> approvedAt = new ConcurrentHashMap<>();
      Map<String, Long> readyAt = new ConcurrentHashMap<>();
      Thread watcher = new Thread(() -> {
        long until = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (readyAt.size() < FAST_LOGINS && System.nanoTime() < until) {
          for (DeviceLogin login : client.resources(DeviceLogin.class).inNamespace("team-fast").list().getItems()) {
            if (login.getStatus() != null && login.getStatus().getPhase() == Phase.Ready) {
              readyAt.putIfAbsent(login.getMetadata().getName(), System.nanoTime());
            }
          }
          sleep(Duration.ofMillis(25));
        }
      }, "fair-share-watcher");
      watcher.start();
      for (int i = 0; i < FAST_LOGINS; i++) {
        String name = "fast-" + i;
        String userCode = Logins.awaitLogin(client, "team-fast", name, phase(Phase.AwaitingUser)).getStatus()
            .getUserCode();
        approvedAt.put(name, System.nanoTime());
        fast.login(userCode).approve(Claims.user(name));
        sleep(Duration.ofMillis(250));
      }
      await().atMost(Duration.ofSeconds(90)).until(() -> readyAt.size() == FAST_LOGINS);
      watcher.interrupt();
      assertThat(client.resources(DeviceLogin.class).inNamespace("tenant-slow").list().getItems())
          .as("the slow tenant's logins are slowed down, none lost").hasSize(SLOW_LOGINS)
          .allSatisfy(login -> assertThat(login.getStatus().getPhase()).isIn(Phase.Pending, Phase.AwaitingUser));
      List<Long> millis = new ArrayList<>();
      approvedAt.forEach((name, at) -> millis.add((readyAt.get(name) - at) / 1_000_000));
      return millis;
    }
  }

  private static DeviceLogin login(String namespace, String name) {
    DeviceLogin login = Resources.deviceLogin(namespace, name, "idp");
    login.getSpec().setUser(name + "@example.com");
    return login;
  }

  private static long percentile(List<Long> values, int percentile) {
    List<Long> sorted = values.stream().sorted().toList();
    int index = (int) Math.ceil(percentile / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, index));
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
