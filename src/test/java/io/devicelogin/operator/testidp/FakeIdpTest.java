package io.devicelogin.operator.testidp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.oauth2.sdk.AuthorizationCode;
import com.nimbusds.oauth2.sdk.AuthorizationCodeGrant;
import com.nimbusds.oauth2.sdk.AuthorizationGrant;
import com.nimbusds.oauth2.sdk.AuthorizationResponse;
import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.GeneralException;
import com.nimbusds.oauth2.sdk.GrantType;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.RefreshTokenGrant;
import com.nimbusds.oauth2.sdk.ResponseType;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenErrorResponse;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
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
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.oauth2.sdk.token.RefreshToken;
import com.nimbusds.openid.connect.sdk.AuthenticationRequest;
import com.nimbusds.openid.connect.sdk.Nonce;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponse;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponseParser;
import com.nimbusds.openid.connect.sdk.claims.IDTokenClaimsSet;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import com.nimbusds.openid.connect.sdk.validators.IDTokenValidator;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Proves {@link FakeIdp} speaks the protocol, with Nimbus as the client. */
class FakeIdpTest {

  private static final ClientID CLIENT = new ClientID("operator");
  private static final URI REDIRECT = URI.create("http://localhost:8000/");
  private static final Claims ALICE = Claims.user("alice").groups("dev", "ops").claim("department", "R&D");

  private FakeIdp idp;

  @BeforeEach
  void startIdp() {
    idp = FakeIdp.start().interval(1);
  }

  @AfterEach
  void stopIdp() {
    idp.close();
  }

  // ---- discovery and keys

  @Test
  void discoveryAnnouncesTheEndpoints() throws Exception {
    OIDCProviderMetadata metadata = OIDCProviderMetadata.resolve(new Issuer(idp.issuer()));

    assertThat(idp.issuer()).matches("http://127\\.0\\.0\\.1:\\d+/realms/test");
    assertThat(metadata.getIssuer().getValue()).isEqualTo(idp.issuer());
    assertThat(metadata.getDeviceAuthorizationEndpointURI()).isEqualTo(idp.deviceAuthorizationEndpoint());
    assertThat(metadata.getTokenEndpointURI()).isEqualTo(idp.tokenEndpoint());
    assertThat(metadata.getJWKSetURI()).isEqualTo(idp.jwksUri());
    assertThat(metadata.getRevocationEndpointURI()).isEqualTo(idp.revocationEndpoint());
    assertThat(metadata.getAuthorizationEndpointURI()).isNotNull();
    assertThat(metadata.getIDTokenJWSAlgs()).containsExactly(JWSAlgorithm.RS256);
    assertThat(get(URI.create(idp.issuer()).resolve("/.well-known/openid-configuration")).getStatusCode())
        .isEqualTo(404);
  }

  @Test
  void discoveryFailsOnDemand() throws Exception {
    Issuer issuer = new Issuer(idp.issuer());

    idp.discovery(DiscoveryMode.NO_DEVICE_ENDPOINT);
    assertThat(OIDCProviderMetadata.resolve(issuer).getDeviceAuthorizationEndpointURI()).isNull();

    idp.discovery(DiscoveryMode.NOT_JSON);
    assertThat(get(idp.discoveryUri()).getStatusCode()).isEqualTo(200);
    assertThatThrownBy(() -> OIDCProviderMetadata.resolve(issuer)).isInstanceOf(GeneralException.class);

    idp.discovery(DiscoveryMode.SERVER_ERROR);
    assertThat(get(idp.discoveryUri()).getStatusCode()).isEqualTo(500);

    idp.discovery(DiscoveryMode.WRONG_ISSUER);
    assertThatThrownBy(() -> OIDCProviderMetadata.resolve(issuer)).hasMessageContaining("issuer");

    idp.discovery(DiscoveryMode.NORMAL);
    assertThat(OIDCProviderMetadata.resolve(issuer).getIssuer()).isEqualTo(issuer);
  }

  @Test
  void rotatedKeyValidatesAfterJwksRefetch() throws Exception {
    JWKSet before = jwks();
    JWT oldToken = idToken(exchange(startLogin(), ALICE));

    idp.rotateSigningKey();
    JWT newToken = idToken(exchange(startLogin(), ALICE));
    JWKSet after = jwks();

    assertThat(after.getKeys()).hasSize(1);
    assertThat(after.getKeys().get(0).getKeyID()).isNotEqualTo(before.getKeys().get(0).getKeyID());
    assertThat(keyId(newToken)).isEqualTo(after.getKeys().get(0).getKeyID());
    assertThat(validator(after).validate(newToken, null).getSubject().getValue()).isEqualTo("sub-alice");
    assertThatThrownBy(() -> validator(before).validate(newToken, null)).isInstanceOf(BadJOSEException.class);
    assertThatThrownBy(() -> validator(after).validate(oldToken, null)).isInstanceOf(BadJOSEException.class);
  }

  @Test
  void unpublishedKeyMakesSignaturesBad() throws Exception {
    idp.signWithUnpublishedKey(true);
    JWT bad = idToken(exchange(startLogin(), ALICE));
    idp.signWithUnpublishedKey(false);
    JWT good = idToken(exchange(startLogin(), ALICE));

    assertThat(keyId(bad)).isEqualTo(keyId(good));
    assertThatThrownBy(() -> validate(bad)).isInstanceOf(BadJOSEException.class);
    assertThat(validate(good).getSubject().getValue()).isEqualTo("sub-alice");
  }

  // ---- device authorization

  @Test
  void deviceAuthorizationHandsOutCodes() throws Exception {
    idp.expiresIn(120);
    DeviceAuthorizationSuccessResponse started = startLogin();

    assertThat(started.getUserCode().getValue()).matches("[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}");
    assertThat(started.getDeviceCode().getValue()).hasSizeGreaterThanOrEqualTo(43);
    assertThat(started.getVerificationURI()).isEqualTo(URI.create(idp.issuer() + "/device"));
    assertThat(started.getVerificationURIComplete())
        .isEqualTo(URI.create(idp.issuer() + "/device?user_code=" + started.getUserCode().getValue()));
    assertThat(started.getLifetime()).isEqualTo(120);
    assertThat(started.getInterval()).isEqualTo(1);

    Login login = idp.login(started.getUserCode().getValue());
    assertThat(login).isSameAs(idp.lastLogin());
    assertThat(login.deviceCode()).isEqualTo(started.getDeviceCode().getValue());
    assertThat(login.clientId()).isEqualTo("operator");
    assertThat(login.scope()).isEqualTo("openid email");
    assertThat(idp.requestsTo(idp.deviceAuthorizationEndpoint()))
        .singleElement()
        .satisfies(request -> assertThat(request.param("client_id")).isEqualTo("operator"));
  }

  @Test
  void deviceAuthorizationCanBeScriptedToFail() throws Exception {
    idp.onNextDeviceAuthorization(Outcome.error("unauthorized_client", 400));

    DeviceAuthorizationResponse response = DeviceAuthorizationResponse.parse(deviceAuthorization(CLIENT));

    assertThat(response.toErrorResponse().getErrorObject().getCode()).isEqualTo("unauthorized_client");
    assertThat(idp.logins()).isEmpty();
    assertThat(startLogin()).isNotNull();
  }

  // ---- token polls

  @Test
  void pendingUntilApprovedThenTokensThenInvalidGrant() throws Exception {
    DeviceAuthorizationSuccessResponse started = startLogin();
    Login login = idp.lastLogin();

    assertError(poll(started), 400, "authorization_pending");
    login.approve(ALICE);
    OIDCTokenResponse tokens = oidc(poll(started));
    assertError(poll(started), 400, "invalid_grant");

    IDTokenClaimsSet claims = validate(tokens.getOIDCTokens().getIDToken());
    assertThat(claims.getIssuer().getValue()).isEqualTo(idp.issuer());
    assertThat(claims.getAudience()).extracting(Object::toString).containsExactly("operator");
    assertThat(claims.getSubject().getValue()).isEqualTo("sub-alice");
    assertThat(claims.getStringClaim("email")).isEqualTo("alice@example.com");
    assertThat(claims.getStringClaim("preferred_username")).isEqualTo("alice");
    assertThat(claims.getStringListClaim("groups")).containsExactly("dev", "ops");
    assertThat(claims.getStringClaim("department")).isEqualTo("R&D");
    assertThat(claims.getExpirationTime().getTime() - claims.getIssueTime().getTime()).isEqualTo(300_000);
    assertThat(tokens.getTokens().getBearerAccessToken().getLifetime()).isEqualTo(300);
    assertThat(tokens.getTokens().getRefreshToken()).isNotNull();

    assertThat(login.pollCount()).isEqualTo(3);
    assertThat(login.pollTimes()).hasSize(3).isSorted();
    assertThat(login.issuedTokens())
        .singleElement()
        .satisfies(
            issued -> {
              assertThat(issued.grantType()).isEqualTo(GrantType.DEVICE_CODE);
              assertThat(issued.accessToken()).isEqualTo(tokens.getTokens().getAccessToken().getValue());
              assertThat(issued.refreshToken()).isEqualTo(tokens.getTokens().getRefreshToken().getValue());
              assertThat(issued.idToken()).isEqualTo(tokens.getOIDCTokens().getIDTokenString());
            });
  }

  /** Issue #14: each profile answers as its IdP does. */
  @Test
  void profilesAnswerAsTheirIdp() throws Exception {
    idp.profile(IdpProfile.GOOGLE);
    var google = deviceAuthorization(CLIENT).getBodyAsJSONObject();
    assertThat(google).containsKey("verification_url").doesNotContainKeys("verification_uri",
        "verification_uri_complete");
    DeviceCode googleCode = new DeviceCode((String) google.get("device_code"));
    assertError(poll(googleCode), 428, "authorization_pending");
    idp.lastLogin().slowDown();
    assertError(poll(googleCode), 403, "slow_down");

    idp.profile(IdpProfile.DEX);
    assertError(poll(startLogin()), 401, "authorization_pending");
    idp.profile(IdpProfile.PINGONE);
    DeviceAuthorizationSuccessResponse ping = startLogin();
    assertError(poll(ping), 403, "authorization_pending");
    idp.profile(IdpProfile.AUTH0);
    idp.lastLogin().slowDown();
    assertError(poll(ping), 429, "slow_down");

    idp.profile(IdpProfile.ENTRA_ID);
    DeviceAuthorizationSuccessResponse entra = startLogin();
    assertThat(entra.getVerificationURIComplete()).isNull();
    idp.lastLogin().deny();
    assertError(poll(entra), 400, "authorization_declined");
    DeviceAuthorizationSuccessResponse many = startLogin();
    idp.lastLogin().approve(Claims.user("ann").groups(java.util.stream.IntStream.range(0, 201)
        .mapToObj(i -> "g" + i).toArray(String[]::new)));
    var claims = idToken(poll(many)).getJWTClaimsSet();
    assertThat(claims.getClaim("groups")).isNull();
    assertThat(claims.getJSONObjectClaim("_claim_names")).containsEntry("groups", "src1");
    assertThat(claims.getClaim("email_verified")).isNull();
    assertThat(claims.getStringClaim("email")).isEqualTo("ann@example.com");

    idp.profile(IdpProfile.OKTA);
    DeviceAuthorizationSuccessResponse okta = startLogin();
    idp.lastLogin().approve(ALICE);
    RefreshToken first = oidc(poll(okta)).getOIDCTokens().getRefreshToken();
    TokenResponse refreshed = refresh(first);
    assertThat(oidc(refreshed).getOIDCTokens().getIDToken()).as("Okta: no ID token on refresh").isNull();

    idp.profile(IdpProfile.AUTH0);
    RefreshToken second = refreshed.toSuccessResponse().getTokens().getRefreshToken();
    assertError(refresh(first), 400, "invalid_grant");
    assertError(refresh(second), 400, "invalid_grant"); // reuse of first revoked the family
    assertThat(idp.refreshTokenReuseCount()).isEqualTo(1);
  }

  @Test
  void scriptedErrors() throws Exception {
    DeviceAuthorizationSuccessResponse slow = startLogin();
    idp.lastLogin().slowDown();
    assertError(poll(slow), 400, "slow_down");
    assertError(poll(slow), 400, "authorization_pending");
    assertThat(idp.lastLogin().currentInterval()).isEqualTo(Duration.ofSeconds(6));

    DeviceAuthorizationSuccessResponse dex = startLogin();
    idp.lastLogin().pendingAs401();
    assertError(poll(dex), 401, "authorization_pending");

    DeviceAuthorizationSuccessResponse denied = startLogin();
    idp.lastLogin().deny();
    assertError(poll(denied), 400, "access_denied");

    DeviceAuthorizationSuccessResponse expired = startLogin();
    idp.lastLogin().expire();
    assertError(poll(expired), 400, "expired_token");

    assertError(poll(new DeviceCode("no-such-code")), 400, "invalid_grant");
    assertError(TokenResponse.parse(token(new ClientID("intruder"), new DeviceCodeGrant(denied.getDeviceCode()))),
        400, "invalid_grant");
  }

  @Test
  void scriptedRawResponsesAreServedInOrder() throws Exception {
    DeviceAuthorizationSuccessResponse started = startLogin();
    idp.lastLogin()
        .respondWith(500, "text/html", "<html>Bad Gateway</html>")
        .onNextPoll(Outcome.raw(200, "application/json", "{\"access_token\":"), Outcome.pending())
        .approve(ALICE);

    HTTPResponse html = token(CLIENT, new DeviceCodeGrant(started.getDeviceCode()));
    assertThat(html.getStatusCode()).isEqualTo(500);
    assertThat(html.getHeaderValue("Content-Type")).isEqualTo("text/html");
    assertThat(html.getBody()).isEqualToIgnoringNewLines("<html>Bad Gateway</html>");
    HTTPResponse malformed = token(CLIENT, new DeviceCodeGrant(started.getDeviceCode()));
    assertThatThrownBy(() -> OIDCTokenResponseParser.parse(malformed)).isInstanceOf(ParseException.class);
    assertError(poll(started), 400, "authorization_pending");
    assertThat(poll(started).indicatesSuccess()).isTrue();
  }

  @Test
  void tooEarlyPollsAreCountedAndOptionallyAnsweredWithSlowDown() throws Exception {
    DeviceAuthorizationSuccessResponse started = startLogin();
    assertError(poll(started), 400, "authorization_pending");
    assertError(poll(started), 400, "authorization_pending");
    assertThat(idp.lastLogin().tooEarlyPolls()).isEqualTo(1);

    idp.enforceSlowDown(true);
    assertError(poll(started), 400, "slow_down");
    assertThat(idp.lastLogin().tooEarlyPolls()).isEqualTo(2);
    assertThat(idp.lastLogin().currentInterval()).isEqualTo(Duration.ofSeconds(6));
  }

  @Test
  void pollsOneIntervalApartAreFineAndTheDeviceCodeExpires() throws Exception {
    idp.expiresIn(1);
    DeviceAuthorizationSuccessResponse started = startLogin();
    assertError(poll(started), 400, "authorization_pending");

    Thread.sleep(1_050); // one interval, which is also the lifetime of the device code

    assertError(poll(started), 400, "expired_token");
    assertThat(idp.lastLogin().tooEarlyPolls()).isZero();
  }

  @ParameterizedTest
  @EnumSource(
      value = TokenVariant.class,
      names = {"WRONG_ISSUER", "WRONG_AUDIENCE", "EXPIRED", "ISSUED_IN_FUTURE", "BAD_SIGNATURE", "UNKNOWN_KEY"})
  void defectiveIdTokensFailValidation(TokenVariant variant) throws Exception {
    DeviceAuthorizationSuccessResponse started = startLogin();
    idp.lastLogin().approve(ALICE, variant);

    JWT idToken = idToken(poll(started));

    assertThatThrownBy(() -> validate(idToken)).isInstanceOf(BadJOSEException.class);
  }

  @Test
  void responsesWithoutIdTokenOrRefreshToken() throws Exception {
    DeviceAuthorizationSuccessResponse noId = startLogin();
    idp.lastLogin().approve(ALICE, TokenVariant.NO_ID_TOKEN);
    assertThat(oidc(poll(noId)).getOIDCTokens().getIDToken()).isNull();

    DeviceAuthorizationSuccessResponse noRefresh = startLogin();
    idp.lastLogin().approve(ALICE, TokenVariant.NO_REFRESH_TOKEN);
    OIDCTokenResponse withoutRefresh = oidc(poll(noRefresh));
    assertThat(withoutRefresh.getTokens().getRefreshToken()).isNull();
    assertThat(validate(withoutRefresh.getOIDCTokens().getIDToken()).getSubject().getValue()).isEqualTo("sub-alice");
  }

  // ---- refresh and revocation

  @Test
  void refreshRotatesAndCountsReuse() throws Exception {
    RefreshToken first = exchange(startLogin(), ALICE).getTokens().getRefreshToken();

    OIDCTokenResponse refreshed = oidc(refresh(first));
    RefreshToken second = refreshed.getTokens().getRefreshToken();
    assertThat(second).isNotNull().isNotEqualTo(first);
    assertThat(validate(refreshed.getOIDCTokens().getIDToken()).getSubject().getValue()).isEqualTo("sub-alice");

    assertError(refresh(first), 400, "invalid_grant");
    assertThat(refresh(second).indicatesSuccess()).isTrue();
    assertError(refresh(new RefreshToken("never-issued")), 400, "invalid_grant");

    assertThat(idp.refreshCount()).isEqualTo(4);
    assertThat(idp.refreshTokenReuseCount()).isEqualTo(1);
    assertThat(idp.lastLogin().issuedTokens())
        .extracting(IssuedTokens::grantType)
        .containsExactly(GrantType.DEVICE_CODE, GrantType.REFRESH_TOKEN, GrantType.REFRESH_TOKEN);
  }

  @Test
  void refreshCanBeScripted() throws Exception {
    RefreshToken token = exchange(startLogin(), ALICE).getTokens().getRefreshToken();
    idp.refreshWith(
        Outcome.invalidGrant(),
        Outcome.serverError(),
        Outcome.tokens(TokenVariant.NO_ID_TOKEN),
        Outcome.tokens(Claims.user("alice").email("alice@new.example.com")));

    assertError(refresh(token), 400, "invalid_grant");
    assertThat(token(CLIENT, new RefreshTokenGrant(token)).getStatusCode()).isEqualTo(500);
    OIDCTokenResponse withoutId = oidc(refresh(token));
    assertThat(withoutId.getOIDCTokens().getIDToken()).isNull();

    OIDCTokenResponse renamed = oidc(refresh(withoutId.getTokens().getRefreshToken()));
    assertThat(validate(renamed.getOIDCTokens().getIDToken()).getStringClaim("email")).isEqualTo("alice@new.example.com");
  }

  @Test
  void revocationRevokesRefreshTokens() throws Exception {
    RefreshToken token = exchange(startLogin(), ALICE).getTokens().getRefreshToken();

    assertThat(revoke(token).getStatusCode()).isEqualTo(200);
    assertError(refresh(token), 400, "invalid_grant");
    assertThat(idp.revokedTokens()).containsExactly(token.getValue());
    assertThat(idp.refreshTokenReuseCount()).isZero();

    idp.failRevocation(true);
    assertThat(revoke(token).getStatusCode()).isEqualTo(500);
    assertThat(idp.revocationCount()).isEqualTo(2);
  }

  // ---- client authentication

  @Test
  void confidentialClientMustAuthenticate() throws Exception {
    idp.requireClientSecret("operator", "s3cret");
    ClientAuthentication basic = new ClientSecretBasic(CLIENT, new Secret("s3cret"));
    ClientAuthentication post = new ClientSecretPost(CLIENT, new Secret("s3cret"));
    ClientAuthentication wrong = new ClientSecretBasic(CLIENT, new Secret("guess"));

    assertError(DeviceAuthorizationResponse.parse(deviceAuthorization(CLIENT)).toErrorResponse().getErrorObject(),
        401, "invalid_client");
    assertThat(deviceAuthorization(wrong).getStatusCode()).isEqualTo(401);
    DeviceAuthorizationSuccessResponse started =
        DeviceAuthorizationResponse.parse(deviceAuthorization(basic)).toSuccessResponse();
    DeviceCodeGrant grant = new DeviceCodeGrant(started.getDeviceCode());

    assertError(TokenResponse.parse(token(CLIENT, grant)), 401, "invalid_client");
    assertError(TokenResponse.parse(token(wrong, grant)), 401, "invalid_client");
    assertThat(idp.lastLogin().pollCount()).isZero();
    idp.lastLogin().approve(ALICE);
    assertThat(OIDCTokenResponseParser.parse(token(post, grant)).indicatesSuccess()).isTrue();
    assertThat(idp.requestsTo(idp.tokenEndpoint()))
        .last()
        .satisfies(request -> assertThat(request.param("client_secret")).isEqualTo("s3cret"));
  }

  // ---- faults

  @Test
  void downAndUpOnTheSamePort() throws Exception {
    DeviceAuthorizationSuccessResponse started = startLogin();

    idp.down();
    assertThatThrownBy(() -> get(idp.discoveryUri())).isInstanceOf(IOException.class);
    idp.up();

    assertThat(get(idp.discoveryUri()).getStatusCode()).isEqualTo(200);
    idp.lastLogin().approve(ALICE);
    assertThat(validate(idToken(poll(started))).getSubject().getValue()).isEqualTo("sub-alice");
  }

  @Test
  void delayedResponsesTimeOut() throws Exception {
    idp.delay(Duration.ofMillis(500));
    HTTPRequest request = new HTTPRequest(HTTPRequest.Method.GET, idp.discoveryUri());
    request.setReadTimeout(100);

    assertThatThrownBy(request::send).isInstanceOf(SocketTimeoutException.class);
    assertThat(idp.requestsTo(idp.discoveryUri())).hasSize(1);

    idp.delay(Duration.ZERO);
    assertThat(request.send().getStatusCode()).isEqualTo(200);
  }

  @Test
  void concurrentPollsAreAllCounted() throws Exception {
    idp.interval(5);
    List<DeviceAuthorizationSuccessResponse> started = List.of(startLogin(), startLogin());
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<TokenResponse>> polls =
          IntStream.range(0, 40)
              .mapToObj(i -> pool.submit(() -> poll(started.get(i % 2))))
              .toList();
      for (Future<TokenResponse> poll : polls) {
        assertError(poll.get(5, TimeUnit.SECONDS), 400, "authorization_pending");
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(idp.logins()).extracting(Login::pollCount).containsExactly(20, 20);
    assertThat(idp.logins()).extracting(Login::tooEarlyPolls).containsExactly(19, 19);
  }

  // ---- authorization code grant with PKCE

  @Test
  void discoveryAdvertisesTheAuthorizationCodeGrantOnDemand() throws Exception {
    Issuer issuer = new Issuer(idp.issuer());
    OIDCProviderMetadata metadata = OIDCProviderMetadata.resolve(issuer);
    assertThat(metadata.getAuthorizationEndpointURI()).isEqualTo(idp.authorizationEndpoint());
    assertThat(metadata.getCodeChallengeMethods()).containsExactly(CodeChallengeMethod.S256);
    assertThat(metadata.supportsAuthorizationResponseIssuerParam()).isTrue();
    assertThat(get(idp.authorizationEndpoint()).getStatusCode()).as("the sign-in page exists").isEqualTo(200);

    idp.pkceS256(false).issParameterSupported(false).discovery(DiscoveryMode.NO_DEVICE_ENDPOINT);
    OIDCProviderMetadata without = OIDCProviderMetadata.resolve(issuer);
    assertThat(without.getCodeChallengeMethods()).isNull();
    assertThat(without.supportsAuthorizationResponseIssuerParam()).isFalse();
    assertThat(without.getDeviceAuthorizationEndpointURI()).isNull();
    assertThat(without.getAuthorizationEndpointURI()).isEqualTo(idp.authorizationEndpoint());
  }

  @Test
  void signInIssuesASingleUseCodeBoundToTheRequest() throws Exception {
    CodeVerifier verifier = new CodeVerifier();
    AuthenticationRequest request = authorizationRequest(verifier, CodeChallengeMethod.S256);

    AuthorizationResponse redirect = AuthorizationResponse.parse(URI.create(idp.signIn(request.toURI(), ALICE)));

    assertThat(redirect.indicatesSuccess()).isTrue();
    assertThat(redirect.getState()).isEqualTo(request.getState());
    assertThat(redirect.getIssuer()).isEqualTo(new Issuer(idp.issuer()));
    assertThat(redirect.toSuccessResponse().getRedirectionURI()).isEqualTo(REDIRECT);
    AuthorizationCode code = redirect.toSuccessResponse().getAuthorizationCode();
    SignIn signIn = idp.lastSignIn();
    assertThat(signIn.code()).isEqualTo(code.getValue());
    assertThat(signIn.nonce()).isEqualTo(request.getNonce().getValue());
    assertThat(signIn.redirectUri()).isEqualTo(REDIRECT);
    assertThat(signIn.scope()).isEqualTo("openid email");

    TokenResponse tokens = OIDCTokenResponseParser.parse(token(CLIENT, new AuthorizationCodeGrant(code, REDIRECT,
        verifier)));
    IDTokenClaimsSet claims = validator(jwks()).validate(idToken(tokens), request.getNonce());
    assertThat(claims.getSubject().getValue()).isEqualTo("sub-alice");
    assertThat(signIn.issuedTokens()).singleElement().extracting(IssuedTokens::grantType)
        .isEqualTo(GrantType.AUTHORIZATION_CODE);
    assertThat(refresh(oidc(tokens).getTokens().getRefreshToken()).indicatesSuccess())
        .as("its refresh token works").isTrue();

    assertError(OIDCTokenResponseParser.parse(token(CLIENT, new AuthorizationCodeGrant(code, REDIRECT, verifier))),
        400, "invalid_grant");
    assertThat(signIn.reuses()).isEqualTo(1);
    assertThat(idp.codeExchanges()).hasSize(2);
    assertThat(idp.codeExchanges().get(0).param("code_verifier")).isEqualTo(verifier.getValue());
  }

  @Test
  void aCodeNeedsItsRedirectUriVerifierAndClientAndIsUsedUpByAWrongOne() throws Exception {
    CodeVerifier verifier = new CodeVerifier();
    AuthorizationCode wrongVerifier = code(idp.signIn(authorizationRequest(verifier, CodeChallengeMethod.S256)
        .toURI(), ALICE));
    assertError(OIDCTokenResponseParser.parse(token(CLIENT, new AuthorizationCodeGrant(wrongVerifier, REDIRECT,
        new CodeVerifier()))), 400, "invalid_grant");
    assertError(OIDCTokenResponseParser.parse(token(CLIENT, new AuthorizationCodeGrant(wrongVerifier, REDIRECT,
        verifier))), 400, "invalid_grant");

    AuthorizationCode wrongRedirect = code(idp.signIn(authorizationRequest(verifier, CodeChallengeMethod.S256)
        .toURI(), ALICE));
    assertError(OIDCTokenResponseParser.parse(token(CLIENT, new AuthorizationCodeGrant(wrongRedirect,
        URI.create("http://localhost:8001/"), verifier))), 400, "invalid_grant");

    AuthorizationCode noVerifier = code(idp.signIn(authorizationRequest(verifier, CodeChallengeMethod.S256)
        .toURI(), ALICE));
    assertError(OIDCTokenResponseParser.parse(token(CLIENT, new AuthorizationCodeGrant(noVerifier, REDIRECT))),
        400, "invalid_grant");

    AuthorizationCode otherClient = code(idp.signIn(authorizationRequest(verifier, CodeChallengeMethod.S256)
        .toURI(), ALICE));
    assertError(OIDCTokenResponseParser.parse(token(new ClientID("other"), new AuthorizationCodeGrant(otherClient,
        REDIRECT, verifier))), 400, "invalid_grant");

    assertError(OIDCTokenResponseParser.parse(token(CLIENT, new AuthorizationCodeGrant(new AuthorizationCode(),
        REDIRECT, verifier))), 400, "invalid_grant");
    assertThat(idp.signIns()).allSatisfy(signIn -> assertThat(signIn.issuedTokens()).isEmpty());
  }

  @Test
  void signInRefusesWhatAnIdpWouldNotRedirect() {
    CodeVerifier verifier = new CodeVerifier();
    assertThatThrownBy(() -> idp.signIn(authorizationRequest(verifier, CodeChallengeMethod.PLAIN).toURI(), ALICE))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("S256");
    URI noChallenge = new AuthenticationRequest.Builder(ResponseType.CODE, new Scope("openid"), CLIENT, REDIRECT)
        .endpointURI(idp.authorizationEndpoint()).state(new State()).nonce(new Nonce()).build().toURI();
    assertThatThrownBy(() -> idp.signIn(noChallenge, ALICE)).hasMessageContaining("S256");
    URI elsewhere = URI.create(authorizationRequest(verifier, CodeChallengeMethod.S256).toURI().toString()
        .replace("/protocol/openid-connect/auth", "/other"));
    assertThatThrownBy(() -> idp.signIn(elsewhere, ALICE)).hasMessageContaining("authorization endpoint");
    idp.registerRedirectUris("http://localhost:9999/");
    assertThatThrownBy(() -> idp.signIn(authorizationRequest(verifier, CodeChallengeMethod.S256).toURI(), ALICE))
        .hasMessageContaining("not registered");
    assertThat(idp.signIns()).isEmpty();
  }

  @Test
  void redirectsCarryTheConfiguredIssAndErrors() throws Exception {
    URI request = authorizationRequest(new CodeVerifier(), CodeChallengeMethod.S256).toURI();

    idp.responseIss(FakeIdp.ResponseIss.WRONG);
    assertThat(AuthorizationResponse.parse(URI.create(idp.signIn(request, ALICE))).getIssuer().getValue())
        .isEqualTo(idp.issuer() + "-other");
    idp.responseIss(FakeIdp.ResponseIss.ABSENT);
    assertThat(idp.signIn(request, ALICE)).doesNotContain("iss=");

    idp.responseIss(FakeIdp.ResponseIss.CORRECT);
    AuthorizationResponse denied = AuthorizationResponse.parse(URI.create(idp.denyAt(request)));
    assertThat(denied.indicatesSuccess()).isFalse();
    assertThat(denied.toErrorResponse().getErrorObject().getCode()).isEqualTo("access_denied");
    assertThat(denied.getState().getValue()).isEqualTo(AuthenticationRequest.parse(request).getState().getValue());
    assertThat(denied.getIssuer().getValue()).isEqualTo(idp.issuer());
    String failed = idp.errorAt(request, new ErrorObject("temporarily_unavailable", "try <b>later</b>"));
    assertThat(AuthorizationResponse.parse(URI.create(failed)).toErrorResponse().getErrorObject().getDescription())
        .isEqualTo("try <b>later</b>");
  }

  @Test
  void codeExchangesCanBeScriptedAndHeld() throws Exception {
    CodeVerifier verifier = new CodeVerifier();
    AuthenticationRequest request = authorizationRequest(verifier, CodeChallengeMethod.S256);
    idp.onNextCodeExchange(Outcome.serverError(), Outcome.tokens(TokenVariant.WRONG_NONCE));

    HTTPResponse failed = token(CLIENT, new AuthorizationCodeGrant(code(idp.signIn(request.toURI(), ALICE)), REDIRECT,
        verifier));
    assertThat(failed.getStatusCode()).isEqualTo(500);
    assertThat(idp.lastSignIn().redeemed()).as("the code is used up all the same").isTrue();

    TokenResponse wrongNonce = OIDCTokenResponseParser.parse(token(CLIENT, new AuthorizationCodeGrant(
        code(idp.signIn(request.toURI(), ALICE)), REDIRECT, verifier)));
    assertThatThrownBy(() -> validator(jwks()).validate(idToken(wrongNonce), request.getNonce()))
        .isInstanceOf(BadJOSEException.class);

    idp.holdCodeExchanges();
    HTTPRequest held = new TokenRequest.Builder(idp.tokenEndpoint(), CLIENT, new AuthorizationCodeGrant(
        code(idp.signIn(request.toURI(), ALICE)), REDIRECT, verifier)).build().toHTTPRequest();
    held.setReadTimeout(300);
    assertThatThrownBy(held::send).isInstanceOf(SocketTimeoutException.class);
    assertThat(idp.lastSignIn().issuedTokens()).as("processed before the hold").hasSize(1);
    idp.releaseCodeExchanges();
    assertThat(idp.codeExchanges()).hasSize(3);
  }

  // ---- helpers

  private AuthenticationRequest authorizationRequest(CodeVerifier verifier, CodeChallengeMethod method) {
    return new AuthenticationRequest.Builder(ResponseType.CODE, new Scope("openid", "email"), CLIENT, REDIRECT)
        .endpointURI(idp.authorizationEndpoint())
        .state(new State())
        .nonce(new Nonce())
        .codeChallenge(verifier, method)
        .build();
  }

  private static AuthorizationCode code(String redirect) throws ParseException {
    return AuthorizationResponse.parse(URI.create(redirect)).toSuccessResponse().getAuthorizationCode();
  }

  private DeviceAuthorizationSuccessResponse startLogin() throws Exception {
    return DeviceAuthorizationResponse.parse(deviceAuthorization(CLIENT)).toSuccessResponse();
  }

  private HTTPResponse deviceAuthorization(ClientID client) throws IOException {
    return new DeviceAuthorizationRequest(idp.deviceAuthorizationEndpoint(), client, new Scope("openid", "email"))
        .toHTTPRequest()
        .send();
  }

  private HTTPResponse deviceAuthorization(ClientAuthentication client) throws IOException {
    return new DeviceAuthorizationRequest(idp.deviceAuthorizationEndpoint(), client, new Scope("openid"), null)
        .toHTTPRequest()
        .send();
  }

  private TokenResponse poll(DeviceAuthorizationSuccessResponse started) throws Exception {
    return poll(started.getDeviceCode());
  }

  private TokenResponse poll(DeviceCode deviceCode) throws Exception {
    return OIDCTokenResponseParser.parse(token(CLIENT, new DeviceCodeGrant(deviceCode)));
  }

  private TokenResponse refresh(RefreshToken refreshToken) throws Exception {
    return OIDCTokenResponseParser.parse(token(CLIENT, new RefreshTokenGrant(refreshToken)));
  }

  private HTTPResponse token(ClientID client, AuthorizationGrant grant) throws IOException {
    return new TokenRequest.Builder(idp.tokenEndpoint(), client, grant).build().toHTTPRequest().send();
  }

  private HTTPResponse token(ClientAuthentication client, AuthorizationGrant grant) throws IOException {
    return new TokenRequest.Builder(idp.tokenEndpoint(), client, grant).build().toHTTPRequest().send();
  }

  private HTTPResponse revoke(RefreshToken token) throws IOException {
    return new TokenRevocationRequest(idp.revocationEndpoint(), CLIENT, token).toHTTPRequest().send();
  }

  private static HTTPResponse get(URI uri) throws IOException {
    return new HTTPRequest(HTTPRequest.Method.GET, uri).send();
  }

  /** Approves the started login for {@code user} and exchanges the device code. */
  private OIDCTokenResponse exchange(DeviceAuthorizationSuccessResponse started, Claims user) throws Exception {
    idp.login(started.getUserCode().getValue()).approve(user);
    return oidc(poll(started));
  }

  private static OIDCTokenResponse oidc(TokenResponse response) {
    assertThat(response).isInstanceOf(OIDCTokenResponse.class);
    return (OIDCTokenResponse) response;
  }

  private static JWT idToken(TokenResponse response) {
    return oidc(response).getOIDCTokens().getIDToken();
  }

  private static String keyId(JWT jwt) {
    return ((SignedJWT) jwt).getHeader().getKeyID();
  }

  private JWKSet jwks() throws Exception {
    return JWKSet.load(idp.jwksUri().toURL());
  }

  private IDTokenValidator validator(JWKSet jwks) {
    return new IDTokenValidator(new Issuer(idp.issuer()), CLIENT, JWSAlgorithm.RS256, jwks);
  }

  private IDTokenClaimsSet validate(JWT idToken) throws Exception {
    return validator(jwks()).validate(idToken, null);
  }

  private static void assertError(TokenResponse response, int status, String code) {
    assertThat(response.indicatesSuccess()).as("success").isFalse();
    TokenErrorResponse error = response.toErrorResponse();
    assertError(error.getErrorObject(), status, code);
  }

  private static void assertError(ErrorObject error, int status, String code) {
    assertThat(error.getCode()).isEqualTo(code);
    assertThat(error.getHTTPStatusCode()).isEqualTo(status);
  }
}
