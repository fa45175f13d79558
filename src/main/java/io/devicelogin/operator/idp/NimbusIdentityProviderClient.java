package io.devicelogin.operator.idp;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jose.util.Resource;
import com.nimbusds.jose.util.ResourceRetriever;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenErrorResponse;
import com.nimbusds.oauth2.sdk.RefreshTokenGrant;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenRevocationRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.auth.ClientAuthentication;
import com.nimbusds.oauth2.sdk.auth.ClientAuthenticationMethod;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.ClientSecretPost;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.device.DeviceAuthorizationRequest;
import com.nimbusds.oauth2.sdk.device.DeviceAuthorizationResponse;
import com.nimbusds.oauth2.sdk.device.DeviceAuthorizationSuccessResponse;
import com.nimbusds.oauth2.sdk.device.DeviceCode;
import com.nimbusds.oauth2.sdk.device.DeviceCodeGrant;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.oauth2.sdk.token.RefreshToken;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponse;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponseParser;
import com.nimbusds.openid.connect.sdk.claims.IDTokenClaimsSet;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import com.nimbusds.openid.connect.sdk.validators.IDTokenValidator;
import io.devicelogin.operator.messages.Messages;
import io.devicelogin.operator.metrics.OperatorMetrics;
import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URL;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLSocketFactory;

/** {@link IdentityProviderClient} on the Nimbus OAuth 2.0 / OIDC SDK: every protocol message is Nimbus'. */
public final class NimbusIdentityProviderClient implements IdentityProviderClient {

  /** How long a discovery document is trusted before it is fetched again. */
  public static final Duration DISCOVERY_TTL = Duration.ofMinutes(10);

  private static final Set<JWSAlgorithm> ASYMMETRIC = new LinkedHashSet<>();

  static {
    ASYMMETRIC.addAll(JWSAlgorithm.Family.RSA);
    ASYMMETRIC.addAll(JWSAlgorithm.Family.EC);
    ASYMMETRIC.addAll(JWSAlgorithm.Family.ED);
  }

  private static final int JWKS_SIZE_LIMIT = 512 * 1024;

  private final Duration connectTimeout;
  private final Duration readTimeout;
  private final OperatorMetrics metrics;
  private final Clock clock;
  private final TlsTrust tls = new TlsTrust();
  private final Map<String, Discovered> discovered = new ConcurrentHashMap<>();
  private final Map<String, IDTokenValidator> validators = new ConcurrentHashMap<>();

  private record Discovered(ProviderEndpoints endpoints, Instant fetchedAt) {}

  public NimbusIdentityProviderClient(
      Duration connectTimeout, Duration readTimeout, OperatorMetrics metrics, Clock clock) {
    this.connectTimeout = connectTimeout;
    this.readTimeout = readTimeout;
    this.metrics = metrics;
    this.clock = clock;
  }

  @Override
  public ProviderEndpoints discover(ProviderConfig provider, boolean forceRefresh) throws IdpException {
    String key = provider.issuer() + "\n" + Objects.hashCode(provider.caBundle());
    Discovered cached = discovered.get(key);
    Instant now = clock.instant();
    if (!forceRefresh && cached != null && cached.fetchedAt().plus(DISCOVERY_TTL).isAfter(now)) {
      return cached.endpoints();
    }
    ProviderEndpoints endpoints = fetchDiscovery(provider);
    discovered.put(key, new Discovered(endpoints, now));
    return endpoints;
  }

  private ProviderEndpoints fetchDiscovery(ProviderConfig provider) throws IdpException {
    Issuer issuer = new Issuer(provider.issuer());
    URL url;
    try {
      url = OIDCProviderMetadata.resolveURL(issuer);
    } catch (com.nimbusds.oauth2.sdk.GeneralException e) {
      throw new IdpException(IdpException.Kind.REJECTED, "issuerUrl is not a valid URL: " + e.getMessage(), e);
    }
    HTTPResponse response = send("discovery", new HTTPRequest(HTTPRequest.Method.GET, url), provider, url);
    if (response.getStatusCode() >= 500) {
      metrics.idpRequest("discovery", "unavailable");
      throw new IdpException(
          IdpException.Kind.UNAVAILABLE, "discovery at " + url + " answered HTTP " + response.getStatusCode());
    }
    if (response.getStatusCode() != 200) {
      metrics.idpRequest("discovery", "invalid");
      throw new IdpException(
          IdpException.Kind.REJECTED,
          "discovery at " + url + " answered HTTP " + response.getStatusCode() + "; check issuerUrl");
    }
    OIDCProviderMetadata metadata;
    try {
      metadata = OIDCProviderMetadata.parse(response.getBodyAsJSONObject());
    } catch (ParseException e) {
      metrics.idpRequest("discovery", "invalid");
      throw new IdpException(
          IdpException.Kind.REJECTED, url + " is not a valid OIDC discovery document: " + e.getMessage(), e);
    }
    if (!issuer.equals(metadata.getIssuer())) {
      metrics.idpRequest("discovery", "invalid");
      throw new IdpException(
          IdpException.Kind.REJECTED,
          "discovery document at " + url + " names issuer " + metadata.getIssuer() + ", not " + issuer
              + "; set issuerUrl to exactly the IdP's issuer");
    }
    if (metadata.getDeviceAuthorizationEndpointURI() == null) {
      metrics.idpRequest("discovery", "invalid");
      throw new IdpException(
          IdpException.Kind.REJECTED,
          "the IdP advertises no device_authorization_endpoint; enable the OAuth 2.0 device authorization grant "
              + "at the IdP");
    }
    if (metadata.getTokenEndpointURI() == null || metadata.getJWKSetURI() == null) {
      metrics.idpRequest("discovery", "invalid");
      throw new IdpException(
          IdpException.Kind.REJECTED, "the discovery document at " + url + " lacks token_endpoint or jwks_uri");
    }
    metrics.idpRequest("discovery", "success");
    return new ProviderEndpoints(
        provider.issuer(),
        metadata.getDeviceAuthorizationEndpointURI(),
        metadata.getTokenEndpointURI(),
        metadata.getJWKSetURI(),
        metadata.getRevocationEndpointURI(),
        idTokenAlgorithms(metadata.getIDTokenJWSAlgs()),
        clientSecretPost(metadata.getTokenEndpointAuthMethods()));
  }

  private static Set<JWSAlgorithm> idTokenAlgorithms(List<JWSAlgorithm> advertised) {
    Set<JWSAlgorithm> algorithms = new LinkedHashSet<>();
    if (advertised != null) {
      advertised.stream().filter(ASYMMETRIC::contains).forEach(algorithms::add);
    }
    if (algorithms.isEmpty()) {
      algorithms.add(JWSAlgorithm.RS256);
    }
    return Set.copyOf(algorithms);
  }

  private static boolean clientSecretPost(List<ClientAuthenticationMethod> methods) {
    return methods != null
        && !methods.isEmpty()
        && !methods.contains(ClientAuthenticationMethod.CLIENT_SECRET_BASIC)
        && methods.contains(ClientAuthenticationMethod.CLIENT_SECRET_POST);
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
    HTTPResponse response =
        send("device_authorization", request.toHTTPRequest(), provider, endpoints.deviceAuthorizationEndpoint());
    if (response.getStatusCode() >= 500) {
      metrics.idpRequest("device_authorization", "unavailable");
      throw new IdpException(
          IdpException.Kind.UNAVAILABLE,
          "device authorization endpoint answered HTTP " + response.getStatusCode());
    }
    DeviceAuthorizationResponse parsed;
    try {
      parsed = DeviceAuthorizationResponse.parse(response);
    } catch (ParseException e) {
      metrics.idpRequest("device_authorization", "invalid");
      throw new IdpException(
          IdpException.Kind.REJECTED,
          "device authorization endpoint answered HTTP " + response.getStatusCode()
              + " with an invalid body: " + e.getMessage());
    }
    if (!parsed.indicatesSuccess()) {
      metrics.idpRequest("device_authorization", "error");
      throw new IdpException(
          IdpException.Kind.REJECTED,
          "the IdP refused the device authorization request: "
              + describe(parsed.toErrorResponse().getErrorObject(), null)
              + "; check clientId, clientSecretRef, scopes and that the client may use the device grant");
    }
    metrics.idpRequest("device_authorization", "success");
    DeviceAuthorizationSuccessResponse success = parsed.toSuccessResponse();
    Duration interval =
        success.getInterval() > 0 ? Duration.ofSeconds(success.getInterval()) : DeviceAuthorization.DEFAULT_INTERVAL;
    return new DeviceAuthorization(
        success.getDeviceCode().getValue(),
        success.getUserCode().getValue(),
        success.getVerificationURI(),
        success.getVerificationURIComplete(),
        clock.instant().plusSeconds(success.getLifetime()),
        interval);
  }

  @Override
  public TokenPollResult pollToken(ProviderConfig provider, String deviceCode) {
    ProviderEndpoints endpoints;
    try {
      endpoints = discover(provider, false);
    } catch (IdpException e) {
      return new TokenPollResult.Unavailable(e.getMessage());
    }
    ClientAuthentication auth = clientAuthentication(provider, endpoints);
    DeviceCodeGrant grant = new DeviceCodeGrant(new DeviceCode(deviceCode));
    TokenRequest request = auth == null
        ? new TokenRequest(endpoints.tokenEndpoint(), new ClientID(provider.clientId()), grant)
        : new TokenRequest(endpoints.tokenEndpoint(), auth, grant);
    HTTPResponse response;
    try {
      response = send("token", request.toHTTPRequest(), provider, endpoints.tokenEndpoint());
    } catch (IdpException e) {
      return new TokenPollResult.Unavailable(e.getMessage());
    }
    if (response.getStatusCode() >= 500) {
      metrics.idpRequest("token", "unavailable");
      return new TokenPollResult.Unavailable("token endpoint answered HTTP " + response.getStatusCode());
    }
    if (response.getStatusCode() == 200) {
      TokensOrError parsed = tokens(provider, endpoints, response, true, deviceCode);
      return parsed.tokens() != null
          ? new TokenPollResult.Issued(parsed.tokens())
          : new TokenPollResult.Invalid(parsed.error());
    }
    ErrorObject error = errorOf(response);
    if (error == null) {
      metrics.idpRequest("token", "unavailable");
      return new TokenPollResult.Unavailable(
          "token endpoint answered HTTP " + response.getStatusCode() + " without an OAuth error");
    }
    metrics.idpRequest("token", "error");
    return switch (error.getCode()) {
      case "authorization_pending" -> new TokenPollResult.Pending();
      case "slow_down" -> new TokenPollResult.SlowDown();
      case "access_denied" -> new TokenPollResult.AccessDenied();
      case "expired_token" -> new TokenPollResult.ExpiredToken();
      default -> new TokenPollResult.Invalid("the token endpoint refused the device code: " + describe(error, deviceCode));
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
    ClientAuthentication auth = clientAuthentication(provider, endpoints);
    RefreshTokenGrant grant = new RefreshTokenGrant(new RefreshToken(refreshToken));
    TokenRequest request = auth == null
        ? new TokenRequest(endpoints.tokenEndpoint(), new ClientID(provider.clientId()), grant)
        : new TokenRequest(endpoints.tokenEndpoint(), auth, grant);
    HTTPResponse response;
    try {
      response = send("refresh", request.toHTTPRequest(), provider, endpoints.tokenEndpoint());
    } catch (IdpException e) {
      return e.kind() == IdpException.Kind.UNAVAILABLE
          ? new TokenRefreshResult.Unavailable(e.getMessage())
          : new TokenRefreshResult.Rejected(e.getMessage());
    }
    if (response.getStatusCode() >= 500) {
      metrics.idpRequest("refresh", "unavailable");
      return new TokenRefreshResult.Unavailable("token endpoint answered HTTP " + response.getStatusCode());
    }
    if (response.getStatusCode() == 200) {
      TokensOrError parsed = tokens(provider, endpoints, response, false, refreshToken);
      return parsed.tokens() != null
          ? new TokenRefreshResult.Refreshed(parsed.tokens())
          : new TokenRefreshResult.Invalid(parsed.error());
    }
    ErrorObject error = errorOf(response);
    if (error == null) {
      metrics.idpRequest("refresh", "unavailable");
      return new TokenRefreshResult.Unavailable(
          "token endpoint answered HTTP " + response.getStatusCode() + " without an OAuth error");
    }
    metrics.idpRequest("refresh", "error");
    return new TokenRefreshResult.Rejected("the IdP refused the refresh token: " + describe(error, refreshToken));
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
    HTTPResponse response = send("revocation", request.toHTTPRequest(), provider, endpoints.revocationEndpoint());
    if (response.getStatusCode() == 200) {
      metrics.idpRequest("revocation", "success");
      return true;
    }
    if (response.getStatusCode() >= 500) {
      metrics.idpRequest("revocation", "unavailable");
      throw new IdpException(
          IdpException.Kind.UNAVAILABLE, "revocation endpoint answered HTTP " + response.getStatusCode());
    }
    ErrorObject error = errorOf(response);
    metrics.idpRequest("revocation", "error");
    throw new IdpException(
        IdpException.Kind.REJECTED,
        "the IdP refused to revoke the refresh token: "
            + (error == null ? "HTTP " + response.getStatusCode() : describe(error, refreshToken)));
  }

  /** Validated tokens, or why the 200 answer can't be used. */
  private record TokensOrError(IssuedTokens tokens, String error) {}

  /**
   * Reads a 200 token response.
   *
   * @param idTokenRequired true for the device grant; a refresh may come without a new ID token
   * @param sent the device code or refresh token sent, masked in messages
   */
  private TokensOrError tokens(
      ProviderConfig provider, ProviderEndpoints endpoints, HTTPResponse response, boolean idTokenRequired,
      String sent) {
    String endpoint = idTokenRequired ? "token" : "refresh";
    TokenResponse parsed;
    try {
      parsed = OIDCTokenResponseParser.parse(response);
    } catch (ParseException e) {
      metrics.idpRequest(endpoint, "invalid");
      return new TokensOrError(null, "the token response is not valid: " + fromIdp(e.getMessage(), sent));
    }
    if (!parsed.indicatesSuccess()) {
      metrics.idpRequest(endpoint, "invalid");
      return new TokensOrError(null, "the token response is an error with HTTP 200");
    }
    var tokens = parsed.toSuccessResponse().getTokens();
    JWT idToken = parsed instanceof OIDCTokenResponse oidc ? oidc.getOIDCTokens().getIDToken() : null;
    RefreshToken refreshToken = tokens.getRefreshToken();
    String refresh = refreshToken == null ? null : refreshToken.getValue();
    if (idToken == null) {
      if (idTokenRequired) {
        metrics.idpRequest(endpoint, "invalid");
        return new TokensOrError(null, "the token response has no id_token; is 'openid' among the scopes?");
      }
      metrics.idpRequest(endpoint, "success");
      return new TokensOrError(
          new IssuedTokens(null, tokens.getAccessToken().getValue(), refresh, null, null, Map.of()), null);
    }
    IDTokenClaimsSet claims;
    try {
      claims = validator(provider, endpoints).validate(idToken, null);
    } catch (BadJOSEException | JOSEException e) {
      metrics.idpRequest(endpoint, "invalid");
      return new TokensOrError(null, "the ID token was rejected: " + fromIdp(e.getMessage(), sent));
    }
    metrics.idpRequest(endpoint, "success");
    return new TokensOrError(new IssuedTokens(
        idToken.getParsedString(),
        tokens.getAccessToken().getValue(),
        refresh,
        claims.getExpirationTime().toInstant(),
        claims.getIssueTime().toInstant(),
        claims.toJSONObject()), null);
  }

  private static ErrorObject errorOf(HTTPResponse response) {
    try {
      ErrorObject error = TokenErrorResponse.parse(response).getErrorObject();
      return error == null || error.getCode() == null ? null : error;
    } catch (ParseException e) {
      return null;
    }
  }

  private IDTokenValidator validator(ProviderConfig provider, ProviderEndpoints endpoints) throws JOSEException {
    String key = String.join(
        "\n",
        provider.issuer().toString(),
        provider.clientId(),
        endpoints.jwksUri().toString(),
        String.valueOf(Objects.hashCode(provider.caBundle())),
        endpoints.idTokenAlgorithms().toString());
    IDTokenValidator existing = validators.get(key);
    if (existing != null) {
      return existing;
    }
    SSLSocketFactory factory;
    URL jwksUrl;
    try {
      factory = tls.socketFactory(provider.caBundle());
      jwksUrl = endpoints.jwksUri().toURL();
    } catch (IdpException | MalformedURLException e) {
      throw new JOSEException("cannot fetch the IdP's signing keys: " + e.getMessage(), e);
    }
    DefaultResourceRetriever retriever = new DefaultResourceRetriever(
        (int) connectTimeout.toMillis(), (int) readTimeout.toMillis(), JWKS_SIZE_LIMIT, true, factory);
    ResourceRetriever counted = new CountingRetriever(retriever, metrics);
    JWKSource<SecurityContext> keys = JWKSourceBuilder.create(jwksUrl, counted).build();
    IDTokenValidator created = new IDTokenValidator(
        new Issuer(endpoints.issuer()),
        new ClientID(provider.clientId()),
        new JWSVerificationKeySelector<>(endpoints.idTokenAlgorithms(), keys),
        null);
    validators.put(key, created);
    return created;
  }

  private static ClientAuthentication clientAuthentication(ProviderConfig provider, ProviderEndpoints endpoints) {
    if (!provider.confidential()) {
      return null;
    }
    ClientID id = new ClientID(provider.clientId());
    Secret secret = new Secret(provider.clientSecret());
    return endpoints.clientSecretPost() ? new ClientSecretPost(id, secret) : new ClientSecretBasic(id, secret);
  }

  private HTTPResponse send(String endpoint, HTTPRequest request, ProviderConfig provider, Object target)
      throws IdpException {
    request.setConnectTimeout((int) connectTimeout.toMillis());
    request.setReadTimeout((int) readTimeout.toMillis());
    request.setFollowRedirects(false);
    if ("https".equalsIgnoreCase(request.getURL().getProtocol())) {
      request.setSSLSocketFactory(tls.socketFactory(provider.caBundle()));
    }
    try {
      return request.send();
    } catch (javax.net.ssl.SSLException e) {
      metrics.idpRequest(endpoint, "invalid");
      throw new IdpException(
          IdpException.Kind.REJECTED,
          "TLS with the " + endpoint + " endpoint " + target + " failed (" + e.getMessage() + "); if the IdP's "
              + "certificate comes from a private CA, put that CA in spec.caBundle");
    } catch (IOException e) {
      metrics.idpRequest(endpoint, "unavailable");
      throw new IdpException(
          IdpException.Kind.UNAVAILABLE,
          "cannot reach " + endpoint + " endpoint " + target + ": " + e.getClass().getSimpleName()
              + (e.getMessage() == null ? "" : ": " + e.getMessage()));
    }
  }

  /**
   * The IdP's error code and description, both masked and bounded (the IdP chooses both, and may echo what it got).
   *
   * @param sent the device code or refresh token the request carried, masked even when shorter than what
   *     {@link Messages#fromIdp} recognises as token-like; null if none
   */
  private static String describe(ErrorObject error, String sent) {
    String code = fromIdp(error.getCode(), sent);
    String description = error.getDescription();
    if (description == null || description.isBlank()) {
      return code;
    }
    return code + " (" + fromIdp(description, sent) + ")";
  }

  /** Text that may carry parts of the IdP's answer, made safe to show: {@link Messages#fromIdp} and {@code sent}. */
  private static String fromIdp(String text, String sent) {
    String unmasked = text == null ? "" : text;
    if (sent != null && !sent.isEmpty()) {
      unmasked = unmasked.replace(sent, "[redacted]");
    }
    return Messages.fromIdp(unmasked);
  }

  /** Counts JWKS fetches as IdP requests. */
  private record CountingRetriever(ResourceRetriever delegate, OperatorMetrics metrics) implements ResourceRetriever {
    @Override
    public Resource retrieveResource(URL url) throws IOException {
      try {
        Resource resource = delegate.retrieveResource(url);
        metrics.idpRequest("jwks", "success");
        return resource;
      } catch (IOException e) {
        metrics.idpRequest("jwks", "unavailable");
        throw e;
      }
    }
  }

}
