package io.devicelogin.operator.e2e;

import static io.devicelogin.operator.testing.Logins.phase;
import static io.devicelogin.operator.testing.Logins.ready;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.oauth2.sdk.RefreshTokenGrant;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.token.RefreshToken;
import com.nimbusds.oauth2.sdk.util.URLUtils;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponseParser;
import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.SecretKeyReference;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.springas.SpringAsPerson;
import io.devicelogin.operator.springas.SpringAuthorizationServer;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The operator against a real Spring Authorization Server (the suite's second real IdP, {@link SpringAuthorizationServer},
 * started in this JVM) and the mock API server, driven like kubectl; the person signs in and consents or refuses on
 * Spring's own pages in a real headless Chromium ({@link SpringAsPerson}).
 *
 * <p>Spring's device grant issues no ID token and, since 1.5.3, refuses {@code openid} in a device authorization
 * request, so no device login can end Ready there: the device tests show that the login says what Spring did. The
 * whole life of a login (Ready, refreshes, revocation on delete, another person, a refusal) runs with the
 * authorization code grant and PKCE, pasted back as in {@link KeycloakAuthCodeE2EIT}. What else differs from Keycloak:
 * the client is confidential (Spring authenticates a client by its client_id alone only on a PKCE code exchange, and
 * gives such a client no refresh token), and Spring reuses a refresh token instead of rotating it.
 */
class SpringAuthorizationServerE2EIT {

  private static final String NS = "e2e";
  private static final String DEVICE = "spring";
  private static final String CODE = "spring-code";

  private static SpringAuthorizationServer server;
  private KubernetesClient client;
  private OperatorFixture fixture;
  /** Values that must never show outside Secrets: the client secret, device codes, PKCE verifiers, codes. */
  private final List<String> secrets = new ArrayList<>(List.of(SpringAuthorizationServer.CLIENT_SECRET));

  @BeforeAll
  static void startServer() {
    server = SpringAuthorizationServer.start();
  }

  @AfterAll
  static void stopServer() {
    if (server != null) {
      server.close();
    }
  }

  @BeforeEach
  void start() {
    server.forgetConsents(); // each test's people meet the consent page as on their first login
    fixture = OperatorFixture.start();
    client = fixture.client();
    client.resource(Resources.clientSecret(NS, "spring-client", "secret", SpringAuthorizationServer.CLIENT_SECRET))
        .create();
    client.resource(provider(DEVICE)).create();
    IdentityProvider code = provider(CODE);
    code.getSpec().setGrant(IdentityProviderSpec.GrantType.AuthorizationCode);
    code.getSpec().setRedirectUri(SpringAuthorizationServer.REDIRECT_URI);
    client.resource(code).create();
  }

  @AfterEach
  void stop() {
    try {
      fixture.assertNoLeaks(secrets);
    } finally {
      fixture.close();
    }
  }

  /**
   * Spring Authorization Server refuses {@code openid} in a device authorization request (invalid_scope, since 1.5.3:
   * its device grant issues no ID token), so a device login with the default scopes cannot start there: the login
   * waits, saying what the IdP answered, and retries with back-off (the provider's client may yet be changed).
   */
  @Test
  void theDeviceGrantWithOpenidIsRefusedAndTheLoginSaysSo() {
    client.resource(Resources.deviceLogin(NS, "alice", DEVICE, SpringAuthorizationServer.ALICE.email())).create();
    DeviceLogin refused = awaitLogin("alice", dl -> dl.getStatus() != null && dl.getStatus().getConditions() != null
        && "ProviderNotReady".equals(ready(dl).getReason()));
    assertThat(refused.getStatus().getPhase()).isEqualTo(Phase.Pending);
    assertThat(ready(refused).getMessage())
        .contains("The IdP refused the device authorization request: invalid_scope").contains("scopes");
    assertThat(refused.getStatus().getUserCode()).isNull();
    assertThat(client.secrets().inNamespace(NS).withName("devicelogin-grant-alice").get()).isNull();
    assertThat(client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get()).isNull();
  }

  /**
   * Without {@code openid} Spring runs the device grant to its end, and answers with access and refresh tokens but no
   * ID token: nothing Kubernetes could use, and the login says so.
   */
  @Test
  void theDeviceGrantWithoutOpenidBringsNoIdTokenAndTheLoginSaysSo() {
    IdentityProvider withoutOpenid = provider("spring-no-openid");
    withoutOpenid.getSpec().setScopes(List.of("profile", "email", "offline_access"));
    client.resource(withoutOpenid).create();
    client.resource(Resources.deviceLogin(NS, "alice", "spring-no-openid", SpringAuthorizationServer.ALICE.email()))
        .create();
    DeviceLogin awaiting = awaitLogin("alice", phase(Phase.AwaitingUser));
    assertThat(awaiting.getStatus().getVerificationUriComplete())
        .startsWith(server.issuerUrl() + "/oauth2/device_verification?user_code=");
    secrets.add(TokenSecrets.value(grantSecret("alice"), "device-code"));
    SpringAsPerson.approve(awaiting.getStatus().getVerificationUriComplete(), SpringAuthorizationServer.ALICE);

    DeviceLogin ended = awaitLogin("alice", phase(Phase.Failed));
    assertThat(ready(ended).getReason()).isEqualTo("InvalidTokenResponse");
    assertThat(ready(ended).getMessage()).contains("sent no ID token").contains("Kubernetes needs one")
        .contains("'openid' is among the scopes");
    assertThat(client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get()).isNull();
  }

  /**
   * The authorization code grant with PKCE, pasted back as a Secret: Ready with an ID token from Spring for alice with
   * her groups, two refreshes (each a new ID token; Spring reuses the refresh token), and on delete the refresh token
   * revoked at Spring.
   */
  @Test
  void codeGrantLoginIsReadyRefreshesAndIsRevokedOnDelete() throws Exception {
    // 60 s ID tokens and renewBefore 55s: a refresh ~5 s after each issue
    DeviceLogin awaiting = createCodeLogin("alice", "55s");
    Map<String, List<String>> request = authorizationRequest(awaiting);
    String redirected = signIn(awaiting, SpringAuthorizationServer.ALICE);
    assertThat(parameters(redirected).get("state")).isEqualTo(request.get("state"));
    client.resource(Resources.authorizationResponse(NS, "alice", redirected)).create();

    DeviceLogin ready = awaitLogin("alice", phase(Phase.Ready));
    assertThat(ready(ready).getReason()).isEqualTo("Issued");
    assertThat(ready.getStatus().getIdentity().getUsername()).isEqualTo("alice@example.com");
    assertThat(ready.getStatus().getIdentity().getGroups()).containsExactly("developers");
    String idToken = secretValue("id-token");
    JWTClaimsSet claims = JWTParser.parse(idToken).getJWTClaimsSet();
    assertThat(claims.getIssuer()).isEqualTo(server.issuerUrl().toString());
    assertThat(claims.getAudience()).containsExactly(SpringAuthorizationServer.CLIENT_ID);
    assertThat(claims.getSubject()).isEqualTo("alice");
    assertThat(claims.getBooleanClaim("email_verified")).isTrue();
    assertThat(claims.getStringClaim("nonce")).as("the authorization URL's nonce").isEqualTo(request.get("nonce").get(0));
    assertThat(secretValue("idp-issuer-url")).isEqualTo(server.issuerUrl().toString());
    assertThat(ready.getStatus().getTokenExpiresAt()).isEqualTo(secretValue("expiry"));
    String refreshToken = secretValue("refresh-token");
    assertThat(refreshToken).isNotBlank();

    List<String> idTokens = new ArrayList<>(List.of(idToken));
    for (int refresh = 1; refresh <= 2; refresh++) {
      String previous = idTokens.get(idTokens.size() - 1);
      DeviceLogin refreshed = awaitLogin("alice",
          dl -> "Refreshed".equals(ready(dl).getReason()) && !previous.equals(secretValue("id-token")));
      assertThat(refreshed.getStatus().getPhase()).isEqualTo(Phase.Ready);
      idTokens.add(secretValue("id-token"));
    }
    assertThat(idTokens).as("each refresh brought a new ID token").doesNotHaveDuplicates();
    assertThat(JWTParser.parse(secretValue("id-token")).getJWTClaimsSet().getExpirationTime().toInstant())
        .isAfter(Instant.now());
    assertThat(secretValue("refresh-token")).as("Spring reuses the refresh token (reuseRefreshTokens: true)")
        .isEqualTo(refreshToken);

    secrets.add(refreshToken); // the leak scan after the test no longer finds them in the deleted Secret
    secrets.addAll(idTokens);
    deleteAndAwaitGone("alice");
    assertRevoked(refreshToken);
  }

  @Test
  void codeGrantRefusedAtTheConsentPageEndsDenied() {
    DeviceLogin awaiting = createCodeLogin("alice", null);
    String redirected = SpringAsPerson.refuseForRedirect(
        awaiting.getStatus().getAuthorizationUrl(), SpringAuthorizationServer.ALICE);
    assertThat(parameters(redirected).get("error")).containsExactly("access_denied");
    client.resource(Resources.authorizationResponse(NS, "alice", redirected)).create();

    DeviceLogin denied = awaitLogin("alice", phase(Phase.Denied));
    assertThat(ready(denied).getReason()).isEqualTo("AccessDenied");
    assertThat(denied.getStatus().getAuthorizationUrl()).isNull();
    assertThat(client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get()).isNull();
  }

  @Test
  void codeGrantSignedInByAnotherPersonFailsWithoutASecret() {
    DeviceLogin awaiting = createCodeLogin("alice", null);
    client.resource(Resources.authorizationResponse(NS, "alice", signIn(awaiting, SpringAuthorizationServer.BOB)))
        .create();
    DeviceLogin failed = awaitLogin("alice", phase(Phase.Failed));
    assertThat(ready(failed).getReason()).isEqualTo("IdentityMismatch");
    assertThat(client.secrets().inNamespace(NS).withLabel(Constants.USERNAME_LABEL).list().getItems()).isEmpty();
  }

  private DeviceLogin createCodeLogin(String name, String renewBefore) {
    DeviceLogin login = Resources.deviceLogin(NS, name, CODE, SpringAuthorizationServer.ALICE.email());
    login.getSpec().setRenewBefore(renewBefore);
    client.resource(login).create();
    DeviceLogin awaiting = awaitLogin(name, phase(Phase.AwaitingUser));
    secrets.add(TokenSecrets.value(grantSecret(name), "code-verifier"));
    return awaiting;
  }

  private Map<String, List<String>> authorizationRequest(DeviceLogin awaiting) {
    URI authorizationUrl = URI.create(awaiting.getStatus().getAuthorizationUrl());
    assertThat(authorizationUrl.toString()).startsWith(server.issuerUrl() + "/oauth2/authorize?");
    Map<String, List<String>> request = parameters(authorizationUrl.toString());
    assertThat(request.get("code_challenge_method")).containsExactly("S256");
    assertThat(request.get("redirect_uri")).containsExactly(SpringAuthorizationServer.REDIRECT_URI);
    return request;
  }

  /** The person signs in at the login's authorization URL; returns where Spring sent the browser, code recorded. */
  private String signIn(DeviceLogin awaiting, SpringAuthorizationServer.Person person) {
    String redirected = SpringAsPerson.signInForRedirect(awaiting.getStatus().getAuthorizationUrl(), person);
    List<String> code = parameters(redirected).get("code");
    assertThat(code).as("the redirect carries a code").hasSize(1);
    secrets.add(code.get(0));
    return redirected;
  }

  private static Map<String, List<String>> parameters(String url) {
    return URLUtils.parseParameters(URI.create(url).getRawQuery());
  }

  /** Checks at the server that {@code refreshToken} no longer works: a refresh with it fails with invalid_grant. */
  private void assertRevoked(String refreshToken) throws Exception {
    TokenResponse afterDelete = OIDCTokenResponseParser.parse(new TokenRequest(server.tokenEndpoint(),
        new ClientSecretBasic(new ClientID(SpringAuthorizationServer.CLIENT_ID),
            new Secret(SpringAuthorizationServer.CLIENT_SECRET)),
        new RefreshTokenGrant(new RefreshToken(refreshToken))).toHTTPRequest().send());
    assertThat(afterDelete.indicatesSuccess()).as("the revoked refresh token no longer works").isFalse();
    assertThat(afterDelete.toErrorResponse().getErrorObject().getCode()).isEqualTo("invalid_grant");
  }

  private void deleteAndAwaitGone(String name) {
    client.resources(DeviceLogin.class).inNamespace(NS).withName(name).delete();
    Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> Logins.get(client, NS, name) == null);
    assertThat(client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get()).isNull();
  }

  /** The confidential client (client_secret_basic, from the labelled Secret) with the default scopes. */
  private IdentityProvider provider(String name) {
    IdentityProvider provider = Resources.identityProvider(
        NS, name, server.issuerUrl().toString(), SpringAuthorizationServer.CLIENT_ID);
    provider.getSpec().setClientSecretRef(new SecretKeyReference("spring-client", "secret"));
    return provider;
  }

  private io.fabric8.kubernetes.api.model.Secret grantSecret(String name) {
    return client.secrets().inNamespace(NS).withName("devicelogin-grant-" + name).get();
  }

  private String secretValue(String key) {
    io.fabric8.kubernetes.api.model.Secret secret =
        client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get();
    String value = secret == null ? null : TokenSecrets.value(secret, key);
    return value == null ? "" : value;
  }

  private DeviceLogin awaitLogin(String name, Predicate<DeviceLogin> condition) {
    return Logins.awaitLogin(client, NS, name, condition, Duration.ofSeconds(30));
  }
}
