package io.devicelogin.operator.keycloak;

import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.oauth2.sdk.AuthorizationCodeGrant;
import com.nimbusds.oauth2.sdk.AuthorizationGrant;
import com.nimbusds.oauth2.sdk.AuthorizationRequest;
import com.nimbusds.oauth2.sdk.AuthorizationResponse;
import com.nimbusds.oauth2.sdk.AuthorizationSuccessResponse;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.RefreshTokenGrant;
import com.nimbusds.oauth2.sdk.ResponseType;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.TokenRevocationRequest;
import com.nimbusds.oauth2.sdk.auth.ClientAuthentication;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.device.DeviceAuthorizationRequest;
import com.nimbusds.oauth2.sdk.device.DeviceAuthorizationResponse;
import com.nimbusds.oauth2.sdk.device.DeviceAuthorizationSuccessResponse;
import com.nimbusds.oauth2.sdk.device.DeviceCodeGrant;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.oauth2.sdk.token.RefreshToken;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponse;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponseParser;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import com.nimbusds.openid.connect.sdk.token.OIDCTokens;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * End-to-end checks of the test Keycloak: the realm, its clients and users behave as the operator's tests expect,
 * and {@link KeycloakPerson} (headless Chromium), {@link KeycloakBrowser} (the demo's HTTP-only approval) and
 * {@link KeycloakAdmin} can drive them.
 */
@ExtendWith(KeycloakExtension.class)
class KeycloakServerIT {

  private static final Scope SCOPE = new Scope("openid", "profile", "email", "offline_access");
  private static final Client CLI = Client.publicClient("devicelogin-cli");
  private static final Client SHORT = Client.publicClient("devicelogin-short");
  private static final Client CONFIDENTIAL = Client.confidential("devicelogin-confidential", "demo-client-secret");
  /** Authorization code grant only: device grant off, PKCE S256 required, redirect http://localhost:8000/* only. */
  private static final Client AUTHCODE = Client.publicClient("devicelogin-authcode");
  private static final URI LOCALHOST = URI.create("http://localhost:8000/");

  private static OIDCProviderMetadata provider;

  @BeforeAll
  static void discover(KeycloakServer keycloak) throws Exception {
    provider = OIDCProviderMetadata.resolve(new Issuer(keycloak.issuerUrl()));
    assertThat(provider.getIssuer().getValue()).isEqualTo(keycloak.issuerUrl().toString());
    assertThat(provider.getDeviceAuthorizationEndpointURI()).isNotNull();
  }

  @Test
  void approvedDeviceLoginYieldsIdTokenWithEmailAndGroupsAndRefreshToken() throws Exception {
    DeviceAuthorizationSuccessResponse authorization = authorize(CLI);
    assertThat(authorization.getInterval()).isEqualTo(1);
    assertThat(authorization.getVerificationURIComplete()).isNotNull();

    TokenResponse beforeApproval = token(CLI.tokenRequest(new DeviceCodeGrant(authorization.getDeviceCode())));
    assertThat(errorCode(beforeApproval)).isEqualTo("authorization_pending");

    KeycloakPerson.approve(authorization.getVerificationURIComplete().toString(), "alice", "alice-password");

    OIDCTokens tokens = awaitTokens(CLI, authorization);
    JWTClaimsSet idToken = tokens.getIDToken().getJWTClaimsSet();
    assertThat(idToken.getStringClaim("email")).isEqualTo("alice@example.com");
    assertThat(idToken.getStringListClaim("groups")).contains("developers");
    assertThat(tokens.getRefreshToken()).isNotNull();
  }

  @Test
  void userCodeCanBeEnteredOnTheDevicePage() throws Exception {
    DeviceAuthorizationSuccessResponse authorization = authorize(CLI);

    KeycloakPerson.approve(authorization.getVerificationURI().toString(),
        authorization.getUserCode().getValue(), "bob", "bob-password");

    JWTClaimsSet idToken = awaitTokens(CLI, authorization).getIDToken().getJWTClaimsSet();
    assertThat(idToken.getStringClaim("email")).isEqualTo("bob@example.com");
    assertThat(idToken.getStringListClaim("groups")).containsExactly("contractors");
  }

  @Test
  void theDemosAutoApproveWorksOverPlainHttpWithoutABrowser() throws Exception {
    DeviceAuthorizationSuccessResponse authorization = authorize(CLI);

    KeycloakBrowser.approve(authorization.getVerificationURIComplete().toString(), "alice", "alice-password");

    JWTClaimsSet idToken = awaitTokens(CLI, authorization).getIDToken().getJWTClaimsSet();
    assertThat(idToken.getStringClaim("email")).isEqualTo("alice@example.com");
  }

  @Test
  void deniedDeviceLoginYieldsAccessDenied() throws Exception {
    DeviceAuthorizationSuccessResponse authorization = authorize(CLI);

    KeycloakPerson.deny(authorization.getVerificationURIComplete().toString(), "alice", "alice-password");

    assertThat(errorCode(pollDeviceCode(CLI, authorization))).isEqualTo("access_denied");
  }

  @Test
  void wrongPasswordIsReportedWithThePageText() throws Exception {
    DeviceAuthorizationSuccessResponse authorization = authorize(CLI);

    assertThatThrownBy(() -> KeycloakPerson.approve(
        authorization.getVerificationURIComplete().toString(), "alice", "not-alice-password"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("Invalid username or password")
        .hasMessageNotContaining("not-alice-password");
  }

  @Test
  void confidentialClientAuthenticatesWithClientSecretBasic() throws Exception {
    DeviceAuthorizationSuccessResponse authorization = authorize(CONFIDENTIAL);

    KeycloakPerson.approve(authorization.getVerificationURIComplete().toString(), "alice", "alice-password");

    JWTClaimsSet idToken = awaitTokens(CONFIDENTIAL, authorization).getIDToken().getJWTClaimsSet();
    assertThat(idToken.getAudience()).containsExactly("devicelogin-confidential");
    assertThat(idToken.getStringListClaim("groups")).containsExactly("developers");

    Client wrongSecret = Client.confidential("devicelogin-confidential", "wrong-secret");
    DeviceAuthorizationResponse rejected = DeviceAuthorizationResponse.parse(
        send(wrongSecret.deviceAuthorizationRequest().toHTTPRequest()));
    assertThat(rejected.indicatesSuccess()).isFalse();
    // Keycloak 26.5 answers a bad client secret at the device authorization endpoint with unauthorized_client
    assertThat(rejected.toErrorResponse().getErrorObject().getCode()).isEqualTo("unauthorized_client");
  }

  @Test
  void shortLivedDeviceCodeExpiresAfterTenSeconds() throws Exception {
    Instant start = Instant.now();
    DeviceAuthorizationSuccessResponse authorization = authorize(SHORT);
    assertThat(authorization.getLifetime()).isEqualTo(10);

    assertThat(errorCode(pollDeviceCode(SHORT, authorization))).isEqualTo("expired_token");
    assertThat(Duration.between(start, Instant.now())).isGreaterThanOrEqualTo(Duration.ofSeconds(9));
  }

  @Test
  void reusingARotatedRefreshTokenFailsAndEndsTheClientSession() throws Exception {
    RefreshToken first = approvedRefreshToken("alice", "alice-password");
    RefreshToken second = refreshTokenOf(refresh(first));

    assertThat(errorCode(refresh(first))).as("reusing a rotated refresh token").isEqualTo("invalid_grant");
    // Keycloak treats the reuse as theft and drops the client session, so the newest token dies too
    assertThat(errorCode(refresh(second))).as("refresh after reuse was detected").isEqualTo("invalid_grant");
  }

  @Test
  void logoutUserMakesRefreshTokensUnusable(KeycloakServer keycloak) throws Exception {
    RefreshToken first = approvedRefreshToken("bob", "bob-password");
    RefreshToken second = refreshTokenOf(refresh(first));

    keycloak.admin().logoutUser("bob");

    assertThat(errorCode(refresh(second))).as("refresh after logoutUser").isEqualTo("invalid_grant");
  }

  @Test
  void adminCanChangeClientAndRealmSettings(KeycloakServer keycloak) throws Exception {
    KeycloakAdmin admin = keycloak.admin();
    try {
      admin.updateClientAttributes("devicelogin-short", Map.of("oauth2.device.polling.interval", "3"));
      admin.updateRealm(Map.of("oauth2DeviceCodeLifespan", 120));

      assertThat(authorize(SHORT).getInterval()).isEqualTo(3);
      assertThat(authorize(CLI).getLifetime()).isEqualTo(120);
    } finally {
      admin.updateClientAttributes("devicelogin-short", Map.of("oauth2.device.polling.interval", "1"));
      admin.updateRealm(Map.of("oauth2DeviceCodeLifespan", 600));
    }
  }

  @Test
  void discoveryAdvertisesPkceS256TheIssParameterAndRevocation() {
    assertThat(provider.getAuthorizationEndpointURI()).isNotNull();
    assertThat(provider.getCodeChallengeMethods()).contains(CodeChallengeMethod.S256);
    assertThat(provider.supportsAuthorizationResponseIssuerParam())
        .as("authorization_response_iss_parameter_supported (RFC 9207)").isTrue();
    assertThat(provider.getRevocationEndpointURI()).isNotNull();
  }

  @Test
  void authCodeClientHasNoDeviceGrant() throws Exception {
    DeviceAuthorizationResponse refused = DeviceAuthorizationResponse.parse(
        send(AUTHCODE.deviceAuthorizationRequest().toHTTPRequest()));
    assertThat(refused.indicatesSuccess()).isFalse();
    assertThat(refused.toErrorResponse().getErrorObject().getCode()).isEqualTo("unauthorized_client");
  }

  @Test
  void authCodeClientRequiresS256AndTheLocalhostRedirect() throws Exception {
    URI plain = authorizationUrl(new CodeVerifier(), CodeChallengeMethod.PLAIN, LOCALHOST, new State());
    assertThat(redirectErrorOf(plain)).isEqualTo("invalid_request");
    URI noChallenge = new AuthorizationRequest.Builder(new ResponseType(ResponseType.Value.CODE), AUTHCODE.id())
        .endpointURI(provider.getAuthorizationEndpointURI()).redirectionURI(LOCALHOST).scope(SCOPE)
        .state(new State()).build().toURI();
    assertThat(redirectErrorOf(noChallenge)).isEqualTo("invalid_request");

    URI elsewhere = authorizationUrl(new CodeVerifier(), CodeChallengeMethod.S256,
        URI.create("http://localhost:9000/"), new State());
    HttpResponse<String> page = open(elsewhere);
    assertThat(page.statusCode()).as("no redirect to an unregistered URI").isEqualTo(400);
    assertThat(page.body()).contains("Invalid parameter: redirect_uri");
  }

  @Test
  void authCodeSignInInChromiumEndsOnTheFailedLocalhostRedirectWhoseCodeNeedsTheVerifier() throws Exception {
    CodeVerifier verifier = new CodeVerifier();
    State state = new State();
    String redirected = KeycloakPerson.signInForRedirect(
        authorizationUrl(verifier, CodeChallengeMethod.S256, LOCALHOST, state).toString(), LOCALHOST.toString(),
        "alice", "alice-password");

    AuthorizationSuccessResponse response = AuthorizationResponse.parse(URI.create(redirected)).toSuccessResponse();
    assertThat(redirected).startsWith(LOCALHOST + "?");
    assertThat(response.getState()).isEqualTo(state);
    assertThat(response.getIssuer()).isEqualTo(provider.getIssuer());
    assertThat(errorCode(token(AUTHCODE.tokenRequest(
        new AuthorizationCodeGrant(response.getAuthorizationCode(), LOCALHOST, new CodeVerifier())))))
        .as("the code with another verifier").isEqualTo("invalid_grant");
  }

  @Test
  void authCodeSignInOverHttpYieldsTokensThatRefreshAndAreRevoked() throws Exception {
    CodeVerifier verifier = new CodeVerifier();
    State state = new State();
    URI redirected = KeycloakBrowser.signInForRedirect(
        authorizationUrl(verifier, CodeChallengeMethod.S256, LOCALHOST, state).toString(), LOCALHOST.toString(),
        "bob", "bob-password");

    AuthorizationSuccessResponse response = AuthorizationResponse.parse(redirected).toSuccessResponse();
    assertThat(response.getState()).isEqualTo(state);
    assertThat(response.getIssuer()).isEqualTo(provider.getIssuer());
    TokenResponse tokens = token(AUTHCODE.tokenRequest(
        new AuthorizationCodeGrant(response.getAuthorizationCode(), LOCALHOST, verifier)));
    assertThat(errorCode(tokens)).isEqualTo("none");
    OIDCTokens oidc = ((OIDCTokenResponse) tokens).getOIDCTokens();
    assertThat(oidc.getIDToken().getJWTClaimsSet().getStringClaim("email")).isEqualTo("bob@example.com");
    assertThat(oidc.getIDToken().getJWTClaimsSet().getAudience()).containsExactly("devicelogin-authcode");

    RefreshToken refreshed = refreshTokenOf(token(AUTHCODE.tokenRequest(new RefreshTokenGrant(oidc.getRefreshToken()))));
    HTTPResponse revoked = send(new TokenRevocationRequest(provider.getRevocationEndpointURI(), AUTHCODE.id(), refreshed)
        .toHTTPRequest());
    assertThat(revoked.getStatusCode()).isEqualTo(200);
    assertThat(errorCode(token(AUTHCODE.tokenRequest(new RefreshTokenGrant(refreshed)))))
        .as("refresh after revocation").isEqualTo("invalid_grant");
  }

  private static URI authorizationUrl(CodeVerifier verifier, CodeChallengeMethod method, URI redirect, State state) {
    return new AuthorizationRequest.Builder(new ResponseType(ResponseType.Value.CODE), AUTHCODE.id())
        .endpointURI(provider.getAuthorizationEndpointURI())
        .redirectionURI(redirect)
        .scope(SCOPE)
        .state(state)
        .codeChallenge(verifier, method)
        .build()
        .toURI();
  }

  /** The error Keycloak redirects to the redirect URI with, for a request it refuses before any sign-in. */
  private static String redirectErrorOf(URI authorizationUrl) throws Exception {
    HttpResponse<String> answer = open(authorizationUrl);
    assertThat(answer.statusCode()).as("a redirect back with an error").isEqualTo(302);
    URI location = URI.create(answer.headers().firstValue("Location").orElseThrow());
    assertThat(location.toString()).startsWith(LOCALHOST.toString());
    return AuthorizationResponse.parse(location).toErrorResponse().getErrorObject().getCode();
  }

  private static HttpResponse<String> open(URI uri) throws IOException, InterruptedException {
    return HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build()
        .send(HttpRequest.newBuilder(uri).header("Accept", "text/html").build(), HttpResponse.BodyHandlers.ofString());
  }

  private static DeviceAuthorizationSuccessResponse authorize(Client client) throws IOException, ParseException {
    DeviceAuthorizationResponse response = DeviceAuthorizationResponse.parse(
        send(client.deviceAuthorizationRequest().toHTTPRequest()));
    assertThat(response.indicatesSuccess())
        .as("device authorization: %s", response.indicatesSuccess() ? "" : response.toErrorResponse().getErrorObject())
        .isTrue();
    return response.toSuccessResponse();
  }

  /**
   * Polls the token endpoint like a device does (RFC 8628 section 3.5): waits the interval before each request,
   * adds 5 s on slow_down, and stops at the first answer other than authorization_pending or slow_down.
   */
  private static TokenResponse pollDeviceCode(Client client, DeviceAuthorizationSuccessResponse authorization)
      throws IOException, ParseException, InterruptedException {
    TokenRequest request = client.tokenRequest(new DeviceCodeGrant(authorization.getDeviceCode()));
    Instant deadline = Instant.now().plusSeconds(authorization.getLifetime() + 5);
    Duration interval = Duration.ofSeconds(authorization.getInterval());
    while (true) {
      Thread.sleep(interval.toMillis());
      TokenResponse response = token(request);
      String error = errorCode(response);
      if (error.equals("slow_down")) {
        interval = interval.plusSeconds(5);
      } else if (!error.equals("authorization_pending") || Instant.now().isAfter(deadline)) {
        return response;
      }
    }
  }

  private static OIDCTokens awaitTokens(Client client, DeviceAuthorizationSuccessResponse authorization)
      throws IOException, ParseException, InterruptedException {
    TokenResponse response = pollDeviceCode(client, authorization);
    assertThat(errorCode(response)).as("token response error").isEqualTo("none");
    return ((OIDCTokenResponse) response).getOIDCTokens();
  }

  private static RefreshToken approvedRefreshToken(String username, String password)
      throws IOException, ParseException, InterruptedException {
    DeviceAuthorizationSuccessResponse authorization = authorize(CLI);
    KeycloakPerson.approve(authorization.getVerificationURIComplete().toString(), username, password);
    return awaitTokens(CLI, authorization).getRefreshToken();
  }

  private static TokenResponse refresh(RefreshToken refreshToken) throws IOException, ParseException {
    return token(CLI.tokenRequest(new RefreshTokenGrant(refreshToken)));
  }

  private static RefreshToken refreshTokenOf(TokenResponse response) {
    assertThat(errorCode(response)).as("token response error").isEqualTo("none");
    return response.toSuccessResponse().getTokens().getRefreshToken();
  }

  private static TokenResponse token(TokenRequest request) throws IOException, ParseException {
    return OIDCTokenResponseParser.parse(send(request.toHTTPRequest()));
  }

  private static HTTPResponse send(HTTPRequest request) throws IOException {
    request.setConnectTimeout(5_000);
    request.setReadTimeout(30_000);
    return request.send();
  }

  /** The OAuth error code of {@code response}, or "none" on success; never exposes token values. */
  private static String errorCode(TokenResponse response) {
    return response.indicatesSuccess() ? "none" : response.toErrorResponse().getErrorObject().getCode();
  }

  /** A client of the test realm: public (sends only its client_id) or confidential (client_secret_basic). */
  private record Client(ClientID id, ClientAuthentication authentication) {

    static Client publicClient(String clientId) {
      return new Client(new ClientID(clientId), null);
    }

    static Client confidential(String clientId, String secret) {
      ClientID id = new ClientID(clientId);
      return new Client(id, new ClientSecretBasic(id, new Secret(secret)));
    }

    DeviceAuthorizationRequest deviceAuthorizationRequest() {
      URI endpoint = provider.getDeviceAuthorizationEndpointURI();
      return authentication == null
          ? new DeviceAuthorizationRequest(endpoint, id, SCOPE)
          : new DeviceAuthorizationRequest(endpoint, authentication, SCOPE, Map.of());
    }

    TokenRequest tokenRequest(AuthorizationGrant grant) {
      URI endpoint = provider.getTokenEndpointURI();
      TokenRequest.Builder builder = authentication == null
          ? new TokenRequest.Builder(endpoint, id, grant)
          : new TokenRequest.Builder(endpoint, authentication, grant);
      return builder.build();
    }
  }
}
