package io.devicelogin.operator.idp;

import com.nimbusds.openid.connect.sdk.Nonce;
import static io.devicelogin.operator.idp.NimbusIdentityProviderClient.CACHE_ENTRIES;
import static io.devicelogin.operator.idp.NimbusIdentityProviderClient.ID_TOKEN_CLOCK_SKEW;
import static io.devicelogin.operator.idp.NimbusIdentityProviderClient.MAX_UNVERIFIED_HOLD;
import static io.devicelogin.operator.idp.NimbusIdentityProviderClient.VALIDATOR_TTL;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.ResourceRetriever;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.oauth2.sdk.token.RefreshToken;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponse;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponseParser;
import com.nimbusds.openid.connect.sdk.claims.IDTokenClaimsSet;
import com.nimbusds.openid.connect.sdk.validators.IDTokenValidator;
import io.devicelogin.operator.metrics.OperatorMetrics;
import java.net.MalformedURLException;
import java.net.URL;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;

/**
 * Judges the tokens of a 200 token response: their sizes, and the ID token checked by a Nimbus
 * {@link IDTokenValidator} against the provider's JWKS (one validator per provider, cached), with a later check of
 * tokens whose keys could not be fetched. It never puts a token, nor the code or token sent for it, in a message.
 */
final class IdTokenVerifier {

  private final IdpTransport transport;
  private final ProviderDiscovery discovery;
  private final OperatorMetrics metrics;
  private final Clock clock;
  private final BoundedCache<IDTokenValidator> validators;

  IdTokenVerifier(IdpTransport transport, ProviderDiscovery discovery, OperatorMetrics metrics, Clock clock) {
    this.transport = transport;
    this.discovery = discovery;
    this.metrics = metrics;
    this.clock = clock;
    this.validators = new BoundedCache<>(CACHE_ENTRIES, VALIDATOR_TTL, clock);
  }

  /** How many ID token validators (with their keys) are cached now. */
  int cacheSize() {
    return validators.size();
  }

  /**
   * Reads a 200 token response.
   *
   * @param idTokenRequired true for the device grant; a refresh may come without a new ID token
   * @param sent the device code, authorization code or refresh token sent, masked in messages
   * @param nonce the nonce the ID token must carry (authorization code grant), or null
   */
  CheckedTokens read(
      ProviderConfig provider, ProviderEndpoints endpoints, HTTPResponse response, boolean idTokenRequired,
      String sent, String nonce) {
    String endpoint = idTokenRequired ? "token" : "refresh";
    TokenResponse parsed;
    try {
      parsed = OIDCTokenResponseParser.parse(response);
    } catch (ParseException e) {
      metrics.idpRequest(endpoint, "invalid");
      return new CheckedTokens.Rejected("the token response is not valid: it is JSON, but not an OAuth 2.0 token "
          + "response (access_token and token_type are required; an id_token must be a JWT)");
    }
    if (!parsed.indicatesSuccess()) {
      metrics.idpRequest(endpoint, "invalid");
      return new CheckedTokens.Rejected("the token response is an error with HTTP 200");
    }
    var tokens = parsed.toSuccessResponse().getTokens();
    JWT idToken = parsed instanceof OIDCTokenResponse oidc ? oidc.getOIDCTokens().getIDToken() : null;
    RefreshToken refreshToken = tokens.getRefreshToken();
    String refresh = refreshToken == null ? null : refreshToken.getValue();
    String oversized = oversized(Map.of(
        "id_token", idToken == null ? "" : idToken.getParsedString(),
        "access_token", tokens.getAccessToken().getValue(),
        "refresh_token", refresh == null ? "" : refresh));
    if (oversized != null) {
      metrics.idpRequest(endpoint, "invalid");
      return new CheckedTokens.Rejected("the token response is not valid: its " + oversized + " is longer than "
          + IdpLimits.MAX_TOKEN_CHARS / 1024 + " KiB, the most the operator stores");
    }
    if (idToken == null) {
      if (idTokenRequired) {
        metrics.idpRequest(endpoint, "invalid");
        return new CheckedTokens.Rejected("this IdP sent no ID token (id_token) in the token response of the login's "
            + "grant, and Kubernetes needs one (the oidc auth provider sends the ID token, not the access token); "
            + "check that 'openid' is among the scopes and allowed for the client at the IdP");
      }
      metrics.idpRequest(endpoint, "success");
      return new CheckedTokens.Valid(
          new IssuedTokens(null, tokens.getAccessToken().getValue(), refresh, null, null, Map.of()));
    }
    Instant checkUntil = checkUntil(idToken);
    if (checkUntil == null) {
      metrics.idpRequest(endpoint, "invalid");
      return new CheckedTokens.Rejected("the ID token was rejected: it has no readable expiry (exp)");
    }
    return check(provider, endpoints, new UnverifiedTokens(idToken, tokens.getAccessToken().getValue(), refresh,
        checkUntil, nonce), sent, endpoint);
  }

  /** The first of the tokens (by name) longer than {@link IdpLimits#MAX_TOKEN_CHARS}, or null. */
  private static String oversized(Map<String, String> tokens) {
    for (String name : List.of("id_token", "access_token", "refresh_token")) {
      if (tokens.get(name).length() > IdpLimits.MAX_TOKEN_CHARS) {
        return name;
      }
    }
    return null;
  }

  /** Checks again tokens whose signing keys could not be fetched before. */
  CheckedTokens recheck(ProviderConfig provider, UnverifiedTokens tokens, String endpoint) {
    if (clock.instant().isAfter(tokens.checkUntil())) {
      return new CheckedTokens.Rejected("the IdP's signing keys could not be fetched before the ID token expired "
          + "(check possible until " + tokens.checkUntil() + "); the tokens were dropped");
    }
    ProviderEndpoints endpoints;
    try {
      endpoints = discovery.discover(provider, false);
    } catch (IdpException e) {
      return new CheckedTokens.KeysUnavailable(tokens, "the IdP issued tokens, but they cannot be checked yet: "
          + e.getMessage());
    }
    return check(provider, endpoints, tokens, null, endpoint);
  }

  /** Validates the ID token: valid, rejected, or not checkable for now because the signing keys can't be fetched. */
  private CheckedTokens check(
      ProviderConfig provider, ProviderEndpoints endpoints, UnverifiedTokens tokens, String sent, String endpoint) {
    IDTokenClaimsSet claims;
    try {
      claims = validator(provider, endpoints).validate(
          tokens.idToken(), tokens.nonce() == null ? null : new Nonce(tokens.nonce()));
    } catch (KeySourceException e) {
      if (tokens.size() > IdpLimits.MAX_UNVERIFIED_CHARS) {
        metrics.idpRequest(endpoint, "invalid");
        return new CheckedTokens.Rejected("the IdP's signing keys (" + endpoints.jwksUri() + ") could not be "
            + "fetched to check the ID token, and the tokens are too large to hold until they can be (over "
            + IdpLimits.MAX_UNVERIFIED_CHARS + " characters); they were dropped");
      }
      metrics.idpRequest(endpoint, "unavailable");
      return new CheckedTokens.KeysUnavailable(tokens, "the IdP issued tokens, but its signing keys ("
          + endpoints.jwksUri() + ") could not be fetched to check the ID token: "
          + IdpAnswers.fromIdp(keyProblem(e), sent));
    } catch (BadJOSEException | JOSEException e) {
      metrics.idpRequest(endpoint, "invalid");
      return new CheckedTokens.Rejected("the ID token was rejected: " + IdpAnswers.fromIdp(e.getMessage(), sent)
          + clockHint(tokens.idToken()));
    }
    String oversizedClaim = IdpLimits.oversizedIdentityClaim(claims.toJSONObject());
    if (oversizedClaim != null) {
      metrics.idpRequest(endpoint, "invalid");
      return new CheckedTokens.Rejected("the ID token was rejected: its " + oversizedClaim + " claim is longer than "
          + IdpLimits.MAX_IDENTITY_CLAIM_CHARS + " characters");
    }
    metrics.idpRequest(endpoint, "success");
    return new CheckedTokens.Valid(new IssuedTokens(
        tokens.idToken().getParsedString(),
        tokens.accessToken(),
        tokens.refreshToken(),
        claims.getExpirationTime().toInstant(),
        claims.getIssueTime().toInstant(),
        claims.toJSONObject()));
  }

  /**
   * Until when tokens that can't be checked yet are kept: the ID token's (unverified) expiry plus the allowed clock
   * skew, at most {@link NimbusIdentityProviderClient#MAX_UNVERIFIED_HOLD} from now; null without a readable expiry.
   */
  private Instant checkUntil(JWT idToken) {
    Date exp;
    try {
      exp = idToken.getJWTClaimsSet().getExpirationTime();
    } catch (java.text.ParseException e) {
      return null;
    }
    if (exp == null) {
      return null;
    }
    Instant latest = clock.instant().plus(MAX_UNVERIFIED_HOLD);
    Instant until = exp.toInstant().plus(ID_TOKEN_CLOCK_SKEW);
    return until.isAfter(latest) ? latest : until;
  }

  private static String keyProblem(KeySourceException e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }

  /**
   * For an ID token refused for its times: how far its iat or exp is off the operator's clock, and what to do. The
   * checks use the system clock, like Nimbus.
   */
  private static String clockHint(JWT idToken) {
    JWTClaimsSet claims;
    try {
      claims = idToken.getJWTClaimsSet();
    } catch (java.text.ParseException e) {
      return "";
    }
    Instant now = Instant.now();
    Date iat = claims.getIssueTime();
    Date exp = claims.getExpirationTime();
    String allowed = " (the operator allows " + ID_TOKEN_CLOCK_SKEW.toSeconds() + "s of clock skew); if that is not "
        + "right, check that the IdP's and the operator's clocks are synchronised (NTP)";
    if (iat != null && iat.toInstant().isAfter(now.plus(ID_TOKEN_CLOCK_SKEW))) {
      return "; it was issued at " + iat.toInstant() + ", "
          + Duration.between(now, iat.toInstant()).toSeconds() + "s ahead of the operator's clock" + allowed;
    }
    if (exp != null && !exp.toInstant().plus(ID_TOKEN_CLOCK_SKEW).isAfter(now)) {
      return "; it expired at " + exp.toInstant() + ", " + Duration.between(exp.toInstant(), now).toSeconds()
          + "s before the operator's clock" + allowed;
    }
    return "";
  }

  private IDTokenValidator validator(ProviderConfig provider, ProviderEndpoints endpoints) throws JOSEException {
    String key = BoundedCache.key(
        "validator",
        provider.issuer().toString(),
        provider.clientId(),
        endpoints.jwksUri().toString(),
        provider.caBundle(),
        endpoints.idTokenAlgorithms().toString(),
        String.valueOf(provider.tenant()));
    IDTokenValidator existing = validators.get(key);
    if (existing != null) {
      return existing;
    }
    URL jwksUrl;
    BoundedHttpSender sender;
    try {
      jwksUrl = endpoints.jwksUri().toURL();
      sender = transport.sender(provider, jwksUrl);
    } catch (IdpException | MalformedURLException e) {
      throw new JOSEException("cannot fetch the IdP's signing keys: " + e.getMessage(), e);
    }
    ResourceRetriever retriever = new JwksRetriever(transport, sender, provider, metrics);
    // Keys are cached 5 minutes (Nimbus' default); an ID token with an unknown key id refetches the JWKS once, so a
    // rotated key is found and a key id still unknown after that fetch is a real rejection. No fetch rate limit
    // (Nimbus' default allows two fetches in 30 s and then fails the check): fetches happen only for token responses
    // the IdP sent, at most one each, and those are already paced by polling and back-off. A thread waiting for
    // another's fetch waits a little longer than that fetch may take.
    JWKSource<SecurityContext> keys = JWKSourceBuilder.create(jwksUrl, retriever)
        .cache(JWKSourceBuilder.DEFAULT_CACHE_TIME_TO_LIVE, transport.deadline().plusSeconds(1).toMillis())
        .rateLimited(false)
        .build();
    IDTokenValidator created = new IDTokenValidator(
        new Issuer(endpoints.issuer()),
        new ClientID(provider.clientId()),
        new JWSVerificationKeySelector<>(endpoints.idTokenAlgorithms(), keys),
        null);
    created.setMaxClockSkew((int) ID_TOKEN_CLOCK_SKEW.toSeconds());
    validators.put(key, created);
    return created;
  }
}
