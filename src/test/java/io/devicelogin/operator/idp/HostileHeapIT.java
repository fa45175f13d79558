package io.devicelogin.operator.idp;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.metrics.OperatorMetrics;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testidp.FaultProxy;
import io.devicelogin.operator.testidp.FaultProxy.Endpoint;
import io.devicelogin.operator.testidp.FaultProxy.Fault;
import io.devicelogin.operator.testing.LiveHeap;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * Issue #11, memory: 1,000 hostile logins hold the most the operator keeps for a login it can't finish — tokens whose
 * ID token can't be checked because the IdP's signing keys can't be fetched, each as large as the bound lets them
 * be — while 1,000 distinct providers fill the discovery cache. The heap this retains (live heap after a GC, with
 * them minus without them) is measured and must stay far below the chart's default heap (384 MiB of a 512 MiB limit).
 */
class HostileHeapIT {

  private static final int LOGINS = Integer.getInteger("hostile.logins", 1_000);

  @Test
  void aThousandHostileLoginsRetainABoundedHeap() throws Exception {
    OperatorMetrics metrics = new OperatorMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    try (FaultProxy proxy = FaultProxy.start(); FakeIdp idp = FakeIdp.startBehind(proxy)) {
      ProviderConfig provider = new ProviderConfig(URI.create(idp.issuer()), "cli", null, null, List.of("openid"));
      NimbusIdentityProviderClient client = new NimbusIdentityProviderClient(
          Duration.ofSeconds(2), Duration.ofSeconds(3), metrics, Clock.systemUTC(), EgressGuard.none());
      List<UnverifiedTokens> held = new ArrayList<>();
      proxy.fail(Endpoint.JWKS, Fault.SERVER_ERROR);
      // padding that keeps ID, access and refresh token together just under the bound for tokens held unchecked
      String padding = "x".repeat(IdpLimits.MAX_UNVERIFIED_CHARS / 2 - 2_000);
      for (int i = 0; i < LOGINS; i++) {
        DeviceAuthorization grant = client.startDeviceAuthorization(provider);
        idp.lastLogin().approve(Claims.user("user-" + i).claim("padding", padding + i));
        TokenPollResult result = client.pollToken(provider, grant.deviceCode());
        assertThat(result).as("login %d", i).isInstanceOf(TokenPollResult.Unverified.class);
        held.add(((TokenPollResult.Unverified) result).tokens());
      }
      for (int i = 0; i < 1_000; i++) {
        try {
          client.discover(new ProviderConfig(URI.create("http://127.0.0.1:1/tenant-" + i), "cli", null, null,
              List.of("openid")), false);
        } catch (IdpException expected) {
          // nothing listens there: a failed discovery, cached with back-off
        }
      }
      int heldChars = held.stream().mapToInt(UnverifiedTokens::size).sum();
      assertThat(held).hasSize(LOGINS)
          .allSatisfy(t -> assertThat(t.size()).isLessThanOrEqualTo(IdpLimits.MAX_UNVERIFIED_CHARS));
      // what the operator would retain: the held tokens and the client's caches (the test IdP's own records of the
      // logins stay on both sides of the difference)
      long with = LiveHeap.bytes();
      held.clear();
      client = null;
      long retained = with - LiveHeap.bytes();
      System.out.printf(Locale.ROOT, "HostileHeapIT: %d hostile logins holding %.1f MiB of token text unchecked, and "
              + "1,000 failed discoveries cached, retain %.1f MiB of heap (%.1f KiB per login)%n",
          LOGINS, heldChars / 1048576.0, retained / 1048576.0, retained / 1024.0 / LOGINS);

      assertThat(retained).as("retained heap").isLessThan(64L * 1024 * 1024);
    }
  }
}
