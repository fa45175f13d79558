package io.devicelogin.operator.reconciler;

import static io.devicelogin.operator.testing.Logins.phase;
import static io.devicelogin.operator.testing.Logins.ready;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.devicelogin.operator.api.v1alpha1.Condition;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.idp.IdpException;
import io.devicelogin.operator.idp.IssuedTokens;
import io.devicelogin.operator.idp.TokenPollResult;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.devicelogin.operator.testing.ScriptedIdp;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The DeviceLogin reconciler against the mock API server with an in-memory IdP double: the orchestration, crash
 * safety and status writes. Protocol details are covered against a real HTTP IdP elsewhere.
 */
class DeviceLoginReconcilerIT {

  private static final String NS = "team-a";
  private static final Duration INTERVAL = Duration.ofSeconds(1);

  private KubernetesClient client;
  private ScriptedIdp idp;
  private OperatorFixture fixture;
  private final List<String> issuedSecrets = new ArrayList<>();

  @BeforeEach
  void start() {
    idp = new ScriptedIdp(Clock.systemUTC(), INTERVAL);
    fixture = OperatorFixture.start(metrics -> idp);
    client = fixture.client();
    client.resource(Resources.anyUser(Resources.identityProvider(NS, "corp", "http://127.0.0.1:1/realms/x", "cli"))).create();
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
  void loginGoesFromAwaitingUserToReadyAndWritesTheSecret() {
    client.resource(Resources.deviceLogin(NS, "alice", "corp")).create();
    DeviceLogin awaiting = awaitLogin("alice", phase(Phase.AwaitingUser));
    assertThat(awaiting.getStatus().getUserCode()).isEqualTo("CODE-0001");
    assertThat(awaiting.getStatus().getVerificationUri()).isEqualTo("http://127.0.0.1:1/realms/x/device");
    assertThat(awaiting.getStatus().getPollInterval()).isEqualTo(1);
    assertThat(ready(awaiting).getReason()).isEqualTo("AuthorizationPending");
    assertThat(client.secrets().inNamespace(NS).withName("devicelogin-grant-alice").get())
        .as("the device code is stored before the user code is published").isNotNull();

    idp.script(1, issued("alice@example.com", "developers"));
    DeviceLogin done = awaitLogin("alice", phase(Phase.Ready));
    assertThat(done.getStatus().getUserCode()).isNull();
    assertThat(done.getStatus().getVerificationUri()).isNull();
    assertThat(done.getStatus().getSecretName()).isEqualTo("oidc-alice-example-com");
    assertThat(done.getStatus().getIdentity().getUsername()).isEqualTo("alice@example.com");
    assertThat(done.getStatus().getIdentity().getGroups()).containsExactly("developers");
    assertThat(done.getStatus().getTokenExpiresAt()).isNotNull();
    assertThat(ready(done).getStatus()).isEqualTo("True");
    assertThat(ready(done).getReason()).isEqualTo("Issued");
    Secret secret = client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get();
    assertThat(secret.getType()).isEqualTo("devicelogin.io/oidc-tokens");
    assertThat(secret.getData()).containsKeys("id-token", "access-token", "refresh-token", "expiry",
        "idp-issuer-url", "client-id");
    await().atMost(Duration.ofSeconds(10))
        .until(() -> client.secrets().inNamespace(NS).withName("devicelogin-grant-alice").get() == null);
    assertThat(idp.grantsStarted()).isEqualTo(1);
    assertThat(client.v1().events().inNamespace(NS).list().getItems())
        .extracting(e -> e.getReason()).contains("LoginStarted", "LoginSucceeded");
    assertThat(fixture.operator().scrapeMetrics())
        .contains("devicelogin_logins_total{result=\"Ready\"} 1.0")
        .contains("devicelogin_ready_status{condition=\"True\",name=\"alice\",namespace=\"team-a\"} 1.0")
        .contains("devicelogin_ready_status{condition=\"False\",name=\"alice\",namespace=\"team-a\"} 0.0");
  }

  /**
   * Issue #11, memory: tokens the API server refuses for good to store (here a 422 on every create of the token
   * Secret, as an admission policy or a too-large object would) are not held in memory for ever: after
   * MAX_REFUSED_WRITES refusals they are dropped, their refresh token revoked, and the login ends with a reason.
   */
  @Test
  void tokensTheApiServerRefusesForGoodToStoreAreDroppedAndRevoked() {
    fixture.cluster().faults().fail("token Secret create refused", r -> "POST".equals(r.method()) && r.isSecret()
        && !r.fromTest() && r.bodyContains("\"devicelogin.io/oidc-tokens\""), 422, 100);
    client.resource(Resources.deviceLogin(NS, "alice", "corp")).create();
    awaitLogin("alice", phase(Phase.AwaitingUser));
    TokenPollResult.Issued tokens = (TokenPollResult.Issued) issued("alice@example.com", "developers");
    idp.script(1, tokens);

    DeviceLogin failed = Logins.awaitLogin(client, NS, "alice", phase(Phase.Failed), Duration.ofSeconds(40));

    assertThat(ready(failed).getReason()).isEqualTo("SecretWriteRefused");
    assertThat(ready(failed).getMessage()).contains("refused to store the tokens in Secret oidc-alice-example-com 3 "
        + "times (HTTP 422", "revoked");
    assertThat(idp.revoked()).containsExactly(tokens.tokens().refreshToken());
    assertThat(client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get()).isNull();
    assertThat(fixture.cluster().requests()).filteredOn(r -> r.injected() && r.isSecret()).hasSize(3);
  }

  @Test
  void operatorRestartedWhileALoginWaitsContinuesTheSameGrant() {
    client.resource(Resources.deviceLogin(NS, "alice", "corp")).create();
    String userCode = awaitLogin("alice", phase(Phase.AwaitingUser)).getStatus().getUserCode();
    await().atMost(Duration.ofSeconds(10)).until(() -> idp.pollTimes(1).size() >= 2);

    fixture.stopOperator();
    Instant restarted = Instant.now();
    fixture.startOperator();

    await().atMost(Duration.ofSeconds(10)).until(() -> idp.pollTimes(1).stream().anyMatch(restarted::isBefore));
    Instant firstAfterRestart = idp.pollTimes(1).stream().filter(restarted::isBefore).findFirst().orElseThrow();
    assertThat(Duration.between(restarted, firstAfterRestart))
        .as("after a restart the first poll still waits a full interval").isGreaterThanOrEqualTo(INTERVAL);
    idp.script(1, issued("alice@example.com", "developers"));
    DeviceLogin done = awaitLogin("alice", phase(Phase.Ready));
    assertThat(done.getStatus().getSecretName()).isEqualTo("oidc-alice-example-com");
    assertThat(idp.grantsStarted()).as("no second device grant").isEqualTo(1);
    assertThat(userCode).isEqualTo("CODE-0001");
  }

  @Test
  void tokensWrittenBeforeACrashAreRecordedAfterRestartWithoutPollingAgain() {
    client.resource(Resources.deviceLogin(NS, "alice", "corp")).create();
    awaitLogin("alice", phase(Phase.AwaitingUser));
    fixture.stopOperator();
    // Simulate a crash after the token Secret write and before the status write: write the Secret as the operator
    // would have, naming the grant it came from.
    DeviceLogin login = get("alice");
    var grant = new io.devicelogin.operator.secret.GrantStore(client, new io.devicelogin.operator.testing.ApiSecrets(client)).find(login).orElseThrow();
    IssuedTokens tokens = ScriptedIdp.tokens("alice@example.com", "developers", Duration.ofMinutes(5));
    issuedSecrets.addAll(List.of(tokens.idToken(), tokens.accessToken(), tokens.refreshToken()));
    var config = new io.devicelogin.operator.idp.ProviderConfig(
        java.net.URI.create(grant.issuerUrl()), grant.clientId(), null, null, List.of("openid"));
    var identity = new io.devicelogin.operator.api.v1alpha1.Identity(
        "alice@example.com", "sub-alice@example.com", "alice@example.com", List.of("developers"));
    new io.devicelogin.operator.secret.TokenSecrets(client, new io.devicelogin.operator.testing.ApiSecrets(client)).write(io.devicelogin.operator.secret.TokenSecrets.build(
        login, "oidc-alice-example-com", config, identity, tokens, grant.id()), null);
    int pollsBefore = idp.pollTimes(1).size();

    fixture.startOperator();
    DeviceLogin done = awaitLogin("alice", phase(Phase.Ready));
    assertThat(done.getStatus().getIdentity().getUsername()).isEqualTo("alice@example.com");
    assertThat(idp.pollTimes(1)).as("the used device code is not polled again").hasSize(pollsBefore);
    assertThat(idp.grantsStarted()).isEqualTo(1);
  }

  @Test
  void failedTokenSecretWriteIsRetriedFromMemoryWithoutPollingAgain() {
    client.resource(Resources.deviceLogin(NS, "alice", "corp")).create();
    awaitLogin("alice", phase(Phase.AwaitingUser));
    // fabric8 retries 5xx by itself, so fail the write in a way that reaches the operator: a 403 (say, RBAC being
    // rolled out) on the next Secret create.
    fixture.cluster().server().expect().post().withPath("/api/v1/namespaces/" + NS + "/secrets")
        .andReturn(403, new io.fabric8.kubernetes.api.model.StatusBuilder().withCode(403).withReason("Forbidden")
            .withMessage("secrets is forbidden: the operator may not create secrets yet").build())
        .once();
    idp.script(1, issued("alice@example.com", "developers"));
    DeviceLogin done = awaitLogin("alice", phase(Phase.Ready));
    assertThat(done.getStatus().getSecretName()).isEqualTo("oidc-alice-example-com");
    assertThat(client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get()).isNotNull();
    assertThat(client.v1().events().inNamespace(NS).list().getItems())
        .extracting(e -> e.getReason()).contains("LoginSucceeded");
    assertThat(fixture.logs().text()).contains("retrying the write of Secret oidc-alice-example-com");
  }

  @Test
  void slowDownAddsFiveSecondsAndSurvivesARestart() {
    client.resource(Resources.deviceLogin(NS, "alice", "corp")).create();
    awaitLogin("alice", phase(Phase.AwaitingUser));
    idp.script(1, new TokenPollResult.SlowDown());
    awaitLogin("alice", dl -> Integer.valueOf(6).equals(dl.getStatus().getPollInterval()));
    fixture.restartOperator();
    idp.script(1, new TokenPollResult.Pending());
    await().atMost(Duration.ofSeconds(20)).until(() -> idp.pollTimes(1).size() >= 4);
    List<Instant> polls = idp.pollTimes(1);
    int slowDownAt = 1; // the poll that got slow_down
    for (int i = slowDownAt; i + 1 < polls.size(); i++) {
      assertThat(Duration.between(polls.get(i), polls.get(i + 1)))
          .as("poll %d→%d after slow_down", i, i + 1).isGreaterThanOrEqualTo(Duration.ofSeconds(6));
    }
    assertThat(get("alice").getStatus()
        .getPollInterval()).isEqualTo(6);
  }

  @Test
  void deniedExpiredAndFailedLoginsEndWithoutASecret() {
    client.resource(Resources.deviceLogin(NS, "denied", "corp")).create();
    awaitLogin("denied", phase(Phase.AwaitingUser));
    idp.script(1, new TokenPollResult.AccessDenied());
    assertThat(ready(awaitLogin("denied", phase(Phase.Denied))).getReason()).isEqualTo("AccessDenied");

    client.resource(Resources.deviceLogin(NS, "expired", "corp")).create();
    awaitLogin("expired", phase(Phase.AwaitingUser));
    idp.script(2, new TokenPollResult.ExpiredToken());
    assertThat(ready(awaitLogin("expired", phase(Phase.Expired))).getReason()).isEqualTo("ExpiredToken");

    DeviceLogin mismatch = Resources.deviceLogin(NS, "mismatch", "corp");
    mismatch.getSpec().setUser("bob@example.com");
    client.resource(mismatch).create();
    awaitLogin("mismatch", phase(Phase.AwaitingUser));
    idp.script(3, issued("alice@example.com", "developers"));
    DeviceLogin failed = awaitLogin("mismatch", phase(Phase.Failed));
    assertThat(ready(failed).getReason()).isEqualTo("IdentityMismatch");
    assertThat(ready(failed).getMessage()).contains("alice@example.com").contains("bob@example.com");

    client.resource(Resources.deviceLogin(NS, "invalid", "corp")).create();
    awaitLogin("invalid", phase(Phase.AwaitingUser));
    idp.script(4, new TokenPollResult.Invalid("the ID token was rejected: bad signature"));
    assertThat(ready(awaitLogin("invalid", phase(Phase.Failed))).getReason()).isEqualTo("InvalidTokenResponse");

    for (String name : List.of("denied", "expired", "mismatch", "invalid")) {
      DeviceLogin ended = get(name);
      assertThat(ended.getStatus().getUserCode()).as(name).isNull();
      assertThat(ended.getStatus().getSecretName()).as(name).isNull();
      await().atMost(Duration.ofSeconds(10))
          .until(() -> client.secrets().inNamespace(NS).withName("devicelogin-grant-" + name).get() == null);
    }
    assertThat(client.secrets().inNamespace(NS).withLabel("devicelogin.io/username").list().getItems())
        .as("no token Secret for any of them").isEmpty();
    assertThat(idp.grantsStarted()).isEqualTo(4);
  }

  @Test
  void userCodeThatPassesExpiresAtEndsExpiredWithoutAskingTheIdp() {
    idp.lifetime(Duration.ofSeconds(3));
    client.resource(Resources.deviceLogin(NS, "alice", "corp")).create();
    awaitLogin("alice", phase(Phase.AwaitingUser));
    DeviceLogin expired = awaitLogin("alice", phase(Phase.Expired));
    assertThat(ready(expired).getReason()).isEqualTo("ExpiredToken");
    assertThat(expired.getStatus().getUserCode()).isNull();
  }

  @Test
  void groupNotInAllowedGroupsFails() {
    IdentityProvider restricted = Resources.anyUser(Resources.identityProvider(NS, "restricted", "http://127.0.0.1:1/realms/x", "cli"));
    restricted.getSpec().setAllowedGroups(List.of("admins"));
    client.resource(restricted).create();
    client.resource(Resources.deviceLogin(NS, "alice", "restricted")).create();
    awaitLogin("alice", phase(Phase.AwaitingUser));
    idp.script(1, issued("alice@example.com", "developers"));
    DeviceLogin failed = awaitLogin("alice", phase(Phase.Failed));
    assertThat(ready(failed).getReason()).isEqualTo("GroupNotAllowed");
    assertThat(client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get()).isNull();
  }

  @Test
  void specThatBreaksTheSchemaRulesFailsWithoutStartingAGrant() {
    // The mock API server does not enforce the CRD schema, like an API server that skipped admission validation.
    DeviceLogin login = Resources.deviceLogin(NS, "alice", "corp");
    login.getSpec().setSecretName("Not_A_Secret_Name");
    client.resource(login).create();
    DeviceLogin failed = awaitLogin("alice", phase(Phase.Failed));
    assertThat(ready(failed).getReason()).isEqualTo("InvalidSpec");
    assertThat(ready(failed).getMessage()).contains("spec.secretName 'Not_A_Secret_Name' is not a valid Secret name");
    assertThat(idp.grantsStarted()).isZero();

    login = get("alice");
    login.getSpec().setSecretName("alice-tokens");
    client.resource(login).update();
    awaitLogin("alice", phase(Phase.AwaitingUser));
    idp.script(1, issued("alice@example.com", "developers"));
    assertThat(awaitLogin("alice", phase(Phase.Ready)).getStatus().getSecretName()).isEqualTo("alice-tokens");
  }

  @Test
  void missingProviderIsReportedAndTheLoginStartsOnceItExists() {
    client.resource(Resources.deviceLogin(NS, "alice", "later")).create();
    DeviceLogin pending = awaitLogin("alice", phase(Phase.Pending));
    assertThat(ready(pending).getReason()).isEqualTo("ProviderNotReady");
    assertThat(ready(pending).getMessage()).contains("IdentityProvider later in namespace team-a does not exist");
    client.resource(Resources.anyUser(Resources.identityProvider(NS, "later", "http://127.0.0.1:1/realms/x", "cli"))).create();
    // The provider's creation wakes the login (the operator watches providers); without that it would wait for the
    // next look, PROVIDER_RECHECK (10 s) later.
    await().atMost(Login.PROVIDER_RECHECK.dividedBy(2))
        .until(() -> get("alice").getStatus().getPhase() == Phase.AwaitingUser);
  }

  @Test
  void idpUnavailableWhenStartingKeepsTheLoginPendingAndRetries() {
    idp.failStarts(new IdpException(IdpException.Kind.UNAVAILABLE, "cannot reach device_authorization endpoint"));
    client.resource(Resources.deviceLogin(NS, "alice", "corp")).create();
    DeviceLogin pending = awaitLogin("alice", phase(Phase.Pending));
    assertThat(ready(pending).getReason()).isEqualTo("IdPUnavailable");
    idp.failStarts(null);
    awaitLogin("alice", phase(Phase.AwaitingUser));
    assertThat(idp.grantsStarted()).isEqualTo(1);
  }

  @Test
  void idpUnavailableWhilePollingKeepsTheLoginAndRecovers() {
    client.resource(Resources.deviceLogin(NS, "alice", "corp")).create();
    awaitLogin("alice", phase(Phase.AwaitingUser));
    idp.script(1, new TokenPollResult.Unavailable("token endpoint answered HTTP 503"));
    DeviceLogin degraded = awaitLogin("alice", dl -> "IdPUnavailable".equals(ready(dl).getReason()));
    assertThat(degraded.getStatus().getPhase()).isEqualTo(Phase.AwaitingUser);
    assertThat(degraded.getStatus().getUserCode()).isEqualTo("CODE-0001");
    awaitLogin("alice", dl -> "AuthorizationPending".equals(ready(dl).getReason()));
    idp.script(1, issued("alice@example.com", "developers"));
    awaitLogin("alice", phase(Phase.Ready));
  }

  @Test
  void pendingPollsDoNotWriteStatus() {
    client.resource(Resources.deviceLogin(NS, "alice", "corp")).create();
    awaitLogin("alice", phase(Phase.AwaitingUser));
    int polls = idp.pollTimes(1).size();
    String version = get("alice")
        .getMetadata().getResourceVersion();
    await().atMost(Duration.ofSeconds(10)).until(() -> idp.pollTimes(1).size() >= polls + 3);
    assertThat(get("alice")
        .getMetadata().getResourceVersion()).isEqualTo(version);
  }

  @Test
  void specChangeStartsAFreshLogin() {
    client.resource(Resources.deviceLogin(NS, "alice", "corp")).create();
    awaitLogin("alice", phase(Phase.AwaitingUser));
    DeviceLogin login = get("alice");
    login.getSpec().setUser("alice@example.com");
    client.resource(login).update();
    DeviceLogin fresh = awaitLogin("alice", dl -> "CODE-0002".equals(dl.getStatus().getUserCode()));
    assertThat(fresh.getStatus().getObservedGeneration()).isEqualTo(fresh.getMetadata().getGeneration());
    idp.script(2, issued("alice@example.com", "developers"));
    awaitLogin("alice", phase(Phase.Ready));
    assertThat(idp.grantsStarted()).isEqualTo(2);
  }

  private List<String> allSecrets() {
    List<String> secrets = new ArrayList<>(idp.deviceCodes());
    secrets.addAll(issuedSecrets);
    return secrets;
  }





  private TokenPollResult issued(String email, String group) {
    IssuedTokens tokens = ScriptedIdp.tokens(email, group, Duration.ofMinutes(5));
    issuedSecrets.addAll(List.of(tokens.idToken(), tokens.accessToken(), tokens.refreshToken()));
    return new TokenPollResult.Issued(tokens);
  }


  private DeviceLogin awaitLogin(String name, Predicate<DeviceLogin> condition) {
    return Logins.awaitLogin(client, NS, name, condition);
  }

  private DeviceLogin get(String name) {
    return Logins.get(client, NS, name);
  }
}
