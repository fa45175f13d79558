package io.devicelogin.operator.e2e;

import static io.devicelogin.operator.testing.Logins.phase;
import static io.devicelogin.operator.testing.Logins.ready;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.oauth2.sdk.RefreshTokenGrant;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.token.RefreshToken;
import com.nimbusds.oauth2.sdk.util.URLUtils;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponseParser;
import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProvider;
import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderRef;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.browser.HeadlessChromium;
import io.devicelogin.operator.callback.Receipt;
import io.devicelogin.operator.keycloak.KeycloakPerson;
import io.devicelogin.operator.keycloak.KeycloakServer;
import io.devicelogin.operator.relay.Relay;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The authorization code grant with PKCE against a real Keycloak whose client has the device grant off and allows only
 * the redirect {@code http://localhost:8000/*} ({@code devicelogin-authcode} in the test realm): the operator, the mock
 * API server and Keycloak as in {@link KeycloakE2EIT}; the person signs in at {@code status.authorizationUrl} in a
 * real headless Chromium, which is then sent to {@code http://localhost:8000/?code=…} where nothing listens, and the
 * URL the browser shows is handed back to the operator through a {@link Channel}: a pasted Secret, or the operator's
 * callback form; or the local relay listens there and forwards it to the callback endpoint.
 *
 * <p>Paste → Ready latencies of every run are printed at the end (to within the 100 ms the tests poll at).
 */
class KeycloakAuthCodeE2EIT {

  private static final String NS = "e2e";
  private static final String PROVIDER = "keycloak-code";
  private static final String CLIENT_ID = "devicelogin-authcode";
  /** The redirect URI registered for {@value #CLIENT_ID}; nothing listens on it. */
  static final String REDIRECT_URI = "http://localhost:8000/";

  /** Handed over → Ready, in ms: from the moment the operator holds the response (a pasted Secret created, the callback
   * page answered) to the status poll that saw Ready. */
  private static final List<Long> PASTE_TO_READY_MILLIS = Collections.synchronizedList(new ArrayList<>());

  private KeycloakServer keycloak;
  private KubernetesClient client;
  private OperatorFixture fixture;
  /** Values that must never show outside Secrets: PKCE verifiers and authorization codes seen in this test. */
  private final List<String> secrets = new ArrayList<>();

  /**
   * A way the URL the person's browser ended on reaches the operator. Reusable: the callback form and the local relay
   * are further channels, each a test like {@link #pastedBackAsASecretTheLoginCompletesRefreshesAndIsRevokedOnDelete}.
   */
  @FunctionalInterface
  interface Channel {
    void deliver(KubernetesClient client, String namespace, String login, String redirectedUrl);
  }

  /** Paste-back via the cluster API: a Secret of type devicelogin.io/authorization-response naming the login. */
  static final Channel PASTE_BACK_SECRET = KeycloakAuthCodeE2EIT::paste;

  @BeforeEach
  void start() {
    keycloak = KeycloakServer.shared();
    // the operator's own callback endpoint (CALLBACK_PORT) on a free port, for the callback form and the local relay
    fixture = OperatorFixture.withSettings(settings -> settings.withCallbackPort(0));
    client = fixture.client();
    client.resource(codeProvider(keycloak)).create();
    Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> {
      ClusterIdentityProvider provider =
          client.resources(ClusterIdentityProvider.class).withName(PROVIDER).get();
      return provider.getStatus() != null && provider.getStatus().getConditions() != null
          && provider.getStatus().getConditions().stream()
          .anyMatch(c -> Constants.READY.equals(c.getType()) && "True".equals(c.getStatus()));
    });
  }

  @AfterEach
  void stop() {
    try {
      fixture.assertNoLeaks(secrets);
    } finally {
      fixture.close();
    }
  }

  @AfterAll
  static void printLatencies() {
    List<Long> runs = List.copyOf(PASTE_TO_READY_MILLIS);
    System.out.println("KeycloakAuthCodeE2EIT handed over -> Ready latency (ms) over " + runs.size() + " runs: " + runs
        + (runs.isEmpty() ? "" : ", max " + Collections.max(runs) + ", mean "
        + runs.stream().mapToLong(Long::longValue).sum() / runs.size()));
  }

  @Test
  void pastedBackAsASecretTheLoginCompletesRefreshesAndIsRevokedOnDelete() throws Exception {
    loginCompletesRefreshesAndIsRevokedOnDelete(PASTE_BACK_SECRET);
  }

  @Test
  void pastedIntoTheCallbackFormTheLoginCompletesRefreshesAndIsRevokedOnDelete() throws Exception {
    loginCompletesRefreshesAndIsRevokedOnDelete(this::pasteIntoCallbackForm);
  }

  /**
   * The local relay on the person's machine: it listens on {@value #REDIRECT_URI}, so the browser's redirect after
   * signing in reaches it instead of failing, and it forwards code, state and iss to the operator's callback endpoint.
   */
  @Test
  void theLocalRelayForwardsTheRedirectToTheCallbackEndpoint() throws Exception {
    DeviceLogin awaiting = create("alice", "alice@example.com", null);
    String callback = "http://127.0.0.1:" + fixture.operator().callbackPort() + "/callback";
    ByteArrayOutputStream output = new ByteArrayOutputStream();
    CompletableFuture<Integer> exit = new CompletableFuture<>();
    Thread relay = new Thread(() -> exit.complete(Relay.run(
        new String[] {"--redirect-uri", REDIRECT_URI, "--callback", callback, "--timeout", "2m"},
        new PrintStream(output, true, StandardCharsets.UTF_8))), "relay");
    relay.setDaemon(true);
    relay.start();
    try {
      Awaitility.await().atMost(Duration.ofSeconds(10))
          .until(() -> output.toString(StandardCharsets.UTF_8).contains("waiting at"));
      String landed = KeycloakPerson.signInForRedirect(
          awaiting.getStatus().getAuthorizationUrl(), REDIRECT_URI, "alice", "alice-password");
      long signedIn = System.nanoTime(); // the relay answered the browser once the callback endpoint accepted
      String code = URLUtils.parseParameters(URI.create(landed).getRawQuery()).get("code").get(0);
      secrets.add(code);
      assertThat(exit.get(30, TimeUnit.SECONDS)).as("the relay exits 0 once the operator accepted").isZero();
      DeviceLogin ready = awaitLogin("alice", phase(Phase.Ready));
      PASTE_TO_READY_MILLIS.add((System.nanoTime() - signedIn) / 1_000_000);
      assertThat(ready(ready).getReason()).isEqualTo("Issued");
      assertThat(ready.getStatus().getIdentity().getUsername()).isEqualTo("alice@example.com");
      assertThat(TokenSecrets.value(tokenSecret(), "client-id")).isEqualTo(CLIENT_ID);
      assertThat(output.toString(StandardCharsets.UTF_8)).as("the relay prints what it does, never the code")
          .contains("accepted").doesNotContain(code);
      assertThat(client.secrets().inNamespace(NS).withName("devicelogin-grant-alice").get()).as("grant Secret")
          .isNull();
    } finally {
      relay.interrupt(); // stops a relay still waiting (a failed assertion), so nothing listens on the port after
      relay.join(10_000);
    }
  }

  @Test
  void anotherPersonSigningInEndsIdentityMismatchWithoutATokenSecret() {
    DeviceLogin awaiting = create("alice", "alice@example.com", null);
    String redirected = failedRedirect(awaiting, "bob", "bob-password");
    paste(client, NS, "alice", redirected);

    DeviceLogin failed = awaitLogin("alice", phase(Phase.Failed));
    assertThat(ready(failed).getReason()).isEqualTo("IdentityMismatch");
    assertThat(failed.getStatus().getAuthorizationUrl()).isNull();
    assertThat(client.secrets().inNamespace(NS).withLabel(Constants.USERNAME_LABEL).list().getItems()).isEmpty();
    assertThat(client.secrets().inNamespace(NS).withName("oidc-bob-example-com").get()).isNull();
    assertThat(pastedSecrets()).as("the pasted Secret was consumed").isEmpty();
  }

  @Test
  void aUrlFromAnOlderLoginOrPastedTwiceIsRefused() {
    DeviceLogin first = create("alice", "alice@example.com", null);
    String older = failedRedirect(first, "alice", "alice-password");
    client.resources(DeviceLogin.class).inNamespace(NS).withName("alice")
        .edit(dl -> {
          dl.getMetadata().setAnnotations(Map.of(Constants.RESTART_ANNOTATION, "again"));
          return dl;
        });
    DeviceLogin restarted = awaitLogin("alice", dl -> dl.getStatus().getPhase() == Phase.AwaitingUser
        && dl.getStatus().getAuthorizationUrl() != null
        && !dl.getStatus().getAuthorizationUrl().equals(first.getStatus().getAuthorizationUrl()));
    recordGrantSecrets("alice");

    paste(client, NS, "alice", older);
    DeviceLogin refused = awaitLogin("alice", dl -> ready(dl).getMessage().contains("refused"));
    assertThat(refused.getStatus().getPhase()).isEqualTo(Phase.AwaitingUser);
    assertThat(ready(refused).getReason()).isEqualTo("AuthorizationPending");
    assertThat(ready(refused).getMessage()).contains("older or another login's response");
    assertThat(refused.getStatus().getAuthorizationUrl()).isEqualTo(restarted.getStatus().getAuthorizationUrl());
    awaitNoPastedSecrets();

    String current = failedRedirect(restarted, "alice", "alice-password");
    DeviceLogin ready = deliverAndAwaitReady(PASTE_BACK_SECRET, "alice", current);
    String idToken = TokenSecrets.value(tokenSecret(), "id-token");

    paste(client, NS, "alice", current);
    awaitNoPastedSecrets();
    DeviceLogin after = Logins.get(client, NS, "alice");
    assertThat(after.getStatus().getPhase()).isEqualTo(Phase.Ready);
    assertThat(ready(after).getReason()).isEqualTo(ready(ready).getReason());
    assertThat(TokenSecrets.value(tokenSecret(), "id-token")).as("the second paste changed no token").isEqualTo(idToken);
  }

  /**
   * The whole life of a login completed through {@code channel}: authorization URL, sign-in as spec.user, the failed
   * redirect handed back, Ready with a Keycloak ID token for that user, paste and grant Secrets gone, a refresh, and
   * on delete the refresh token revoked at Keycloak.
   */
  void loginCompletesRefreshesAndIsRevokedOnDelete(Channel channel) throws Exception {
    // the test realm issues 60 s tokens and rotates refresh tokens; renewBefore 55s refreshes ~5 s after each issue
    DeviceLogin awaiting = create("alice", "alice@example.com", "55s");
    URI authorizationUrl = URI.create(awaiting.getStatus().getAuthorizationUrl());
    Map<String, List<String>> request = URLUtils.parseParameters(authorizationUrl.getRawQuery());
    assertThat(authorizationUrl.toString()).startsWith(keycloak.issuerUrl() + "/protocol/openid-connect/auth?");
    assertThat(request.get("redirect_uri")).containsExactly(REDIRECT_URI);
    assertThat(request.get("code_challenge_method")).containsExactly("S256");
    assertThat(request.get("client_id")).containsExactly(CLIENT_ID);

    String redirected = failedRedirect(awaiting, "alice", "alice-password");
    Map<String, List<String>> response = URLUtils.parseParameters(URI.create(redirected).getRawQuery());
    assertThat(response.get("state")).isEqualTo(request.get("state"));
    assertThat(response.get("iss")).containsExactly(keycloak.issuerUrl().toString());

    DeviceLogin ready = deliverAndAwaitReady(channel, "alice", redirected);

    assertThat(ready(ready).getReason()).isEqualTo("Issued");
    assertThat(ready.getStatus().getAuthorizationUrl()).isNull();
    assertThat(ready.getStatus().getIdentity().getUsername()).isEqualTo("alice@example.com");
    assertThat(ready.getStatus().getIdentity().getGroups()).containsExactly("developers");
    Secret secret = tokenSecret();
    JWTClaimsSet claims = JWTParser.parse(TokenSecrets.value(secret, "id-token")).getJWTClaimsSet();
    assertThat(claims.getIssuer()).isEqualTo(keycloak.issuerUrl().toString());
    assertThat(claims.getAudience()).contains(CLIENT_ID);
    assertThat(claims.getStringClaim("email")).isEqualTo("alice@example.com");
    assertThat(claims.getStringClaim("nonce")).as("the authorization URL's nonce").isEqualTo(request.get("nonce").get(0));
    assertThat(TokenSecrets.value(secret, "refresh-token")).isNotBlank();
    assertThat(TokenSecrets.value(secret, "client-id")).isEqualTo(CLIENT_ID);
    assertThat(pastedSecrets()).as("the pasted Secret was consumed").isEmpty();
    assertThat(client.secrets().inNamespace(NS).withName("devicelogin-grant-alice").get()).as("grant Secret").isNull();

    String first = TokenSecrets.value(secret, "refresh-token");
    DeviceLogin refreshed = Logins.awaitLogin(client, NS, "alice",
        dl -> "Refreshed".equals(ready(dl).getReason()) && !first.equals(refreshToken()), Duration.ofSeconds(30));
    assertThat(refreshed.getStatus().getPhase()).isEqualTo(Phase.Ready);
    assertThat(refreshed.getStatus().getLastRefreshTime()).isNotNull();

    // read and deleted right after a refresh: the next one is ~5 s away, so the token read is the current one
    String current = refreshToken();
    double revocations = revocations();
    client.resources(DeviceLogin.class).inNamespace(NS).withName("alice").delete();
    Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> Logins.get(client, NS, "alice") == null);
    assertThat(client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get()).isNull();
    assertThat(revocations()).as("the operator revoked the refresh token").isEqualTo(revocations + 1);
    TokenResponse afterDelete = OIDCTokenResponseParser.parse(new TokenRequest(
        URI.create(keycloak.issuerUrl() + "/protocol/openid-connect/token"), new ClientID(CLIENT_ID),
        new RefreshTokenGrant(new RefreshToken(current))).toHTTPRequest().send());
    assertThat(afterDelete.indicatesSuccess()).as("the revoked refresh token no longer works").isFalse();
    assertThat(afterDelete.toErrorResponse().getErrorObject().getCode()).isEqualTo("invalid_grant");
  }

  // ---- Reusable for every channel (paste-back Secret, callback form, local relay) ----

  /**
   * The person's part, up to the URL their browser ends on: opens the login's {@code status.authorizationUrl} in a
   * fresh headless Chromium, signs in as {@code username}, and returns the address of the failed redirect to
   * {@value #REDIRECT_URI} ({@code ?code=…&state=…&iss=…}). The code is recorded as a secret for the leak scan.
   */
  String failedRedirect(DeviceLogin awaiting, String username, String password) {
    String redirected = KeycloakPerson.signInForRedirect(
        awaiting.getStatus().getAuthorizationUrl(), REDIRECT_URI, username, password);
    assertThat(redirected).startsWith(REDIRECT_URI + "?");
    List<String> code = URLUtils.parseParameters(URI.create(redirected).getRawQuery()).get("code");
    assertThat(code).as("the redirect carries a code").hasSize(1);
    secrets.add(code.get(0));
    return redirected;
  }

  /**
   * Hands {@code redirectedUrl} to the operator through {@code channel}, waits for Ready and records the latency from
   * the moment the channel handed it over (a browser's start-up is not part of it).
   */
  DeviceLogin deliverAndAwaitReady(Channel channel, String login, String redirectedUrl) {
    channel.deliver(client, NS, login, redirectedUrl);
    long delivered = System.nanoTime();
    DeviceLogin ready = awaitLogin(login, phase(Phase.Ready)); // polled every 100 ms
    PASTE_TO_READY_MILLIS.add((System.nanoTime() - delivered) / 1_000_000);
    return ready;
  }

  /**
   * Pastes {@code redirectedUrl} into the operator's callback form (its own endpoint, {@code GET /callback}) in a real
   * headless Chromium, as a person would, and checks the page says it was accepted.
   */
  void pasteIntoCallbackForm(KubernetesClient unused, String namespace, String login, String redirectedUrl) {
    try (HeadlessChromium browser = HeadlessChromium.start()) {
      WebDriver driver = browser.driver();
      driver.get("http://127.0.0.1:" + fixture.operator().callbackPort() + "/callback");
      WebElement form = driver.findElement(By.tagName("form"));
      driver.findElement(By.name("redirect_url")).sendKeys(redirectedUrl);
      driver.findElement(By.tagName("button")).click();
      new WebDriverWait(driver, Duration.ofSeconds(20)).until(ExpectedConditions.stalenessOf(form));
      assertThat(driver.findElement(By.tagName("p")).getText()).isEqualTo(Receipt.ACCEPTED.page());
    }
  }

  /** Pastes {@code redirectedUrl} back for the DeviceLogin {@code login}, as a person or portal would with kubectl. */
  static void paste(KubernetesClient client, String namespace, String login, String redirectedUrl) {
    client.resource(Resources.authorizationResponse(namespace, login, redirectedUrl)).create();
  }

  /** The ClusterIdentityProvider for Keycloak's {@value #CLIENT_ID}: authorization code grant, localhost redirect. */
  static ClusterIdentityProvider codeProvider(KeycloakServer keycloak) {
    ClusterIdentityProvider provider =
        Resources.clusterIdentityProvider(PROVIDER, keycloak.issuerUrl().toString(), CLIENT_ID);
    provider.getSpec().setGrant(IdentityProviderSpec.GrantType.AuthorizationCode);
    provider.getSpec().setRedirectUri(REDIRECT_URI);
    return provider;
  }

  /** Creates a DeviceLogin through {@value #PROVIDER} and waits for its authorization URL. */
  DeviceLogin create(String name, String user, String renewBefore) {
    DeviceLogin login = Resources.deviceLogin(NS, name, PROVIDER, user);
    login.getSpec().setIdentityProviderRef(
        new IdentityProviderRef(PROVIDER, IdentityProviderRef.Kind.ClusterIdentityProvider));
    login.getSpec().setRenewBefore(renewBefore);
    client.resource(login).create();
    DeviceLogin awaiting = awaitLogin(name, phase(Phase.AwaitingUser));
    assertThat(awaiting.getStatus().getAuthorizationUrl()).startsWith(keycloak.issuerUrl().toString());
    assertThat(awaiting.getStatus().getUserCode()).isNull();
    recordGrantSecrets(name);
    return awaiting;
  }

  /** Records the PKCE verifier of the login's grant for the leak scan. */
  private void recordGrantSecrets(String name) {
    Secret grant = client.secrets().inNamespace(NS).withName("devicelogin-grant-" + name).get();
    String verifier = TokenSecrets.value(grant, "code-verifier");
    assertThat(verifier).isNotBlank();
    secrets.add(verifier);
  }

  // ---- helpers ----

  private List<Secret> pastedSecrets() {
    return client.secrets().inNamespace(NS).withLabel(Constants.DEVICELOGIN_LABEL).list().getItems().stream()
        .filter(s -> Constants.AUTHORIZATION_RESPONSE_TYPE.equals(s.getType())).toList();
  }

  private void awaitNoPastedSecrets() {
    Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
        .until(() -> pastedSecrets().isEmpty());
  }

  private Secret tokenSecret() {
    return client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get();
  }

  private String refreshToken() {
    Secret secret = tokenSecret();
    String value = secret == null ? null : TokenSecrets.value(secret, "refresh-token");
    return value == null ? "" : value;
  }

  private double revocations() {
    return fixture.operator().metrics().registry().find("devicelogin.idp.requests")
        .tags("endpoint", "revocation", "outcome", "success").counters().stream().mapToDouble(c -> c.count()).sum();
  }

  private DeviceLogin awaitLogin(String name, Predicate<DeviceLogin> condition) {
    return Logins.awaitLogin(client, NS, name, condition, Duration.ofSeconds(30));
  }
}
