package io.devicelogin.operator.bench;

import io.devicelogin.operator.idp.DeviceAuthorization;
import io.devicelogin.operator.idp.IdentityProviderClient;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.idp.ProviderEndpoints;
import io.devicelogin.operator.idp.TokenPollResult;
import io.devicelogin.operator.idp.TokenRefreshResult;
import io.devicelogin.operator.testing.ScriptedIdp;
import com.nimbusds.jose.JWSAlgorithm;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The benchmark's IdP double, in memory and instant: grant number n is approved (by user-n@example.com) a random
 * delay after it started, drawn from [minDelay, maxDelay]. Records the start, approval and every poll of each grant
 * in nanoTime, so a poll sooner than the interval can be counted.
 */
final class BenchIdp implements IdentityProviderClient {

  /** One started grant: everything is System.nanoTime(). */
  static final class GrantRecord {
    final int number;
    final long startedNanos;
    final long approvedNanos;
    final List<Long> pollNanos = new ArrayList<>();
    volatile boolean issued;

    GrantRecord(int number, long startedNanos, long approvedNanos) {
      this.number = number;
      this.startedNanos = startedNanos;
      this.approvedNanos = approvedNanos;
    }

    String email() {
      return "user-" + number + "@example.com";
    }
  }

  private final Duration interval;
  private final long minDelayNanos;
  private final long maxDelayNanos;
  private final AtomicInteger started = new AtomicInteger();
  private final Map<String, GrantRecord> grants = new ConcurrentHashMap<>();
  private final Map<String, GrantRecord> byEmail = new ConcurrentHashMap<>();

  BenchIdp(Duration interval, Duration minDelay, Duration maxDelay) {
    this.interval = interval;
    this.minDelayNanos = minDelay.toNanos();
    this.maxDelayNanos = maxDelay.toNanos();
  }

  @Override
  public ProviderEndpoints discover(ProviderConfig provider, boolean forceRefresh) {
    URI issuer = provider.issuer();
    return new ProviderEndpoints(issuer, issuer.resolve("device"), issuer.resolve("token"), issuer.resolve("jwks"),
        null, Set.of(JWSAlgorithm.RS256), false, issuer.resolve("authorize"), true, true);
  }

  @Override
  public DeviceAuthorization startDeviceAuthorization(ProviderConfig provider) {
    int n = started.incrementAndGet();
    long now = System.nanoTime();
    long delay = minDelayNanos + (maxDelayNanos > minDelayNanos
        ? ThreadLocalRandom.current().nextLong(maxDelayNanos - minDelayNanos + 1) : 0);
    GrantRecord grant = new GrantRecord(n, now, now + delay);
    String deviceCode = "bench-device-code-" + n;
    grants.put(deviceCode, grant);
    byEmail.put(grant.email(), grant);
    return new DeviceAuthorization(deviceCode, String.format("B-%06d", n), URI.create(provider.issuer() + "/device"),
        URI.create(provider.issuer() + "/device?user_code=B-" + n), java.time.Instant.now().plus(Duration.ofMinutes(30)),
        interval);
  }

  @Override
  public TokenPollResult pollToken(ProviderConfig provider, String deviceCode) {
    long now = System.nanoTime();
    GrantRecord grant = grants.get(deviceCode);
    if (grant == null) {
      return new TokenPollResult.Invalid("unknown device code");
    }
    synchronized (grant) {
      grant.pollNanos.add(now);
      if (grant.issued) {
        return new TokenPollResult.ExpiredToken();
      }
      if (now < grant.approvedNanos) {
        return new TokenPollResult.Pending();
      }
      grant.issued = true;
    }
    return new TokenPollResult.Issued(ScriptedIdp.tokens(grant.email(), "developers", Duration.ofHours(2)));
  }

  @Override
  public TokenRefreshResult refresh(ProviderConfig provider, String refreshToken) {
    return new TokenRefreshResult.Unavailable("no refresh in the benchmark");
  }

  @Override
  public boolean revoke(ProviderConfig provider, String refreshToken) {
    return true;
  }

  List<GrantRecord> grants() {
    return List.copyOf(grants.values());
  }

  GrantRecord byEmail(String email) {
    return byEmail.get(email);
  }

  /** Grant records whose token Secret name is {@code secretName} ({@code oidc-user-n-example-com}). */
  GrantRecord bySecretName(String secretName) {
    if (!secretName.startsWith("oidc-user-") || !secretName.endsWith("-example-com")) {
      return null;
    }
    String n = secretName.substring("oidc-user-".length(), secretName.length() - "-example-com".length());
    return byEmail.get("user-" + n + "@example.com");
  }

  Duration interval() {
    return interval;
  }
}
