package io.devicelogin.operator.idp;

import com.nimbusds.oauth2.sdk.AuthorizationCode;
import com.nimbusds.oauth2.sdk.AuthorizationCodeGrant;
import com.nimbusds.oauth2.sdk.ResponseType;
import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.openid.connect.sdk.AuthenticationRequest;
import com.nimbusds.openid.connect.sdk.Nonce;
import java.net.URI;
import com.nimbusds.oauth2.sdk.AuthorizationGrant;
import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.RefreshTokenGrant;
import com.nimbusds.oauth2.sdk.Scope;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The requests of a login's grant, built with Nimbus, and their answers sorted: device authorization, token poll,
 * the authorization code grant's request URL and code exchange, refresh (token endpoint) and revocation. It hands the
 * tokens of a 200 answer to the {@link IdTokenVerifier} unread, and quotes an IdP's answer only masked, never the
 * device code, authorization code, refresh token or client secret it sent.
 */
final class TokenEndpoint {

  private final IdpTransport transport;
  private final ProviderDiscovery discovery;
  private final IdTokenVerifier verifier;
  private final OperatorMetrics metrics;
  private final Clock clock;

  TokenEndpoint(IdpTransport transport, ProviderDiscovery discovery, IdTokenVerifier verifier, OperatorMetrics metrics,
      Clock clock) {
    this.transport = transport;
    this.discovery = discovery;
    this.verifier = verifier;
    this.metrics = metrics;
    this.clock = clock;
  }

  DeviceAuthorization startDeviceAuthorization(ProviderConfig provider) throws IdpException {
    ProviderEndpoints endpoints = discovery.discover(provider, false);
    Scope scope = new Scope(provider.scopes().toArray(String[]::new));
    ClientAuthentication auth = clientAuthentication(provider, endpoints);
    // the admin's extra parameters (audience, organization...) go on this request and the authorization URL only
    Map<String, List<String>> extra = new LinkedHashMap<>();
    provider.authorizationParameters().forEach((name, value) -> extra.put(name, List.of(value)));
    DeviceAuthorizationRequest request = auth == null
        ? new DeviceAuthorizationRequest(
            endpoints.deviceAuthorizationEndpoint(), new ClientID(provider.clientId()), scope, extra)
        : new DeviceAuthorizationRequest(endpoints.deviceAuthorizationEndpoint(), auth, scope, extra);
    HTTPResponse response = transport.send("device_authorization", request.toHTTPRequest(), provider);
    if (response.getStatusCode() >= 500 || response.getStatusCode() == 429) {
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
    IdpAnswers.readVerificationUrlAsUri(response);
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

  TokenPollResult poll(ProviderConfig provider, String deviceCode) {
    return issue(provider, new DeviceCodeGrant(new DeviceCode(deviceCode)), deviceCode, null, error ->
        switch (error.getCode()) {
          case "authorization_pending" -> new TokenPollResult.Pending();
          case "slow_down" -> new TokenPollResult.SlowDown();
          // authorization_declined: Entra ID's word for access_denied
          case "access_denied", "authorization_declined" -> new TokenPollResult.AccessDenied();
          case "expired_token" -> new TokenPollResult.ExpiredToken();
          case "bad_verification_code" -> new TokenPollResult.Invalid("the token endpoint does not know the device "
              + "code (" + IdpAnswers.describe(error, deviceCode) + "): it was not issued for this client, or the IdP "
              + "dropped it; the device code is not sent again");
          default -> new TokenPollResult.Invalid(
              "the token endpoint refused the device code: " + IdpAnswers.describe(error, deviceCode));
        });
  }

  /**
   * Sends a grant that should give a login its tokens (a device code, an authorization code) and sorts the answer: an
   * outage, tokens (with their ID token checked), or the IdP's OAuth error as {@code refused} reads it.
   */
  private TokenPollResult issue(ProviderConfig provider, AuthorizationGrant grant, String sent, String nonce,
      Function<ErrorObject, TokenPollResult> refused) {
    TokenAnswer answer;
    try {
      answer = exchange("token", provider, grant, true, sent, nonce);
    } catch (IdpException e) {
      return new TokenPollResult.Unavailable(e.getMessage());
    }
    if (answer instanceof TokenAnswer.Unavailable unavailable) {
      return new TokenPollResult.Unavailable(unavailable.message(), unavailable.retryAfter());
    }
    if (answer instanceof TokenAnswer.Tokens tokens) {
      return tokens.checked().polled();
    }
    return refused.apply(((TokenAnswer.Refused) answer).error());
  }

  CodeAuthorization authorize(ProviderConfig provider, String state) throws IdpException {
    ProviderEndpoints endpoints = discovery.discover(provider, false);
    if (endpoints.authorizationEndpoint() == null || provider.redirectUri() == null) {
      throw new IdpException(IdpException.Kind.REJECTED, "the IdP advertises no authorization_endpoint, or the "
          + "provider has no redirectUri");
    }
    CodeVerifier verifier = new CodeVerifier();
    Nonce nonce = new Nonce();
    AuthenticationRequest.Builder builder = new AuthenticationRequest.Builder(
        ResponseType.CODE, new Scope(provider.scopes().toArray(String[]::new)), new ClientID(provider.clientId()),
        provider.redirectUri())
        .endpointURI(endpoints.authorizationEndpoint())
        .state(new State(state))
        .nonce(nonce)
        .codeChallenge(verifier, CodeChallengeMethod.S256);
    provider.authorizationParameters().forEach(builder::customParameter);
    AuthenticationRequest request = builder.build();
    return new CodeAuthorization(request.toURI(), nonce.getValue(), verifier.getValue(), endpoints.issParameter());
  }

  TokenPollResult exchangeCode(
      ProviderConfig provider, URI redirectUri, String code, String codeVerifier, String nonce) {
    AuthorizationCodeGrant grant;
    try {
      grant = new AuthorizationCodeGrant(new AuthorizationCode(code), redirectUri, new CodeVerifier(codeVerifier));
    } catch (IllegalArgumentException e) {
      return new TokenPollResult.Invalid("the login's PKCE verifier is unreadable; the code was not sent");
    }
    return issue(provider, grant, code, nonce, error -> "access_denied".equals(error.getCode())
        ? new TokenPollResult.AccessDenied()
        : new TokenPollResult.Invalid("the token endpoint refused the authorization code: "
            + IdpAnswers.describe(error, code) + ("invalid_grant".equals(error.getCode()) ? " (a code is valid once "
            + "and briefly, and only with the redirect URI and PKCE verifier of its request)" : "")));
  }

  TokenRefreshResult refresh(ProviderConfig provider, String refreshToken) {
    TokenAnswer answer;
    try {
      answer = exchange("refresh", provider, new RefreshTokenGrant(new RefreshToken(refreshToken)), false,
          refreshToken, null);
    } catch (IdpException e) {
      // NOT_ALLOWED: nothing was sent, the refresh token is as good as before
      return e.kind() == IdpException.Kind.REJECTED
          ? new TokenRefreshResult.Rejected(e.getMessage())
          : new TokenRefreshResult.Unavailable(e.getMessage());
    }
    if (answer instanceof TokenAnswer.Unavailable unavailable) {
      return new TokenRefreshResult.Unavailable(unavailable.message(), unavailable.retryAfter());
    }
    if (answer instanceof TokenAnswer.Tokens tokens) {
      return tokens.checked().refreshed();
    }
    return new TokenRefreshResult.Rejected("the IdP refused the refresh token: "
        + IdpAnswers.describe(((TokenAnswer.Refused) answer).error(), refreshToken));
  }

  /** What the token endpoint answered: no usable answer, tokens (read and checked), or an OAuth error. */
  private sealed interface TokenAnswer {
    /** @param retryAfter what a 429 or 503 asked for with {@code Retry-After}, or null */
    record Unavailable(String message, Duration retryAfter) implements TokenAnswer {
      Unavailable(String message) {
        this(message, null);
      }
    }

    record Tokens(CheckedTokens checked) implements TokenAnswer {}

    record Refused(ErrorObject error) implements TokenAnswer {}
  }

  /**
   * Sends {@code grant} to the token endpoint and sorts the answer, for polling and refresh alike: a failed discovery
   * (whatever its kind), a 5xx, a 429 (but a device poll's slow_down; with the {@code Retry-After} of a 429 or 503),
   * a 200 that is not JSON (a proxy's or maintenance page) and an error without an OAuth
   * error body are outages; a 200 is read by {@link IdTokenVerifier#read}; anything else is the IdP's OAuth error.
   *
   * @param metric the request's name in metrics, "token" or "refresh"
   * @param idTokenRequired true for the device grant; a refresh may come without a new ID token
   * @param sent the device code, authorization code or refresh token sent, masked in messages
   * @param nonce the nonce the ID token must carry (authorization code grant), or null
   * @throws IdpException the request could not be sent or got no answer ({@link IdpTransport#send})
   */
  private TokenAnswer exchange(String metric, ProviderConfig provider, AuthorizationGrant grant,
      boolean idTokenRequired, String sent, String nonce) throws IdpException {
    ProviderEndpoints endpoints;
    try {
      endpoints = discovery.discover(provider, false);
    } catch (IdpException e) {
      return new TokenAnswer.Unavailable(e.getMessage());
    }
    ClientAuthentication auth = clientAuthentication(provider, endpoints);
    TokenRequest request = auth == null
        ? new TokenRequest(endpoints.tokenEndpoint(), new ClientID(provider.clientId()), grant)
        : new TokenRequest(endpoints.tokenEndpoint(), auth, grant);
    HTTPResponse response = transport.send(metric, request.toHTTPRequest(), provider);
    int status = response.getStatusCode();
    if (status >= 500 || status == 429 && !devicePollAnswer(grant, response)) {
      metrics.idpRequest(metric, "unavailable");
      Duration retryAfter = status == 429 || status == 503
          ? IdpAnswers.retryAfter(response, clock.instant()) : null;
      return new TokenAnswer.Unavailable("token endpoint answered HTTP " + status
          + (retryAfter == null ? "" : " asking to retry after " + retryAfter.toSeconds() + "s"), retryAfter);
    }
    if (response.getStatusCode() == 200) {
      String notJson = IdpAnswers.notJson("token endpoint", response);
      if (notJson != null) {
        metrics.idpRequest(metric, "unavailable");
        return new TokenAnswer.Unavailable(notJson);
      }
      return new TokenAnswer.Tokens(verifier.read(provider, endpoints, response, idTokenRequired, sent, nonce));
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

  /**
   * Whether a 429 is a device poll's {@code slow_down} or {@code authorization_pending} (Auth0 answers
   * {@code slow_down} with 429): read as that, not as an outage, so the interval grows as RFC 8628 says.
   */
  private static boolean devicePollAnswer(AuthorizationGrant grant, HTTPResponse response) {
    ErrorObject error = grant instanceof DeviceCodeGrant ? IdpAnswers.errorOf(response) : null;
    return error != null && ("slow_down".equals(error.getCode()) || "authorization_pending".equals(error.getCode()));
  }

  boolean revoke(ProviderConfig provider, String refreshToken) throws IdpException {
    ProviderEndpoints endpoints = discovery.discover(provider, false);
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

  private static ClientAuthentication clientAuthentication(ProviderConfig provider, ProviderEndpoints endpoints) {
    if (!provider.confidential()) {
      return null;
    }
    ClientID id = new ClientID(provider.clientId());
    Secret secret = new Secret(provider.clientSecret());
    return endpoints.clientSecretPost() ? new ClientSecretPost(id, secret) : new ClientSecretBasic(id, secret);
  }
}
