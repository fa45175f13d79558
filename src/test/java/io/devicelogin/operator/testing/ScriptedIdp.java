package io.devicelogin.operator.testing;

import io.devicelogin.operator.idp.DeviceAuthorization;
import io.devicelogin.operator.idp.IdentityProviderClient;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import io.devicelogin.operator.idp.IdpException;
import io.devicelogin.operator.idp.IssuedTokens;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.idp.ProviderEndpoints;
import io.devicelogin.operator.idp.TokenPollResult;
import io.devicelogin.operator.idp.TokenRefreshResult;
import com.nimbusds.jose.JWSAlgorithm;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.UUID;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An in-memory test double of {@link IdentityProviderClient}: each started grant answers polls from a script
 * (default: pending). For reconciler-level tests; protocol-level tests use a real HTTP fake IdP.
 */
public final class ScriptedIdp implements IdentityProviderClient {

  private final Clock clock;
  private final Duration interval;
  private final AtomicInteger started = new AtomicInteger();
  private volatile Duration lifetime = Duration.ofMinutes(10);
  private volatile IdpException startFailure;
  private volatile IdpException revokeFailure;
  private final Queue<TokenRefreshResult> refreshScript = new ConcurrentLinkedQueue<>();
  private final List<String> refreshes = new CopyOnWriteArrayList<>();
  private final List<String> revoked = new CopyOnWriteArrayList<>();
  private final List<String> deviceCodes = new CopyOnWriteArrayList<>();
  private final Map<String, Queue<TokenPollResult>> scripts = new ConcurrentHashMap<>();
  private final Map<String, List<java.time.Instant>> polls = new ConcurrentHashMap<>();

  public ScriptedIdp(Clock clock, Duration interval) {
    this.clock = clock;
    this.interval = interval;
  }

  @Override
  public ProviderEndpoints discover(ProviderConfig provider, boolean forceRefresh) {
    URI issuer = provider.issuer();
    return new ProviderEndpoints(
        issuer, issuer.resolve("device"), issuer.resolve("token"), issuer.resolve("jwks"), null,
        Set.of(JWSAlgorithm.RS256), false, issuer.resolve("authorize"), true, true);
  }

  @Override
  public DeviceAuthorization startDeviceAuthorization(ProviderConfig provider) throws IdpException {
    if (startFailure != null) {
      throw startFailure;
    }
    int n = started.incrementAndGet();
    String deviceCode = "device-code-" + n + "-" + java.util.UUID.randomUUID();
    deviceCodes.add(deviceCode);
    scripts.put(deviceCode, new ConcurrentLinkedQueue<>());
    polls.put(deviceCode, new CopyOnWriteArrayList<>());
    return new DeviceAuthorization(
        deviceCode, String.format("CODE-%04d", n), URI.create(provider.issuer() + "/device"),
        URI.create(provider.issuer() + "/device?user_code=CODE-" + n), clock.instant().plus(lifetime), interval);
  }

  @Override
  public TokenPollResult pollToken(ProviderConfig provider, String deviceCode) {
    polls.get(deviceCode).add(clock.instant());
    TokenPollResult next = scripts.get(deviceCode).poll();
    return next == null ? new TokenPollResult.Pending() : next;
  }

  @Override
  public TokenRefreshResult refresh(ProviderConfig provider, String refreshToken) {
    refreshes.add(refreshToken);
    TokenRefreshResult next = refreshScript.poll();
    return next == null ? new TokenRefreshResult.Unavailable("no refresh scripted") : next;
  }

  @Override
  public boolean revoke(ProviderConfig provider, String refreshToken) throws IdpException {
    IdpException failure = revokeFailure;
    if (failure != null) {
      throw failure;
    }
    revoked.add(refreshToken);
    return true;
  }

  /** Queues what the next refreshes return (default when none is queued: unavailable). */
  public void scriptRefresh(TokenRefreshResult... results) {
    refreshScript.addAll(List.of(results));
  }

  /** The refresh tokens refreshes were asked with, in order. */
  public List<String> refreshes() {
    return List.copyOf(refreshes);
  }

  public List<String> revoked() {
    return List.copyOf(revoked);
  }

  /** Makes revocation fail with {@code failure} (null: succeed again). */
  public void failRevocation(IdpException failure) {
    revokeFailure = failure;
  }

  /**
   * Tokens as a validated token response would give them: an unsigned ID token for {@code email} in {@code group},
   * issued now and valid for {@code lifetime}, and fresh opaque access and refresh tokens.
   */
  public static IssuedTokens tokens(String email, String group, Duration lifetime) {
    Instant now = Instant.now();
    JWTClaimsSet claims = new JWTClaimsSet.Builder().subject("sub-" + email).claim("email", email)
        .claim("email_verified", true).claim("groups", List.of(group)).issueTime(Date.from(now))
        .expirationTime(Date.from(now.plus(lifetime))).build();
    String unique = UUID.randomUUID().toString();
    return new IssuedTokens(new PlainJWT(claims).serialize(), "access-" + unique, "refresh-" + unique,
        now.plus(lifetime).truncatedTo(ChronoUnit.SECONDS), now.truncatedTo(ChronoUnit.SECONDS),
        claims.toJSONObject());
  }

  /** How long the user codes of grants started from now on live. */
  public void lifetime(Duration newLifetime) {
    lifetime = newLifetime;
  }

  /** Makes starting a grant fail with {@code failure} (null: succeed again). */
  public void failStarts(IdpException failure) {
    startFailure = failure;
  }

  /** Queues what the next polls of grant number {@code n} (1-based) return. */
  public void script(int n, TokenPollResult... results) {
    scripts.get(deviceCodes.get(n - 1)).addAll(List.of(results));
  }

  public int grantsStarted() {
    return started.get();
  }

  public List<String> deviceCodes() {
    return List.copyOf(deviceCodes);
  }

  public List<java.time.Instant> pollTimes(int n) {
    return List.copyOf(polls.get(deviceCodes.get(n - 1)));
  }
}
