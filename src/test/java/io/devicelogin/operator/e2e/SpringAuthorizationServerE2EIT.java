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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The operator against a real Spring Authorization Server (the suite's second real IdP, {@link SpringAuthorizationServer},
 * started in this JVM) and the mock API server, driven like kubectl; the person signs in, consents or refuses on
 * Spring's own pages in a real headless Chromium ({@link SpringAsPerson}). What differs from Keycloak
 * ({@link KeycloakE2EIT}): the device client is confidential (Spring authenticates no client by its client_id alone
 * outside a PKCE code exchange), the device authorization answer has no {@code interval} (the operator polls every 5 s,
 * RFC 8628's default), Spring reuses a refresh token instead of rotating it, a refusal is the consent page's "Cancel".
 */
class SpringAuthorizationServerE2EIT {

  private static final String NS = "e2e";
  private static final String DEVICE = "spring";
  private static final String CODE = "spring-code";

  private SpringAuthorizationServer server;
  private KubernetesClient client;
  private OperatorFixture fixture;
  /** Values that must never show outside Secrets: the client secret, device codes, PKCE verifiers, codes. */
  private final List<String> secrets = new ArrayList<>(List.of(SpringAuthorizationServer.CLIENT_SECRET));

  @BeforeEach
  void start() {
    server = SpringAuthorizationServer.shared();
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

  @Test
  void deviceLoginIsReadyRefreshesAndIsRevokedOnDelete() throws Exception {
    // 60 s ID tokens and renewBefore 55s: a refresh ~5 s after each issue
    DeviceLogin awaiting = createDeviceLogin("alice", SpringAuthorizationServer.ALICE.email(), "55s");
    SpringAsPerson.approve(awaiting.getStatus().getVerificationUriComplete(), SpringAuthorizationServer.ALICE);

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

    deleteAndAwaitGone("alice");
    assertRevoked(refreshToken);
  }

  @Test
  void refusedAtTheConsentPageEndsDenied() {
    DeviceLogin awaiting = createDeviceLogin("alice", SpringAuthorizationServer.ALICE.email(), null);
    SpringAsPerson.deny(awaiting.getStatus().getVerificationUriComplete(), SpringAuthorizationServer.ALICE);
    DeviceLogin denied = awaitLogin("alice", phase(Phase.Denied));
    assertThat(ready(denied).getReason()).isEqualTo("AccessDenied");
    assertThat(denied.getStatus().getUserCode()).isNull();
    assertThat(client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get()).isNull();
  }

  @Test
  void loginApprovedByAnotherPersonFailsWithoutASecret() {
    DeviceLogin awaiting = createDeviceLogin("alice", SpringAuthorizationServer.ALICE.email(), null);
    SpringAsPerson.approve(awaiting.getStatus().getVerificationUriComplete(), SpringAuthorizationServer.BOB);
    DeviceLogin failed = awaitLogin("alice", phase(Phase.Failed));
    assertThat(ready(failed).getReason()).isEqualTo("IdentityMismatch");
    assertThat(client.secrets().inNamespace(NS).withLabel(Constants.USERNAME_LABEL).list().getItems()).isEmpty();
  }

  @Test
  void authorizationCodeWithPkcePastedBackIsReadyAndRevokedOnDelete() throws Exception {
    DeviceLogin login = Resources.deviceLogin(NS, "alice", CODE, SpringAuthorizationServer.ALICE.email());
    client.resource(login).create();
    DeviceLogin awaiting = awaitLogin("alice", phase(Phase.AwaitingUser));
    URI authorizationUrl = URI.create(awaiting.getStatus().getAuthorizationUrl());
    Map<String, List<String>> request = URLUtils.parseParameters(authorizationUrl.getRawQuery());
    assertThat(authorizationUrl.toString()).startsWith(server.issuerUrl() + "/oauth2/authorize?");
    assertThat(request.get("code_challenge_method")).containsExactly("S256");
    secrets.add(TokenSecrets.value(grantSecret("alice"), "code-verifier"));

    String redirected = SpringAsPerson.signInForRedirect(authorizationUrl.toString(), SpringAuthorizationServer.ALICE);
    Map<String, List<String>> response = URLUtils.parseParameters(URI.create(redirected).getRawQuery());
    assertThat(response.get("state")).isEqualTo(request.get("state"));
    secrets.add(response.get("code").get(0));
    client.resource(Resources.authorizationResponse(NS, "alice", redirected)).create();

    DeviceLogin ready = awaitLogin("alice", phase(Phase.Ready));
    assertThat(ready(ready).getReason()).isEqualTo("Issued");
    assertThat(ready.getStatus().getIdentity().getUsername()).isEqualTo("alice@example.com");
    assertThat(ready.getStatus().getIdentity().getGroups()).containsExactly("developers");
    JWTClaimsSet claims = JWTParser.parse(secretValue("id-token")).getJWTClaimsSet();
    assertThat(claims.getIssuer()).isEqualTo(server.issuerUrl().toString());
    assertThat(claims.getStringClaim("nonce")).as("the authorization URL's nonce").isEqualTo(request.get("nonce").get(0));
    String refreshToken = secretValue("refresh-token");
    assertThat(refreshToken).isNotBlank();

    deleteAndAwaitGone("alice");
    assertRevoked(refreshToken);
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

  private DeviceLogin createDeviceLogin(String name, String user, String renewBefore) {
    DeviceLogin login = Resources.deviceLogin(NS, name, DEVICE, user);
    login.getSpec().setRenewBefore(renewBefore);
    client.resource(login).create();
    DeviceLogin awaiting = awaitLogin(name, phase(Phase.AwaitingUser));
    assertThat(awaiting.getStatus().getVerificationUriComplete())
        .startsWith(server.issuerUrl() + "/oauth2/device_verification?user_code=");
    secrets.add(TokenSecrets.value(grantSecret(name), "device-code"));
    return awaiting;
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
