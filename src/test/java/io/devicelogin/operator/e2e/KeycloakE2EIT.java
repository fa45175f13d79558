package io.devicelogin.operator.e2e;

import static io.devicelogin.operator.testing.Logins.phase;
import static io.devicelogin.operator.testing.Logins.ready;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jwt.JWTParser;
import io.devicelogin.operator.api.v1alpha1.Condition;
import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.SecretKeyReference;
import io.devicelogin.operator.keycloak.KeycloakPerson;
import io.devicelogin.operator.keycloak.KeycloakServer;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.devicelogin.operator.testing.RunningOperator;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The operator against a real Keycloak (started by the suite) and the mock API server, driven like kubectl; the
 * person approves or denies each login in a real headless Chromium ({@link KeycloakPerson}).
 */
class KeycloakE2EIT {

  private static final String NS = "e2e";

  private KeycloakServer keycloak;
  private KubernetesClient client;
  private OperatorFixture fixture;
  private final List<String> deviceCodes = new ArrayList<>();

  @BeforeEach
  void start() {
    keycloak = KeycloakServer.shared();
    fixture = OperatorFixture.start();
    client = fixture.client();
    client.resource(provider("keycloak", "devicelogin-cli")).create();
    client.resource(provider("keycloak-short", "devicelogin-short")).create();
  }

  @AfterEach
  void stop() {
    try {
      fixture.assertNoLeaks(allSecrets());
    } finally {
      fixture.close();
    }
  }


  @Test
  void approvedLoginWritesValidatedTokensToThePerUserSecret() throws Exception {
    DeviceLogin awaiting = create("alice", "keycloak", "alice@example.com");
    KeycloakPerson.approve(awaiting.getStatus().getVerificationUriComplete(), "alice", "alice-password");

    DeviceLogin ready = awaitLogin("alice", phase(Phase.Ready));
    assertThat(ready.getStatus().getIdentity().getUsername()).isEqualTo("alice@example.com");
    assertThat(ready.getStatus().getIdentity().getGroups()).containsExactly("developers");
    Secret secret = client.secrets().inNamespace(NS).withName(ready.getStatus().getSecretName()).get();
    assertThat(secret.getMetadata().getName()).isEqualTo("oidc-alice-example-com");
    var claims = JWTParser.parse(TokenSecrets.value(secret, "id-token")).getJWTClaimsSet();
    assertThat(claims.getIssuer()).isEqualTo(keycloak.issuerUrl().toString());
    assertThat(claims.getAudience()).contains("devicelogin-cli");
    assertThat(TokenSecrets.value(secret, "refresh-token")).isNotBlank();
    assertThat(TokenSecrets.value(secret, "idp-issuer-url")).isEqualTo(keycloak.issuerUrl().toString());
    assertThat(ready.getStatus().getTokenExpiresAt()).isEqualTo(TokenSecrets.value(secret, "expiry"));
  }

  @Test
  void confidentialClientLogsIn() {
    client.resource(new SecretBuilder().withNewMetadata().withName("kc-client").withNamespace(NS)
        .addToLabels(Constants.CLIENT_SECRET_LABEL, "true").endMetadata()
        .addToStringData("secret", "demo-client-secret").build()).create();
    IdentityProvider confidential = provider("keycloak-confidential", "devicelogin-confidential");
    confidential.getSpec().setClientSecretRef(new SecretKeyReference("kc-client", "secret"));
    client.resource(confidential).create();
    DeviceLogin awaiting = create("bob", "keycloak-confidential", "bob@example.com");
    KeycloakPerson.approve(awaiting.getStatus().getVerificationUriComplete(), "bob", "bob-password");
    assertThat(awaitLogin("bob", phase(Phase.Ready)).getStatus().getSecretName()).isEqualTo("oidc-bob-example-com");
  }

  @Test
  void deniedLoginEndsDenied() {
    DeviceLogin awaiting = create("alice", "keycloak", "alice@example.com");
    KeycloakPerson.deny(awaiting.getStatus().getVerificationUriComplete(), "alice", "alice-password");
    DeviceLogin denied = awaitLogin("alice", phase(Phase.Denied));
    assertThat(ready(denied).getReason()).isEqualTo("AccessDenied");
    assertThat(denied.getStatus().getUserCode()).isNull();
    assertThat(client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get()).isNull();
  }

  @Test
  void unapprovedCodeExpires() {
    create("alice", "keycloak-short", "alice@example.com");
    DeviceLogin expired = Logins.awaitLogin(client, NS, "alice", phase(Phase.Expired), Duration.ofSeconds(40));
    assertThat(ready(expired).getReason()).isEqualTo("ExpiredToken");
  }

  @Test
  void loginApprovedByTheWrongUserFailsWithoutASecret() {
    DeviceLogin awaiting = create("alice", "keycloak", "alice@example.com");
    KeycloakPerson.approve(awaiting.getStatus().getVerificationUriComplete(), "bob", "bob-password");
    DeviceLogin failed = awaitLogin("alice", phase(Phase.Failed));
    assertThat(ready(failed).getReason()).isEqualTo("IdentityMismatch");
    assertThat(client.secrets().inNamespace(NS).withLabel("devicelogin.io/username").list().getItems()).isEmpty();
  }

  @Test
  void operatorKilledWhileALoginWaitsCompletesTheSameCodeAfterRestart() {
    DeviceLogin awaiting = create("alice", "keycloak", "alice@example.com");
    String userCode = awaiting.getStatus().getUserCode();
    assertThat(deviceAuthorizations(fixture.operator())).isEqualTo(1.0);
    fixture.stopOperator();

    fixture.startOperator();
    KeycloakPerson.approve(awaiting.getStatus().getVerificationUriComplete(), "alice", "alice-password");
    DeviceLogin ready = awaitLogin("alice", phase(Phase.Ready));
    assertThat(ready.getStatus().getIdentity().getUsername()).isEqualTo("alice@example.com");
    assertThat(deviceAuthorizations(fixture.operator())).as("the restarted operator started no second grant").isZero();
    assertThat(userCode).isNotBlank();
  }

  @Test
  void twoRefreshesInARowKeepTheSecretValidWithRotatedRefreshTokens() throws Exception {
    // The test realm issues 60 s tokens and rotates refresh tokens; renewBefore 55s refreshes every ~5 s.
    DeviceLogin awaiting = create("alice", "keycloak", "alice@example.com", "55s");
    KeycloakPerson.approve(awaiting.getStatus().getVerificationUriComplete(), "alice", "alice-password");
    awaitLogin("alice", phase(Phase.Ready));
    List<String> refreshTokens = new ArrayList<>();
    refreshTokens.add(secretValue("oidc-alice-example-com", "refresh-token"));
    for (int refresh = 1; refresh <= 2; refresh++) {
      String previous = refreshTokens.get(refreshTokens.size() - 1);
      DeviceLogin refreshed = awaitLogin("alice",
          dl -> "Refreshed".equals(ready(dl).getReason())
              && !previous.equals(secretValue("oidc-alice-example-com", "refresh-token")));
      refreshTokens.add(secretValue("oidc-alice-example-com", "refresh-token"));
      assertThat(refreshed.getStatus().getPhase()).isEqualTo(Phase.Ready);
      assertThat(refreshed.getStatus().getLastRefreshTime()).isNotNull();
    }
    assertThat(refreshTokens).as("Keycloak rotated the refresh token each time").doesNotHaveDuplicates();
    var claims = JWTParser.parse(secretValue("oidc-alice-example-com", "id-token")).getJWTClaimsSet();
    assertThat(claims.getExpirationTime().toInstant()).isAfter(java.time.Instant.now());
    assertThat(claims.getSubject()).isEqualTo(get("alice").getStatus().getIdentity().getSubject());
  }

  @Test
  void afterDeletionKeycloakRefusesTheOldRefreshToken() throws Exception {
    DeviceLogin awaiting = create("alice", "keycloak", "alice@example.com");
    KeycloakPerson.approve(awaiting.getStatus().getVerificationUriComplete(), "alice", "alice-password");
    awaitLogin("alice", phase(Phase.Ready));
    String refreshToken = secretValue("oidc-alice-example-com", "refresh-token");
    client.resources(DeviceLogin.class).inNamespace(NS).withName("alice").delete();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> get("alice") == null);
    assertThat(client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get()).isNull();

    var response = com.nimbusds.openid.connect.sdk.OIDCTokenResponseParser.parse(
        new com.nimbusds.oauth2.sdk.TokenRequest(
            java.net.URI.create(keycloak.issuerUrl() + "/protocol/openid-connect/token"),
            new com.nimbusds.oauth2.sdk.id.ClientID("devicelogin-cli"),
            new com.nimbusds.oauth2.sdk.RefreshTokenGrant(new com.nimbusds.oauth2.sdk.token.RefreshToken(refreshToken)))
            .toHTTPRequest().send());
    assertThat(response.indicatesSuccess()).as("the revoked refresh token no longer works").isFalse();
    assertThat(response.toErrorResponse().getErrorObject().getCode()).isEqualTo("invalid_grant");
  }

  @Test
  void aSessionEndedAtKeycloakEndsTheLoginExpired() {
    DeviceLogin awaiting = create("alice", "keycloak", "alice@example.com", "55s");
    KeycloakPerson.approve(awaiting.getStatus().getVerificationUriComplete(), "alice", "alice-password");
    awaitLogin("alice", phase(Phase.Ready));
    keycloak.admin().logoutUser("alice");
    DeviceLogin expired = Logins.awaitLogin(client, NS, "alice", phase(Phase.Expired), Duration.ofSeconds(40));
    assertThat(ready(expired).getReason()).isEqualTo("RefreshFailed");
    assertThat(ready(expired).getMessage()).contains("invalid_grant");
  }

  private String secretValue(String name, String key) {
    Secret secret = client.secrets().inNamespace(NS).withName(name).get();
    String value = secret == null ? null : TokenSecrets.value(secret, key);
    return value == null ? "" : value;
  }

  private List<String> allSecrets() {
    List<String> secrets = new ArrayList<>(deviceCodes);
    secrets.add("demo-client-secret");
    return secrets;
  }

  private static double deviceAuthorizations(io.devicelogin.operator.testing.RunningOperator operator) {
    var counter = operator.metrics().registry().find("devicelogin.idp.requests")
        .tag("endpoint", "device_authorization").counters();
    return counter.stream().mapToDouble(c -> c.count()).sum();
  }

  private IdentityProvider provider(String name, String clientId) {
    return Resources.identityProvider(NS, name, keycloak.issuerUrl().toString(), clientId);
  }

  private DeviceLogin create(String name, String provider, String user) {
    return create(name, provider, user, null);
  }

  private DeviceLogin create(String name, String provider, String user, String renewBefore) {
    DeviceLogin login = Resources.deviceLogin(NS, name, provider);
    login.getSpec().setUser(user);
    login.getSpec().setRenewBefore(renewBefore);
    client.resource(login).create();
    DeviceLogin awaiting = awaitLogin(name, phase(Phase.AwaitingUser));
    assertThat(awaiting.getStatus().getVerificationUriComplete()).startsWith(keycloak.issuerUrl().toString());
    Secret grant = client.secrets().inNamespace(NS).withName("devicelogin-grant-" + name).get();
    deviceCodes.add(TokenSecrets.value(grant, "device-code"));
    return awaiting;
  }

  private DeviceLogin awaitLogin(String name, Predicate<DeviceLogin> condition) {
    return Logins.awaitLogin(client, NS, name, condition, Duration.ofSeconds(30));
  }

  private DeviceLogin get(String name) {
    return Logins.get(client, NS, name);
  }
}
