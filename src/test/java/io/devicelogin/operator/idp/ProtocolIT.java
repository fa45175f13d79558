package io.devicelogin.operator.idp;

import static io.devicelogin.operator.testing.Logins.awaitLogin;
import static io.devicelogin.operator.testing.Logins.events;
import static io.devicelogin.operator.testing.Logins.phase;
import static io.devicelogin.operator.testing.Logins.ready;
import static io.devicelogin.operator.testing.Logins.reason;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.openid.connect.sdk.claims.IDTokenClaimsSet;
import com.nimbusds.openid.connect.sdk.validators.IDTokenValidator;
import io.devicelogin.operator.api.v1alpha1.Condition;
import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginStatus;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.SecretKeyReference;
import io.devicelogin.operator.status.Conditions;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testidp.Login;
import io.devicelogin.operator.testidp.RecordedRequest;
import io.devicelogin.operator.testidp.TokenVariant;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real operator (Nimbus IdP client) against the mock API server and {@link FakeIdp} over real HTTP: RFC 8628 as
 * the IdP speaks it, ID token validation, identity binding and client authentication, checked against the API
 * contract (status, Secrets, Events) and the fake IdP's request records. One cluster, operator and IdP per class;
 * every test works in its own namespace and ends all the logins it starts.
 */
class ProtocolIT {

  private static final String CLIENT_ID = "cli";
  private static final String DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
  private static final Pattern RFC3339 = Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z");
  private static final Pattern USER_CODE = Pattern.compile("[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}");

  private static OperatorFixture fixture;
  private static KubernetesClient client;
  private static FakeIdp idp;

  /** Client secrets the tests hand out; they must never be visible either. */
  private static final List<String> clientSecrets = new java.util.concurrent.CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() {
    idp = FakeIdp.start().interval(1);
    fixture = OperatorFixture.start();
    client = fixture.client();
  }

  @AfterAll
  static void stop() {
    try {
      fixture.close();
    } finally {
      idp.close();
    }
  }

  @AfterEach
  void noLeaks() {
    List<String> secrets = new ArrayList<>(Logins.secretsOf(idp));
    secrets.addAll(clientSecrets);
    fixture.assertNoLeaks(secrets);
  }

  // ---- 1. happy path

  @Test
  void loginShowsTheUserCodeAndWritesTheContractSecretOnApproval() throws Exception {
    String ns = "happy";
    provider(ns, "corp");
    Instant started = Instant.now();
    client.resource(Resources.deviceLogin(ns, "alice", "corp")).create();

    DeviceLogin awaiting = awaitLogin(client, ns, "alice", phase(Phase.AwaitingUser));
    DeviceLoginStatus shown = awaiting.getStatus();
    assertThat(shown.getUserCode()).matches(USER_CODE);
    Login login = idp.login(shown.getUserCode());
    assertThat(shown.getVerificationUri()).isEqualTo(idp.verificationUri().toString());
    assertThat(shown.getVerificationUriComplete())
        .isEqualTo(idp.verificationUri() + "?user_code=" + login.userCode());
    assertThat(shown.getExpiresAt()).matches(RFC3339);
    assertThat(Instant.parse(shown.getExpiresAt())).isCloseTo(login.expiresAt(), within(2, ChronoUnit.SECONDS));
    assertThat(shown.getPollInterval()).isEqualTo(1);
    assertThat(shown.getSecretName()).isNull();
    assertThat(shown.getObservedGeneration()).isEqualTo(awaiting.getMetadata().getGeneration());
    Condition waiting = ready(awaiting);
    assertThat(waiting.getStatus()).isEqualTo("False");
    assertThat(waiting.getReason()).isEqualTo("AuthorizationPending");
    assertThat(waiting.getMessage()).contains(login.userCode()).contains(idp.verificationUri().toString());
    assertThat(waiting.getLastTransitionTime()).matches(RFC3339);
    assertThat(waiting.getObservedGeneration()).isEqualTo(awaiting.getMetadata().getGeneration());
    assertThat(client.secrets().inNamespace(ns).withName("devicelogin-grant-alice").get())
        .as("the internal grant Secret while the login waits").isNotNull();

    RecordedRequest deviceRequest = only(requestsSince(idp.deviceAuthorizationEndpoint(), started));
    assertThat(deviceRequest.param("client_id")).isEqualTo(CLIENT_ID);
    assertThat(deviceRequest.param("scope")).isEqualTo("openid profile email offline_access");
    await().atMost(Duration.ofSeconds(10)).until(() -> login.pollCount() >= 2);

    login.approve(Claims.user("alice").groups("developers", "ops"));
    DeviceLogin done = awaitLogin(client, ns, "alice", phase(Phase.Ready));
    DeviceLoginStatus status = done.getStatus();
    assertThat(status.getUserCode()).as("user code cleared once the login ends").isNull();
    assertThat(status.getVerificationUri()).isNull();
    assertThat(status.getVerificationUriComplete()).isNull();
    assertThat(status.getSecretName()).isEqualTo("oidc-alice-example-com");
    assertThat(status.getIdentity().getUsername()).isEqualTo("alice@example.com");
    assertThat(status.getIdentity().getSubject()).isEqualTo("sub-alice");
    assertThat(status.getIdentity().getEmail()).isEqualTo("alice@example.com");
    assertThat(status.getIdentity().getGroups()).containsExactly("developers", "ops");
    assertThat(status.getObservedGeneration()).isEqualTo(done.getMetadata().getGeneration());
    Condition issued = ready(done);
    assertThat(issued.getStatus()).isEqualTo("True");
    assertThat(issued.getReason()).isEqualTo("Issued");
    assertThat(issued.getMessage()).contains("alice@example.com").contains("oidc-alice-example-com");

    // the per-user Secret, exactly as the contract describes it
    var tokens = only(login.issuedTokens());
    Secret secret = client.secrets().inNamespace(ns).withName("oidc-alice-example-com").get();
    assertThat(secret.getType()).isEqualTo("devicelogin.io/oidc-tokens");
    Map<String, String> data = decode(secret);
    assertThat(data.keySet()).containsExactlyInAnyOrder(
        "id-token", "refresh-token", "access-token", "expiry", "idp-issuer-url", "client-id");
    assertThat(data.get("id-token")).isEqualTo(tokens.idToken());
    assertThat(data.get("access-token")).isEqualTo(tokens.accessToken());
    assertThat(data.get("refresh-token")).isEqualTo(tokens.refreshToken());
    assertThat(data.get("idp-issuer-url")).isEqualTo(idp.issuer());
    assertThat(data.get("client-id")).isEqualTo(CLIENT_ID);
    IDTokenClaimsSet claims = new IDTokenValidator(
        new Issuer(idp.issuer()), new ClientID(CLIENT_ID), JWSAlgorithm.RS256, JWKSet.load(idp.jwksUri().toURL()))
        .validate(JWTParser.parse(data.get("id-token")), null);
    assertThat(claims.getSubject().getValue()).isEqualTo("sub-alice");
    Instant exp = claims.getExpirationTime().toInstant();
    assertThat(data.get("expiry")).matches(RFC3339);
    assertThat(Instant.parse(data.get("expiry"))).isEqualTo(exp);
    assertThat(Instant.parse(status.getTokenExpiresAt())).isEqualTo(exp);
    assertThat(secret.getMetadata().getLabels()).containsAllEntriesOf(Map.of(
        "app.kubernetes.io/managed-by", "devicelogin-operator",
        "devicelogin.io/username", "alice-example-com"));
    assertThat(secret.getMetadata().getAnnotations()).containsAllEntriesOf(Map.of(
        "devicelogin.io/username", "alice@example.com",
        "devicelogin.io/subject", "sub-alice",
        "devicelogin.io/devicelogin", "alice"));
    assertThat(secret.getMetadata().getOwnerReferences()).extracting(OwnerReference::getUid)
        .as("deletionPolicy Delete (the default): owned by the DeviceLogin").containsExactly(done.getMetadata().getUid());

    await().atMost(Duration.ofSeconds(10))
        .until(() -> client.secrets().inNamespace(ns).withName("devicelogin-grant-alice").get() == null);
    assertThat(login.tooEarlyPolls()).isZero();
    List<RecordedRequest> polls = forDeviceCode(login);
    assertThat(polls).hasSize(login.pollCount());
    assertThat(polls).allSatisfy(p -> {
      assertThat(p.method()).isEqualTo("POST");
      assertThat(p.param("grant_type")).isEqualTo(DEVICE_CODE_GRANT);
      assertThat(p.param("client_id")).isEqualTo(CLIENT_ID);
    });
    assertThat(events(client, ns, "alice")).extracting(Event::getReason)
        .containsExactlyInAnyOrder("LoginStarted", "LoginSucceeded");
    assertThat(events(client, ns, "alice")).extracting(Event::getType).containsOnly("Normal");
    String metrics = fixture.operator().scrapeMetrics();
    assertThat(metrics)
        .contains("devicelogin_idp_requests_total{endpoint=\"discovery\",outcome=\"success\"}")
        .contains("devicelogin_idp_requests_total{endpoint=\"device_authorization\",outcome=\"success\"}")
        .contains("devicelogin_idp_requests_total{endpoint=\"token\",outcome=\"error\"}")
        .contains("devicelogin_idp_requests_total{endpoint=\"token\",outcome=\"success\"}")
        .contains("devicelogin_idp_requests_total{endpoint=\"jwks\",outcome=\"success\"}")
        .contains("devicelogin_logins_total{result=\"Ready\"}");
  }

  // ---- 2. slow_down

  @Test
  void slowDownAddsFiveSecondsToEveryLaterPoll() {
    String ns = "slow";
    provider(ns, "corp");
    client.resource(Resources.deviceLogin(ns, "alice", "corp")).create();
    DeviceLogin awaiting = awaitLogin(client, ns, "alice", phase(Phase.AwaitingUser));
    Login login = idp.login(awaiting.getStatus().getUserCode());
    await().atMost(Duration.ofSeconds(10)).until(() -> login.pollCount() >= 1);

    int slowDownPoll = login.pollCount(); // the next poll is answered slow_down
    login.slowDown();
    DeviceLogin slower = awaitLogin(client, ns, "alice", dl -> Integer.valueOf(6).equals(dl.getStatus().getPollInterval()));
    assertThat(slower.getStatus().getPhase()).isEqualTo(Phase.AwaitingUser);
    assertThat(slower.getStatus().getUserCode()).isEqualTo(login.userCode());
    assertThat(ready(slower).getReason()).isEqualTo("AuthorizationPending");
    await().atMost(Duration.ofSeconds(15)).until(() -> login.pollCount() >= slowDownPoll + 2);
    assertThat(Logins.get(client, ns, "alice").getStatus().getPollInterval()).isEqualTo(6);

    login.approve(Claims.user("alice"));
    awaitLogin(client, ns, "alice", phase(Phase.Ready));
    List<Instant> times = login.pollTimes();
    assertThat(times).as("the slow_down poll, a pending poll and the approved poll").hasSizeGreaterThanOrEqualTo(
        slowDownPoll + 3);
    for (int i = slowDownPoll; i + 1 < times.size(); i++) {
      assertThat(Duration.between(times.get(i), times.get(i + 1)))
          .as("poll %d→%d after slow_down", i, i + 1).isGreaterThanOrEqualTo(Duration.ofSeconds(6));
    }
    assertThat(login.currentInterval()).as("only the one slow_down was sent").isEqualTo(Duration.ofSeconds(6));
    assertThat(login.tooEarlyPolls()).isZero();
  }

  @Test
  void anIdpThatEnforcesTheIntervalNeverSeesATooEarlyPoll() {
    String ns = "enforced";
    idp.enforceSlowDown(true);
    try {
      provider(ns, "corp");
      client.resource(Resources.deviceLogin(ns, "alice", "corp")).create();
      Login login = idp.login(awaitLogin(client, ns, "alice", phase(Phase.AwaitingUser)).getStatus().getUserCode());
      await().atMost(Duration.ofSeconds(10)).until(() -> login.pollCount() >= 4);
      login.approve(Claims.user("alice"));
      DeviceLogin done = awaitLogin(client, ns, "alice", phase(Phase.Ready));
      assertThat(login.tooEarlyPolls()).isZero();
      assertThat(login.currentInterval()).as("no slow_down was ever needed").isEqualTo(Duration.ofSeconds(1));
      assertThat(done.getStatus().getSecretName()).isEqualTo("oidc-alice-example-com");
    } finally {
      idp.enforceSlowDown(false);
    }
  }

  // ---- 3. Dex answers authorization_pending with 401

  @Test
  void authorizationPendingWithHttp401IsStillPending() {
    String ns = "dex";
    provider(ns, "corp");
    client.resource(Resources.deviceLogin(ns, "alice", "corp")).create();
    Login login = idp.login(awaitLogin(client, ns, "alice", phase(Phase.AwaitingUser)).getStatus().getUserCode());
    login.pendingAs401();
    int before = login.pollCount();
    await().atMost(Duration.ofSeconds(10)).until(() -> login.pollCount() >= before + 3);

    DeviceLogin waiting = Logins.get(client, ns, "alice");
    assertThat(waiting.getStatus().getPhase()).isEqualTo(Phase.AwaitingUser);
    assertThat(ready(waiting).getReason()).isEqualTo("AuthorizationPending");
    assertThat(waiting.getStatus().getUserCode()).isEqualTo(login.userCode());
    assertThat(events(client, ns, "alice")).extracting(Event::getType).containsOnly("Normal");

    login.approve(Claims.user("alice"));
    DeviceLogin done = awaitLogin(client, ns, "alice", phase(Phase.Ready));
    assertThat(ready(done).getReason()).isEqualTo("Issued");
    assertThat(login.tooEarlyPolls()).isZero();
  }

  // ---- 4. the login ends without tokens

  @Test
  void accessDeniedEndsDenied() {
    String ns = "denied";
    provider(ns, "corp");
    client.resource(Resources.deviceLogin(ns, "alice", "corp")).create();
    Login login = idp.login(awaitLogin(client, ns, "alice", phase(Phase.AwaitingUser)).getStatus().getUserCode());
    login.deny();
    DeviceLogin denied = awaitLogin(client, ns, "alice", phase(Phase.Denied));
    assertThat(ready(denied).getStatus()).isEqualTo("False");
    assertThat(ready(denied).getReason()).isEqualTo("AccessDenied");
    assertThat(ready(denied).getMessage()).contains("denied");
    assertEndedWithoutSecret(ns, "alice", login);
    assertNoMorePolls(login);
    assertThat(events(client, ns, "alice")).filteredOn(e -> "Warning".equals(e.getType()))
        .extracting(Event::getReason).containsExactly("AccessDenied");
    assertThat(fixture.operator().scrapeMetrics()).contains("devicelogin_logins_total{result=\"Denied\"}");
  }

  @Test
  void expiredTokenFromTheIdpEndsExpired() {
    String ns = "expired";
    provider(ns, "corp");
    client.resource(Resources.deviceLogin(ns, "alice", "corp")).create();
    Login login = idp.login(awaitLogin(client, ns, "alice", phase(Phase.AwaitingUser)).getStatus().getUserCode());
    login.expire();
    DeviceLogin expired = awaitLogin(client, ns, "alice", phase(Phase.Expired));
    assertThat(ready(expired).getReason()).isEqualTo("ExpiredToken");
    assertThat(ready(expired).getStatus()).isEqualTo("False");
    assertEndedWithoutSecret(ns, "alice", login);
    assertNoMorePolls(login);
    assertThat(fixture.operator().scrapeMetrics()).contains("devicelogin_logins_total{result=\"Expired\"}");
  }

  @Test
  void aCodePastItsExpiryEndsExpiredWithoutTheIdpSayingSo() {
    String ns = "expiring";
    provider(ns, "corp");
    Login login;
    idp.expiresIn(3).interval(2);
    try {
      client.resource(Resources.deviceLogin(ns, "alice", "corp")).create();
      login = idp.login(awaitLogin(client, ns, "alice", phase(Phase.AwaitingUser)).getStatus().getUserCode());
    } finally {
      idp.expiresIn(600).interval(1);
    }
    DeviceLogin expired = awaitLogin(client, ns, "alice", phase(Phase.Expired), Duration.ofSeconds(10));
    Instant endedAt = Instant.now();
    assertThat(ready(expired).getReason()).isEqualTo("ExpiredToken");
    assertThat(ready(expired).getMessage()).contains("expired");
    assertThat(endedAt).as("ends at the code's expiry, not long after").isBefore(login.expiresAt().plusSeconds(3));
    assertThat(login.pollCount()).as("it did poll while the code was valid").isGreaterThanOrEqualTo(1);
    assertThat(login.pollTimes()).as("no poll after expires_in, so the IdP never answered expired_token")
        .allMatch(t -> t.isBefore(login.expiresAt()));
    assertEndedWithoutSecret(ns, "alice", login);
    assertNoMorePolls(login);
  }

  // ---- 5. defective token responses

  @Test
  void defectiveIdTokensAndMalformedResponsesFailWithoutASecret() {
    String ns = "defects";
    provider(ns, "corp");
    Map<String, TokenVariant> variants = new LinkedHashMap<>();
    variants.put("bad-signature", TokenVariant.BAD_SIGNATURE);
    variants.put("unknown-key", TokenVariant.UNKNOWN_KEY);
    variants.put("wrong-issuer", TokenVariant.WRONG_ISSUER);
    variants.put("wrong-audience", TokenVariant.WRONG_AUDIENCE);
    variants.put("expired", TokenVariant.EXPIRED);
    variants.put("future", TokenVariant.ISSUED_IN_FUTURE);
    variants.put("no-id-token", TokenVariant.NO_ID_TOKEN);
    List<String> names = new ArrayList<>(variants.keySet());
    names.add("malformed-json");
    for (String name : names) {
      client.resource(Resources.deviceLogin(ns, name, "corp")).create();
    }
    Map<String, Login> logins = new LinkedHashMap<>();
    for (String name : names) {
      logins.put(name, idp.login(awaitLogin(client, ns, name, phase(Phase.AwaitingUser)).getStatus().getUserCode()));
    }
    variants.forEach((name, variant) -> logins.get(name).approve(Claims.user(name), variant));
    logins.get("malformed-json").respondWith(200, "application/json", "{\"access_token\": \"abc\", \"token_type\":");

    Map<String, String> expectedInMessage = Map.of(
        "wrong-issuer", "issuer",
        "wrong-audience", "audience",
        "expired", "expired",
        "no-id-token", "id_token");
    for (String name : names) {
      DeviceLogin failed = awaitLogin(client, ns, name, phase(Phase.Failed));
      Condition condition = ready(failed);
      assertThat(condition.getReason()).as(name).isEqualTo("InvalidTokenResponse");
      assertThat(condition.getStatus()).as(name).isEqualTo("False");
      assertThat(condition.getMessage()).as(name).contains("No Secret was written");
      if (expectedInMessage.containsKey(name)) {
        assertThat(condition.getMessage()).as(name).containsIgnoringCase(expectedInMessage.get(name));
      }
      assertEndedWithoutSecret(ns, name, logins.get(name));
      assertThat(events(client, ns, name)).filteredOn(e -> "Warning".equals(e.getType()))
          .extracting(Event::getReason).as(name).containsExactly("InvalidTokenResponse");
    }
    assertNoMorePolls(logins.values().toArray(Login[]::new));
    assertThat(client.secrets().inNamespace(ns).list().getItems())
        .as("no token Secret for any defective response").noneMatch(s -> "devicelogin.io/oidc-tokens".equals(s.getType()));
    assertThat(fixture.operator().scrapeMetrics())
        .contains("devicelogin_idp_requests_total{endpoint=\"token\",outcome=\"invalid\"}")
        .contains("devicelogin_logins_total{result=\"Failed\"}");
  }

  // ---- 6. the IdP is down or answers garbage while the login waits

  @Test
  void idpDownWhilePollingKeepsTheLoginAndItCompletesOnceTheIdpIsBack() {
    String ns = "down";
    provider(ns, "corp");
    Instant started = Instant.now();
    client.resource(Resources.deviceLogin(ns, "alice", "corp")).create();
    DeviceLogin awaiting = awaitLogin(client, ns, "alice", phase(Phase.AwaitingUser));
    Login login = idp.login(awaiting.getStatus().getUserCode());
    await().atMost(Duration.ofSeconds(10)).until(() -> login.pollCount() >= 1);

    idp.down();
    DeviceLogin degraded;
    try {
      degraded = awaitLogin(client, ns, "alice", reason("IdPUnavailable"), Duration.ofSeconds(10));
      assertThat(degraded.getStatus().getPhase()).isEqualTo(Phase.AwaitingUser);
      assertThat(degraded.getStatus().getUserCode()).isEqualTo(login.userCode());
      assertThat(degraded.getStatus().getVerificationUri()).isEqualTo(awaiting.getStatus().getVerificationUri());
      assertThat(degraded.getStatus().getExpiresAt()).isEqualTo(awaiting.getStatus().getExpiresAt());
      assertThat(ready(degraded).getMessage()).contains("unavailable").contains(login.userCode());
    } finally {
      idp.up();
    }
    awaitLogin(client, ns, "alice", reason("AuthorizationPending"), Duration.ofSeconds(15));
    login.approve(Claims.user("alice"));
    DeviceLogin done = awaitLogin(client, ns, "alice", phase(Phase.Ready));
    assertThat(done.getStatus().getSecretName()).isEqualTo("oidc-alice-example-com");
    assertThat(requestsSince(idp.deviceAuthorizationEndpoint(), started))
        .as("the same grant throughout: no second device authorization").hasSize(1);
    assertThat(fixture.operator().scrapeMetrics()).contains("devicelogin_idp_requests_total{endpoint=\"token\",outcome=\"unavailable\"}");
  }

  @Test
  void serverErrorsAndHtmlPagesFromTheTokenEndpointKeepPolling() {
    String ns = "html";
    provider(ns, "corp");
    client.resource(Resources.deviceLogin(ns, "alice", "corp")).create();
    Login login = idp.login(awaitLogin(client, ns, "alice", phase(Phase.AwaitingUser)).getStatus().getUserCode());
    int before = login.pollCount();
    login.respondWith(503, "text/html; charset=UTF-8", "<html><body><h1>503 Service Unavailable</h1></body></html>")
        .respondWith(502, "text/plain", "Bad Gateway")
        .respondWith(403, "text/html", "<html><body>Request blocked by the web application firewall</body></html>");

    DeviceLogin degraded = awaitLogin(client, ns, "alice", reason("IdPUnavailable"), Duration.ofSeconds(10));
    assertThat(degraded.getStatus().getPhase()).isEqualTo(Phase.AwaitingUser);
    assertThat(degraded.getStatus().getUserCode()).isEqualTo(login.userCode());
    await().atMost(Duration.ofSeconds(20)).until(() -> login.pollCount() >= before + 4);
    DeviceLogin recovered = awaitLogin(client, ns, "alice", reason("AuthorizationPending"));
    assertThat(recovered.getStatus().getPhase()).isEqualTo(Phase.AwaitingUser);
    assertThat(recovered.getStatus().getUserCode()).isEqualTo(login.userCode());

    login.approve(Claims.user("alice"));
    awaitLogin(client, ns, "alice", phase(Phase.Ready));
    assertThat(login.tooEarlyPolls()).isZero();
  }

  // ---- 7. identity binding and naming

  @Test
  void someoneOtherThanSpecUserFailsWithIdentityMismatch() {
    String ns = "mismatch";
    provider(ns, "corp");
    DeviceLogin wanted = Resources.deviceLogin(ns, "bob", "corp");
    wanted.getSpec().setUser("bob@example.com");
    client.resource(wanted).create();
    Login login = idp.login(awaitLogin(client, ns, "bob", phase(Phase.AwaitingUser)).getStatus().getUserCode());
    login.approve(Claims.user("mallory"));
    DeviceLogin failed = awaitLogin(client, ns, "bob", phase(Phase.Failed));
    assertThat(ready(failed).getReason()).isEqualTo("IdentityMismatch");
    assertThat(ready(failed).getMessage()).contains("mallory@example.com").contains("bob@example.com");
    assertEndedWithoutSecret(ns, "bob", login);
    assertNoMorePolls(login);
    assertThat(client.secrets().inNamespace(ns).withName("oidc-mallory-example-com").get()).isNull();
  }

  @Test
  void aUserInNoneOfTheAllowedGroupsFailsWithGroupNotAllowed() {
    String ns = "groups";
    IdentityProvider restricted = Resources.anyUser(Resources.identityProvider(ns, "corp", idp.issuer(), CLIENT_ID));
    restricted.getSpec().setAllowedGroups(List.of("admins", "sre"));
    client.resource(restricted).create();
    client.resource(Resources.deviceLogin(ns, "dev", "corp")).create();
    client.resource(Resources.deviceLogin(ns, "admin", "corp")).create();
    Login dev = idp.login(awaitLogin(client, ns, "dev", phase(Phase.AwaitingUser)).getStatus().getUserCode());
    Login admin = idp.login(awaitLogin(client, ns, "admin", phase(Phase.AwaitingUser)).getStatus().getUserCode());
    dev.approve(Claims.user("dave").groups("developers"));
    admin.approve(Claims.user("ann").groups("developers", "sre"));

    DeviceLogin failed = awaitLogin(client, ns, "dev", phase(Phase.Failed));
    assertThat(ready(failed).getReason()).isEqualTo("GroupNotAllowed");
    assertThat(ready(failed).getMessage()).contains("dave@example.com").contains("admins");
    assertEndedWithoutSecret(ns, "dev", dev);
    assertThat(client.secrets().inNamespace(ns).withName("oidc-dave-example-com").get()).isNull();
    DeviceLogin allowed = awaitLogin(client, ns, "admin", phase(Phase.Ready));
    assertThat(allowed.getStatus().getIdentity().getGroups()).containsExactly("developers", "sre");
  }

  @Test
  void usernameClaimNamesTheSecret() {
    String ns = "claims";
    IdentityProvider provider = Resources.anyUser(Resources.identityProvider(ns, "corp", idp.issuer(), CLIENT_ID));
    provider.getSpec().setUsernameClaim("preferred_username");
    client.resource(provider).create();
    client.resource(Resources.deviceLogin(ns, "carol", "corp")).create();
    Login login = idp.login(awaitLogin(client, ns, "carol", phase(Phase.AwaitingUser)).getStatus().getUserCode());
    login.approve(Claims.user("Carol.Jones"));
    DeviceLogin done = awaitLogin(client, ns, "carol", phase(Phase.Ready));
    assertThat(done.getStatus().getSecretName()).isEqualTo("oidc-carol-jones");
    assertThat(done.getStatus().getIdentity().getUsername()).isEqualTo("Carol.Jones");
    Secret secret = client.secrets().inNamespace(ns).withName("oidc-carol-jones").get();
    assertThat(secret).isNotNull();
    assertThat(secret.getMetadata().getLabels()).containsEntry("devicelogin.io/username", "carol-jones");
    assertThat(secret.getMetadata().getAnnotations()).containsEntry("devicelogin.io/username", "Carol.Jones");
  }

  @Test
  void specSecretNameAndScopesAreHonoured() {
    String ns = "overrides";
    IdentityProvider provider = Resources.anyUser(Resources.identityProvider(ns, "corp", idp.issuer(), CLIENT_ID));
    provider.getSpec().setAllowedScopes(List.of("groups"));
    client.resource(provider).create();
    Instant started = Instant.now();
    DeviceLogin wanted = Resources.deviceLogin(ns, "erin", "corp");
    wanted.getSpec().setSecretName("my-kubeconfig-tokens");
    wanted.getSpec().setScopes(List.of("openid", "email", "groups"));
    client.resource(wanted).create();
    Login login = idp.login(awaitLogin(client, ns, "erin", phase(Phase.AwaitingUser)).getStatus().getUserCode());
    assertThat(login.scope()).isEqualTo("openid email groups");
    assertThat(only(requestsSince(idp.deviceAuthorizationEndpoint(), started)).param("scope"))
        .isEqualTo("openid email groups");
    login.approve(Claims.user("erin"));
    DeviceLogin done = awaitLogin(client, ns, "erin", phase(Phase.Ready));
    assertThat(done.getStatus().getSecretName()).isEqualTo("my-kubeconfig-tokens");
    Secret secret = client.secrets().inNamespace(ns).withName("my-kubeconfig-tokens").get();
    assertThat(secret.getType()).isEqualTo("devicelogin.io/oidc-tokens");
    assertThat(secret.getMetadata().getAnnotations()).containsEntry("devicelogin.io/devicelogin", "erin");
    assertThat(client.secrets().inNamespace(ns).withName("oidc-erin-example-com").get()).isNull();
  }

  // ---- 8. confidential clients

  @Test
  void aConfidentialClientAuthenticatesItsDeviceAndTokenRequests() {
    String ns = "confidential";
    String clientSecret = "s3cret-" + java.util.UUID.randomUUID();
    clientSecrets.add(clientSecret);
    idp.requireClientSecret("private-cli", clientSecret);
    client.resource(Resources.clientSecret(ns, "corp-client", "client-secret", clientSecret)).create();
    IdentityProvider provider = Resources.anyUser(Resources.identityProvider(ns, "corp", idp.issuer(), "private-cli"));
    provider.getSpec().setClientSecretRef(new SecretKeyReference("corp-client", "client-secret"));
    client.resource(provider).create();
    awaitProviderReady(ns, "corp", "True");

    Instant started = Instant.now();
    client.resource(Resources.deviceLogin(ns, "alice", "corp")).create();
    Login login = idp.login(awaitLogin(client, ns, "alice", phase(Phase.AwaitingUser)).getStatus().getUserCode());
    assertThat(login.clientId()).isEqualTo("private-cli");
    login.approve(Claims.user("alice"));
    DeviceLogin done = awaitLogin(client, ns, "alice", phase(Phase.Ready));
    assertThat(decode(client.secrets().inNamespace(ns).withName(done.getStatus().getSecretName()).get()))
        .containsEntry("client-id", "private-cli")
        .doesNotContainValue(clientSecret);

    String basic = new ClientSecretBasic(new ClientID("private-cli"), new com.nimbusds.oauth2.sdk.auth.Secret(clientSecret))
        .toHTTPAuthorizationHeader();
    List<RecordedRequest> authenticated = new ArrayList<>();
    authenticated.add(only(requestsSince(idp.deviceAuthorizationEndpoint(), started)));
    authenticated.addAll(forDeviceCode(login));
    assertThat(authenticated).hasSizeGreaterThanOrEqualTo(2);
    assertThat(authenticated).allSatisfy(r -> assertThat(r.authorization()).isEqualTo(basic));
  }

  @Test
  void aMissingClientSecretKeepsTheLoginPendingUntilTheSecretExists() {
    String ns = "nosecret";
    String clientSecret = "later-" + java.util.UUID.randomUUID();
    clientSecrets.add(clientSecret);
    idp.requireClientSecret("late-cli", clientSecret);
    IdentityProvider provider = Resources.anyUser(Resources.identityProvider(ns, "corp", idp.issuer(), "late-cli"));
    provider.getSpec().setClientSecretRef(new SecretKeyReference("corp-client", "client-secret"));
    client.resource(provider).create();
    client.resource(Resources.deviceLogin(ns, "alice", "corp")).create();

    Condition providerReady = awaitProviderReady(ns, "corp", "False");
    assertThat(providerReady.getReason()).isEqualTo("ClientSecretNotAllowed");
    assertThat(providerReady.getMessage()).contains("nosecret/corp-client").contains("clientSecretRef");
    DeviceLogin pending = awaitLogin(client, ns, "alice", phase(Phase.Pending));
    assertThat(ready(pending).getReason()).isEqualTo("ProviderNotReady");
    assertThat(ready(pending).getMessage()).contains("corp-client").contains("is not available");
    assertThat(pending.getStatus().getUserCode()).isNull();
    assertThat(idp.logins()).noneMatch(l -> l.clientId().equals("late-cli"));

    // The DeviceLogin looks at its provider again every 10 s, so it proceeds without waiting for the provider's own
    // re-check (2 min for a misconfigured provider).
    client.resource(Resources.clientSecret(ns, "corp-client", "client-secret", clientSecret)).create();
    DeviceLogin awaiting = awaitLogin(client, ns, "alice", phase(Phase.AwaitingUser), Duration.ofSeconds(25));
    Login login = idp.login(awaiting.getStatus().getUserCode());
    assertThat(login.clientId()).isEqualTo("late-cli");
    login.approve(Claims.user("alice"));
    awaitLogin(client, ns, "alice", phase(Phase.Ready));
  }

  // ---- helpers

  private static void provider(String namespace, String name) {
    client.resource(Resources.anyUser(Resources.identityProvider(namespace, name, idp.issuer(), CLIENT_ID))).create();
  }


  private static Condition awaitProviderReady(String namespace, String name, String status) {
    IdentityProvider provider = await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(
        () -> client.resources(IdentityProvider.class).inNamespace(namespace).withName(name).get(),
        p -> p.getStatus() != null && Conditions.find(p.getStatus().getConditions(), Constants.READY) != null
            && status.equals(Conditions.find(p.getStatus().getConditions(), Constants.READY).getStatus()));
    return Conditions.find(provider.getStatus().getConditions(), Constants.READY);
  }

  /** A login that ended without tokens: user code cleared, no Secret named, the grant Secret removed. */
  private static void assertEndedWithoutSecret(String namespace, String name, Login login) {
    DeviceLogin ended = Logins.get(client, namespace, name);
    assertThat(ended.getStatus().getUserCode()).as(name + " user code").isNull();
    assertThat(ended.getStatus().getVerificationUri()).as(name + " verification URI").isNull();
    assertThat(ended.getStatus().getSecretName()).as(name + " secret name").isNull();
    assertThat(ended.getStatus().getIdentity()).as(name + " identity").isNull();
    assertThat(client.secrets().inNamespace(namespace).list().getItems())
        .as("token Secrets written for " + name)
        .noneMatch(s -> "devicelogin.io/oidc-tokens".equals(s.getType()) && s.getMetadata().getAnnotations() != null
            && name.equals(s.getMetadata().getAnnotations().get("devicelogin.io/devicelogin")));
    await().atMost(Duration.ofSeconds(10))
        .until(() -> client.secrets().inNamespace(namespace).withName("devicelogin-grant-" + name).get() == null);
  }

  /** None of these ended logins is polled again. */
  private static void assertNoMorePolls(Login... ended) {
    int[] counts = java.util.Arrays.stream(ended).mapToInt(Login::pollCount).toArray();
    await().during(Duration.ofMillis(2500)).atMost(Duration.ofSeconds(4)).until(() ->
        java.util.Arrays.equals(counts, java.util.Arrays.stream(ended).mapToInt(Login::pollCount).toArray()));
  }

  /** The token polls that presented this login's device code. */
  private static List<RecordedRequest> forDeviceCode(Login login) {
    return idp.requestsTo(idp.tokenEndpoint()).stream()
        .filter(r -> login.deviceCode().equals(r.param("device_code"))).toList();
  }

  /** The requests to {@code endpoint} that arrived at or after {@code since}. */
  private static List<RecordedRequest> requestsSince(java.net.URI endpoint, Instant since) {
    return idp.requestsTo(endpoint).stream().filter(r -> !r.time().isBefore(since)).toList();
  }

  private static <T> T only(List<T> items) {
    assertThat(items).hasSize(1);
    return items.get(0);
  }

  private static Map<String, String> decode(Secret secret) {
    Map<String, String> decoded = new LinkedHashMap<>();
    secret.getData().forEach((k, v) -> decoded.put(k, new String(Base64.getDecoder().decode(v), StandardCharsets.UTF_8)));
    return decoded;
  }
}
