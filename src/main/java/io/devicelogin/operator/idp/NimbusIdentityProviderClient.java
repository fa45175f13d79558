package io.devicelogin.operator.idp;

import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.AuthorizationGrant;
import com.nimbusds.oauth2.sdk.RefreshTokenGrant;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenRevocationRequest;
import com.nimbusds.oauth2.sdk.auth.ClientAuthentication;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.ClientSecretPost;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.device.DeviceAuthorizationRequest;
import com.nimbusds.oauth2.sdk.device.DeviceAuthorizationResponse;
import com.nimbusds.oauth2.sdk.device.DeviceAuthorizationSuccessResponse;
import com.nimbusds.oauth2.sdk.device.DeviceCode;
import com.nimbusds.oauth2.sdk.device.DeviceCodeGrant;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.token.RefreshToken;
import io.devicelogin.operator.metrics.OperatorMetrics;
import java.time.Clock;
import java.time.Duration;

/** {@link IdentityProviderClient} on the Nimbus OAuth 2.0 / OIDC SDK: every protocol message is Nimbus'. */
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

  private final Duration deadline;
  private final OperatorMetrics metrics;
  private final Clock clock;
  private final IdpTransport transport;
  private final ProviderDiscovery discovery;
  private final IdTokenVerifier verifier;

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
    this.deadline = transport.deadline();
    this.metrics = metrics;
    this.clock = clock;
  }

  /** How many entries the discovery, validator and TLS caches hold now (tests: the caches stay bounded). */
  int[] cacheSizes() {
    return new int[] {discovery.cacheSize(), verifier.cacheSize(), transport.cachedBundles()};
  }

  /** The bound on one whole exchange with the IdP (connect, send, status line, headers, body): connect + read timeout. */
  public Duration requestDeadline() {
    return deadline;
  }

  @Override
  public ProviderEndpoints discover(ProviderConfig provider, boolean forceRefresh) throws IdpException {
    return discovery.discover(provider, forceRefresh);
  }

  @Override
  public DeviceAuthorization startDeviceAuthorization(ProviderConfig provider) throws IdpException {
    ProviderEndpoints endpoints = discover(provider, false);
    Scope scope = new Scope(provider.scopes().toArray(String[]::new));
    ClientAuthentication auth = clientAuthentication(provider, endpoints);
    DeviceAuthorizationRequest request = auth == null
        ? new DeviceAuthorizationRequest(
            endpoints.deviceAuthorizationEndpoint(), new ClientID(provider.clientId()), scope)
        : new DeviceAuthorizationRequest(endpoints.deviceAuthorizationEndpoint(), auth, scope, null);
    HTTPResponse response = transport.send("device_authorization", request.toHTTPRequest(), provider);
    if (response.getStatusCode() >= 500) {
      metrics.idpRequest("device_authorization", "unavailable");
      throw new IdpException(
          IdpException.Kind.UNAVAILABLE,
          "device authorization endpoint answered HTTP " + response.getStatusCode());
    }
    String notJson = IdpAnswers.notJson("device authorization endpoint", response);
    if (notJson != null) {
      metrics.idpRequest("device_authorization", "unavailable");
      throw new IdpException(IdpException.Kind.UNAVAILABLE, notJson);
    }
    DeviceAuthorizationResponse parsed;
    try {
      parsed = DeviceAuthorizationResponse.parse(response);
    } catch (ParseException e) {
      metrics.idpRequest("device_authorization", "invalid");
      throw new IdpException(
          IdpException.Kind.REJECTED,
          "device authorization endpoint answered HTTP " + response.getStatusCode()
              + " with JSON that is not a device authorization response (RFC 8628 requires device_code, user_code, "
              + "verification_uri and expires_in)");
    }
    if (!parsed.indicatesSuccess()) {
      metrics.idpRequest("device_authorization", "error");
      throw new IdpException(
          IdpException.Kind.REJECTED,
          "the IdP refused the device authorization request: "
              + IdpAnswers.describe(parsed.toErrorResponse().getErrorObject(), null)
              + "; check clientId, clientSecretRef, scopes and that the client may use the device grant");
    }
    DeviceAuthorizationSuccessResponse success = parsed.toSuccessResponse();
    String problem = unpublishable(success, provider.insecureHttpAllowed());
    if (problem != null) {
      metrics.idpRequest("device_authorization", "invalid");
      throw new IdpException(IdpException.Kind.REJECTED, "the device authorization endpoint answered with " + problem
          + ", which the operator does not publish; the IdP is misconfigured or does not answer as RFC 8628 says");
    }
    metrics.idpRequest("device_authorization", "success");
    return new DeviceAuthorization(
        success.getDeviceCode().getValue(),
        success.getUserCode().getValue(),
        success.getVerificationURI(),
        success.getVerificationURIComplete(),
        clock.instant().plus(IdpLimits.grantLifetime(success.getLifetime())),
        IdpLimits.interval(success.getInterval()));
  }

  /** What in a device authorization answer must not be published or kept (see {@link IdpLimits}), or null. */
  private static String unpublishable(DeviceAuthorizationSuccessResponse success, boolean insecureHttpAllowed) {
    if (success.getDeviceCode().getValue().length() > IdpLimits.MAX_TOKEN_CHARS) {
      return "a device_code longer than " + IdpLimits.MAX_TOKEN_CHARS + " characters";
    }
    String problem = IdpLimits.userCodeProblem(success.getUserCode().getValue());
    if (problem == null) {
      problem = IdpLimits.verificationUriProblem("verification_uri", success.getVerificationURI(), insecureHttpAllowed);
    }
    if (problem == null) {
      problem = IdpLimits.verificationUriProblem(
          "verification_uri_complete", success.getVerificationURIComplete(), insecureHttpAllowed);
    }
    return problem;
  }

  @Override
  public TokenPollResult pollToken(ProviderConfig provider, String deviceCode) {
    ProviderEndpoints endpoints;
    try {
      endpoints = discover(provider, false);
    } catch (IdpException e) {
      return new TokenPollResult.Unavailable(e.getMessage());
    }
    TokenAnswer answer;
    try {
      answer = exchange("token", provider, endpoints, new DeviceCodeGrant(new DeviceCode(deviceCode)), true,
          deviceCode);
    } catch (IdpException e) {
      return new TokenPollResult.Unavailable(e.getMessage());
    }
    if (answer instanceof TokenAnswer.Unavailable unavailable) {
      return new TokenPollResult.Unavailable(unavailable.message());
    }
    if (answer instanceof TokenAnswer.Tokens tokens) {
      return tokens.checked().polled();
    }
    ErrorObject error = ((TokenAnswer.Refused) answer).error();
    return switch (error.getCode()) {
      case "authorization_pending" -> new TokenPollResult.Pending();
      case "slow_down" -> new TokenPollResult.SlowDown();
      case "access_denied" -> new TokenPollResult.AccessDenied();
      case "expired_token" -> new TokenPollResult.ExpiredToken();
      default -> new TokenPollResult.Invalid("the token endpoint refused the device code: " + IdpAnswers.describe(error, deviceCode));
    };
  }

  @Override
  public TokenRefreshResult refresh(ProviderConfig provider, String refreshToken) {
    ProviderEndpoints endpoints;
    try {
      endpoints = discover(provider, false);
    } catch (IdpException e) {
      return new TokenRefreshResult.Unavailable(e.getMessage());
    }
    TokenAnswer answer;
    try {
      answer = exchange("refresh", provider, endpoints, new RefreshTokenGrant(new RefreshToken(refreshToken)), false,
          refreshToken);
    } catch (IdpException e) {
      // NOT_ALLOWED: nothing was sent, the refresh token is as good as before
      return e.kind() == IdpException.Kind.REJECTED
          ? new TokenRefreshResult.Rejected(e.getMessage())
          : new TokenRefreshResult.Unavailable(e.getMessage());
    }
    if (answer instanceof TokenAnswer.Unavailable unavailable) {
      return new TokenRefreshResult.Unavailable(unavailable.message());
    }
    if (answer instanceof TokenAnswer.Tokens tokens) {
      return tokens.checked().refreshed();
    }
    return new TokenRefreshResult.Rejected("the IdP refused the refresh token: "
        + IdpAnswers.describe(((TokenAnswer.Refused) answer).error(), refreshToken));
  }

  /** What the token endpoint answered: no usable answer, tokens (read and checked), or an OAuth error. */
  private sealed interface TokenAnswer {
    record Unavailable(String message) implements TokenAnswer {}

    record Tokens(CheckedTokens checked) implements TokenAnswer {}

    record Refused(ErrorObject error) implements TokenAnswer {}
  }

  /**
   * Sends {@code grant} to the token endpoint and sorts the answer, for polling and refresh alike: a 5xx, a 200 that
   * is not JSON (a proxy's or maintenance page) and an error without an OAuth error body are outages; a 200 is read
   * by {@link IdTokenVerifier#read}; anything else is the IdP's OAuth error.
   *
   * @param metric the request's name in metrics, "token" or "refresh"
   * @param idTokenRequired true for the device grant; a refresh may come without a new ID token
   * @param sent the device code or refresh token sent, masked in messages
   */
  private TokenAnswer exchange(String metric, ProviderConfig provider, ProviderEndpoints endpoints,
      AuthorizationGrant grant, boolean idTokenRequired, String sent) throws IdpException {
    ClientAuthentication auth = clientAuthentication(provider, endpoints);
    TokenRequest request = auth == null
        ? new TokenRequest(endpoints.tokenEndpoint(), new ClientID(provider.clientId()), grant)
        : new TokenRequest(endpoints.tokenEndpoint(), auth, grant);
    HTTPResponse response = transport.send(metric, request.toHTTPRequest(), provider);
    if (response.getStatusCode() >= 500) {
      metrics.idpRequest(metric, "unavailable");
      return new TokenAnswer.Unavailable("token endpoint answered HTTP " + response.getStatusCode());
    }
    if (response.getStatusCode() == 200) {
      String notJson = IdpAnswers.notJson("token endpoint", response);
      if (notJson != null) {
        metrics.idpRequest(metric, "unavailable");
        return new TokenAnswer.Unavailable(notJson);
      }
      return new TokenAnswer.Tokens(verifier.read(provider, endpoints, response, idTokenRequired, sent));
    }
    ErrorObject error = IdpAnswers.errorOf(response);
    if (error == null) {
      metrics.idpRequest(metric, "unavailable");
      return new TokenAnswer.Unavailable(
          "token endpoint answered HTTP " + response.getStatusCode() + " without an OAuth error");
    }
    metrics.idpRequest(metric, "error");
    return new TokenAnswer.Refused(error);
  }

  @Override
  public boolean revoke(ProviderConfig provider, String refreshToken) throws IdpException {
    ProviderEndpoints endpoints = discover(provider, false);
    if (endpoints.revocationEndpoint() == null) {
      return false;
    }
    ClientAuthentication auth = clientAuthentication(provider, endpoints);
    RefreshToken token = new RefreshToken(refreshToken);
    TokenRevocationRequest request = auth == null
        ? new TokenRevocationRequest(endpoints.revocationEndpoint(), new ClientID(provider.clientId()), token)
        : new TokenRevocationRequest(endpoints.revocationEndpoint(), auth, token);
    HTTPResponse response = transport.send("revocation", request.toHTTPRequest(), provider);
    if (response.getStatusCode() == 200) {
      metrics.idpRequest("revocation", "success");
      return true;
    }
    if (response.getStatusCode() >= 500) {
      metrics.idpRequest("revocation", "unavailable");
      throw new IdpException(
          IdpException.Kind.UNAVAILABLE, "revocation endpoint answered HTTP " + response.getStatusCode());
    }
    ErrorObject error = IdpAnswers.errorOf(response);
    metrics.idpRequest("revocation", "error");
    throw new IdpException(
        IdpException.Kind.REJECTED,
        "the IdP refused to revoke the refresh token: "
            + (error == null ? "HTTP " + response.getStatusCode() : IdpAnswers.describe(error, refreshToken)));
  }

  @Override
  public TokenPollResult verifyIssued(ProviderConfig provider, UnverifiedTokens tokens) {
    return verifier.recheck(provider, tokens, "token").polled();
  }

  @Override
  public TokenRefreshResult verifyRefreshed(ProviderConfig provider, UnverifiedTokens tokens) {
    return verifier.recheck(provider, tokens, "refresh").refreshed();
  }

  private static ClientAuthentication clientAuthentication(ProviderConfig provider, ProviderEndpoints endpoints) {
    if (!provider.confidential()) {
      return null;
    }
    ClientID id = new ClientID(provider.clientId());
    Secret secret = new Secret(provider.clientSecret());
    return endpoints.clientSecretPost() ? new ClientSecretPost(id, secret) : new ClientSecretBasic(id, secret);
  }
}
