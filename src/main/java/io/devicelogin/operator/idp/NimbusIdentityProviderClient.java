package io.devicelogin.operator.idp;

import io.devicelogin.operator.metrics.OperatorMetrics;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;

/**
 * {@link IdentityProviderClient} on the Nimbus OAuth 2.0 / OIDC SDK: every protocol message is Nimbus'. A facade over
 * the package's collaborators: {@code ProviderDiscovery}, {@code TokenEndpoint} (device authorization, token poll,
 * refresh, revocation), {@code IdTokenVerifier} and {@code IdpTransport}, which sends every request.
 */
public final class NimbusIdentityProviderClient implements IdentityProviderClient {

  /** How long a discovery document is trusted before it is fetched again. */
  public static final Duration DISCOVERY_TTL = Duration.ofMinutes(10);

  /**
   * The clock skew the ID token checks allow between the IdP's clock and the operator's: an {@code iat} up to this far
   * in the future and an {@code exp} up to this far in the past are accepted. (Nimbus' default, set explicitly.)
   */
  public static final Duration ID_TOKEN_CLOCK_SKEW = Duration.ofSeconds(60);

  /**
   * How long at most tokens whose signing keys could not be fetched are kept for another check (within that, until the
   * ID token would expire).
   */
  public static final Duration MAX_UNVERIFIED_HOLD = Duration.ofHours(1);

  /** The largest answer read from an IdP endpoint (discovery, JWKS, device authorization, token, revocation). */
  public static final int MAX_RESPONSE_BYTES = BoundedHttpSender.MAX_RESPONSE_BYTES;

  /**
   * The most entries each cache holds (discovery documents, ID token validators with their keys, TLS trust per
   * caBundle); the least recently used goes first. Tenants create providers, so this bounds the memory they can make
   * the operator use.
   */
  public static final int CACHE_ENTRIES = 1000;

  /**
   * How long an ID token validator (and the TLS trust of a caBundle) is kept; its signing keys are refetched sooner.
   */
  public static final Duration VALIDATOR_TTL = Duration.ofHours(1);

  /**
   * How long a failed discovery is remembered before it is tried again: 30 s after the first failure, doubling with
   * each failure in a row up to {@link #MAX_DISCOVERY_BACKOFF}, so a slow or failing discovery endpoint is asked at
   * most once per period per provider whatever the number of logins. A forced refresh (the provider reconciler's
   * check) may try again once this first period has passed.
   */
  public static final Duration DISCOVERY_BACKOFF = Duration.ofSeconds(30);

  /** The longest a failed discovery is remembered: 5 minutes. */
  public static final Duration MAX_DISCOVERY_BACKOFF = Duration.ofMinutes(5);

  private final IdpTransport transport;
  private final ProviderDiscovery discovery;
  private final IdTokenVerifier verifier;
  private final TokenEndpoint tokenEndpoint;

  /**
   * @param guard where a namespaced provider's endpoints may not go (IDP_DENIED_CIDRS); ClusterIdentityProviders are
   *     exempt
   */
  public NimbusIdentityProviderClient(
      Duration connectTimeout, Duration readTimeout, OperatorMetrics metrics, Clock clock, EgressGuard guard) {
    this(connectTimeout, readTimeout, metrics, clock, guard, CallLimiter.unlimited());
  }

  /** With {@code limiter} bounding the requests in flight per owner of providers (the operator's fair share). */
  public NimbusIdentityProviderClient(
      Duration connectTimeout, Duration readTimeout, OperatorMetrics metrics, Clock clock, EgressGuard guard,
      CallLimiter limiter) {
    this.transport = new IdpTransport(connectTimeout, readTimeout, metrics, clock, guard, limiter);
    this.discovery = new ProviderDiscovery(transport, metrics, clock);
    this.verifier = new IdTokenVerifier(transport, discovery, metrics, clock);
    this.tokenEndpoint = new TokenEndpoint(transport, discovery, verifier, metrics, clock);
  }

  /** How many entries the discovery, validator and TLS caches hold now (tests: the caches stay bounded). */
  int[] cacheSizes() {
    return new int[] {discovery.cacheSize(), verifier.cacheSize(), transport.cachedBundles()};
  }

  /**
   * Cached per issuer, caBundle and kind of provider (a namespaced provider's discovery is checked more strictly, so it
   * never shares an entry with a ClusterIdentityProvider's). A failure is cached too, for a back-off period
   * ({@link #DISCOVERY_BACKOFF}); while a fetched document is still valid, a failed forced refresh keeps it. Threads
   * that need a discovery already under way wait for its result (at most one request deadline) instead of asking the
   * IdP again, so a slow discovery endpoint gets one request however many logins wait on it.
   */
  @Override
  public ProviderEndpoints discover(ProviderConfig provider, boolean forceRefresh) throws IdpException {
    return discovery.discover(provider, forceRefresh);
  }

  @Override
  public DeviceAuthorization startDeviceAuthorization(ProviderConfig provider) throws IdpException {
    return tokenEndpoint.startDeviceAuthorization(provider);
  }

  @Override
  public TokenPollResult pollToken(ProviderConfig provider, String deviceCode) {
    return tokenEndpoint.poll(provider, deviceCode);
  }

  @Override
  public CodeAuthorization authorize(ProviderConfig provider, String state) throws IdpException {
    return tokenEndpoint.authorize(provider, state);
  }

  @Override
  public TokenPollResult exchangeCode(
      ProviderConfig provider, URI redirectUri, String code, String codeVerifier, String nonce) {
    return tokenEndpoint.exchangeCode(provider, redirectUri, code, codeVerifier, nonce);
  }

  @Override
  public TokenRefreshResult refresh(ProviderConfig provider, String refreshToken) {
    return tokenEndpoint.refresh(provider, refreshToken);
  }

  @Override
  public boolean revoke(ProviderConfig provider, String refreshToken) throws IdpException {
    return tokenEndpoint.revoke(provider, refreshToken);
  }

  @Override
  public TokenPollResult verifyIssued(ProviderConfig provider, UnverifiedTokens tokens) {
    return verifier.recheck(provider, tokens, "token").polled();
  }

  @Override
  public TokenRefreshResult verifyRefreshed(ProviderConfig provider, UnverifiedTokens tokens) {
    return verifier.recheck(provider, tokens, "refresh").refreshed();
  }
}
