package io.devicelogin.operator.reconciler;

import static io.devicelogin.operator.testing.Logins.phase;
import static io.devicelogin.operator.testing.Logins.ready;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginSpec;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.idp.IssuedTokens;
import io.devicelogin.operator.idp.TokenPollResult;
import io.devicelogin.operator.idp.TokenRefreshResult;
import io.devicelogin.operator.secret.TokenSecrets;
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
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** After the login: refresh before expiry, rotation, failures, hand-over, starting over and deletion. */
class TokenLifecycleIT {

  private static final String NS = "team-b";

  private OperatorFixture fixture;
  private KubernetesClient client;
  private ScriptedIdp idp;
  private final List<String> issuedSecrets = new ArrayList<>();
  private Duration lifetime = Duration.ofSeconds(12);

  @BeforeEach
  void start() {
    idp = new ScriptedIdp(Clock.systemUTC(), Duration.ofSeconds(1));
    fixture = OperatorFixture.start(metrics -> idp);
    client = fixture.client();
    client.resource(Resources.anyUser(Resources.identityProvider(NS, "corp", "http://127.0.0.1:1/realms/x", "cli"))).create();
  }

  @AfterEach
  void stop() {
    try {
      List<String> secrets = new ArrayList<>(idp.deviceCodes());
      secrets.addAll(issuedSecrets);
      fixture.assertNoLeaks(secrets);
    } finally {
      fixture.close();
    }
  }

  @Test
  void refreshesBeforeExpiryRotateTheRefreshTokenAndNeverReuseOne() {
    IssuedTokens first = loginReady("alice", "10s");
    IssuedTokens second = tokens();
    IssuedTokens third = tokens(Duration.ofMinutes(2));
    idp.scriptRefresh(new TokenRefreshResult.Refreshed(second), new TokenRefreshResult.Refreshed(third));

    // the status is read before the Secret: wait until both show the second refresh (the Secret is written first)
    DeviceLogin refreshedTwice = awaitLogin("alice",
        dl -> secretValue("oidc-alice-example-com", "refresh-token").equals(third.refreshToken())
            && io.devicelogin.operator.status.Rfc3339.format(third.idTokenExpiry())
                .equals(dl.getStatus().getTokenExpiresAt()), 30);
    assertThat(ready(refreshedTwice).getReason()).isEqualTo("Refreshed");
    assertThat(refreshedTwice.getStatus().getLastRefreshTime()).isNotNull();
    assertThat(refreshedTwice.getStatus().getRenewalTime()).isNotNull();
    assertThat(refreshedTwice.getStatus().getTokenExpiresAt())
        .isEqualTo(io.devicelogin.operator.status.Rfc3339.format(third.idTokenExpiry()));
    assertThat(secretValue("oidc-alice-example-com", "id-token")).isEqualTo(third.idToken());
    assertThat(idp.refreshes()).as("refreshes use the newest refresh token")
        .startsWith(first.refreshToken(), second.refreshToken());
    assertThat(idp.refreshes()).as("a refresh token that was exchanged is never used again")
        .containsOnlyOnce(first.refreshToken(), second.refreshToken());
    String metrics = fixture.operator().scrapeMetrics();
    assertThat(metrics).contains("devicelogin_refresh_total{result=\"success\"} 2.0")
        .contains("devicelogin_token_expiration_timestamp_seconds{name=\"alice\",namespace=\"team-b\"}")
        .contains("devicelogin_renewal_timestamp_seconds{name=\"alice\",namespace=\"team-b\"}");
    assertThat(Logins.events(client, NS, "alice")).extracting(e -> e.getReason()).contains("Refreshed");
  }

  @Test
  void renewalTimeDefaultsToOneThirdOfTheLifetimeBeforeExpiry() {
    IssuedTokens tokens = loginReady("alice", null);
    DeviceLogin ready = Logins.get(client, NS, "alice");
    Instant expected = tokens.idTokenExpiry().minus(Duration.between(tokens.idTokenIssuedAt(),
        tokens.idTokenExpiry()).dividedBy(3));
    assertThat(Instant.parse(ready.getStatus().getRenewalTime())).isEqualTo(expected);
  }

  @Test
  void refreshWithoutANewIdTokenKeepsTheOldOneUntilItExpires() {
    IssuedTokens first = loginReady("alice", "10s");
    IssuedTokens noIdToken = new IssuedTokens(null, "access-only-" + java.util.UUID.randomUUID(),
        "rotated-" + java.util.UUID.randomUUID(), null, null, Map.of());
    issuedSecrets.addAll(List.of(noIdToken.accessToken(), noIdToken.refreshToken()));
    idp.scriptRefresh(new TokenRefreshResult.Refreshed(noIdToken));

    DeviceLogin refreshed = awaitLogin("alice", dl -> "Refreshed".equals(ready(dl).getReason()), 20);
    assertThat(refreshed.getStatus().getRenewalTime()).as("nothing left to renew the ID token with").isNull();
    assertThat(ready(refreshed).getMessage()).contains("no new ID token");
    assertThat(secretValue("oidc-alice-example-com", "id-token")).isEqualTo(first.idToken());
    assertThat(secretValue("oidc-alice-example-com", "access-token")).isEqualTo(noIdToken.accessToken());
    assertThat(secretValue("oidc-alice-example-com", "refresh-token")).isEqualTo(noIdToken.refreshToken());

    DeviceLogin expired = awaitLogin("alice", phase(Phase.Expired), 20);
    assertThat(ready(expired).getReason()).isEqualTo("ExpiredToken");
    assertThat(idp.refreshes()).hasSize(1);
  }

  /**
   * Issue #11 / #12, memory: refreshed tokens the API server refuses for good to store (a 422 on every write of them,
   * as an admission policy would) are not held in memory for ever: after three refusals they are dropped, the refresh
   * token that came with them is revoked, and the login ends with a reason.
   */
  @Test
  void refreshedTokensTheApiServerRefusesForGoodToStoreAreDroppedAndRevoked() {
    loginReady("alice", "10s");
    IssuedTokens refreshed = tokens(Duration.ofMinutes(2));
    idp.scriptRefresh(new TokenRefreshResult.Refreshed(refreshed));
    String rotated = java.util.Base64.getEncoder().encodeToString(
        refreshed.refreshToken().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    fixture.cluster().faults().fail("refreshed tokens refused", r -> "PUT".equals(r.method()) && r.isSecret()
        && !r.fromTest() && r.bodyContains(rotated), 422, 100);

    DeviceLogin failed = awaitLogin("alice", phase(Phase.Failed), 40);

    assertThat(ready(failed).getReason()).isEqualTo("SecretWriteRefused");
    assertThat(ready(failed).getMessage()).contains("refused to store the refreshed tokens in Secret "
        + "oidc-alice-example-com 3 times (HTTP 422", "revoked");
    assertThat(idp.revoked()).as("the refresh token of the dropped tokens").containsExactly(refreshed.refreshToken());
    assertThat(idp.refreshes()).as("refreshed once: the dropped tokens are not asked for again").hasSize(1);
    assertThat(fixture.cluster().requests()).filteredOn(r -> r.injected() && r.isSecret()).hasSize(3);
    assertThat(secretValue("oidc-alice-example-com", "refresh-token")).isNotEqualTo(refreshed.refreshToken());
  }

  @Test
  void invalidGrantEndsTheLoginExpiredAndStopsCallingTheIdp() {
    loginReady("alice", "10s");
    idp.scriptRefresh(new TokenRefreshResult.Rejected("the IdP refused the refresh token: invalid_grant"));
    DeviceLogin expired = awaitLogin("alice", phase(Phase.Expired), 20);
    assertThat(ready(expired).getReason()).isEqualTo("RefreshFailed");
    assertThat(ready(expired).getMessage()).contains("invalid_grant").contains("devicelogin.io/restart");
    // the Event follows the status write (status first, then log, metric, Event)
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Logins.events(client, NS, "alice")).anyMatch(
        e -> "Warning".equals(e.getType()) && "RefreshFailed".equals(e.getReason())));
    int calls = idp.refreshes().size();
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> idp.refreshes().size() == calls);
  }

  @Test
  void unavailableIdpKeepsTheLoginReadyAndRetriesAlsoAfterARestart() {
    lifetime = Duration.ofSeconds(40);
    loginReady("alice", "38s");
    IssuedTokens next = tokens(Duration.ofMinutes(2));
    idp.scriptRefresh(new TokenRefreshResult.Unavailable("token endpoint answered HTTP 503"),
        new TokenRefreshResult.Refreshed(next));
    DeviceLogin failing = awaitLogin("alice", dl -> "RefreshFailed".equals(ready(dl).getReason()), 20);
    assertThat(failing.getStatus().getPhase()).isEqualTo(Phase.Ready);
    assertThat(ready(failing).getStatus()).isEqualTo("True");
    assertThat(ready(failing).getMessage()).contains("HTTP 503").contains("stay valid until");
    // The IdP answered, so the refresh is no longer in flight: an operator started now retries it too.
    assertThat(TokenSecrets.refreshStarted(client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get()))
        .isNull();
    fixture.restartOperator();
    awaitLogin("alice", dl -> "Refreshed".equals(ready(dl).getReason()), 30);
    assertThat(secretValue("oidc-alice-example-com", "refresh-token")).isEqualTo(next.refreshToken());
    assertThat(idp.refreshes()).as("the unanswered refresh token, retried once").hasSize(2);
  }

  @Test
  void aNewerLoginIntoTheSameSecretTakesItOverAndTheOlderStops() {
    loginReady("older", null, "shared-tokens");
    DeviceLogin newer = Resources.deviceLogin(NS, "newer", "corp");
    newer.getSpec().setSecretName("shared-tokens");
    client.resource(newer).create();
    awaitLogin("newer", phase(Phase.AwaitingUser), 20);
    idp.script(2, issued());
    awaitLogin("newer", phase(Phase.Ready), 20);
    assertThat(TokenSecrets.writer(client.secrets().inNamespace(NS).withName("shared-tokens").get()))
        .isEqualTo("newer");

    DeviceLogin older = awaitLogin("older", phase(Phase.Expired), 30);
    assertThat(ready(older).getReason()).isEqualTo("Superseded");
    assertThat(ready(older).getMessage()).contains("newer");
    assertThat(idp.refreshes()).as("the older login never refreshed the newer login's tokens").isEmpty();
  }

  @Test
  void theRestartAnnotationStartsAFreshLoginWithoutASpecChange() {
    client.resource(Resources.deviceLogin(NS, "alice", "corp")).create();
    awaitLogin("alice", phase(Phase.AwaitingUser), 20);
    idp.script(1, new TokenPollResult.AccessDenied());
    awaitLogin("alice", phase(Phase.Denied), 20);

    DeviceLogin login = Logins.get(client, NS, "alice");
    login.getMetadata().getAnnotations().put("devicelogin.io/restart", "2026-11-22T12:00:00Z");
    client.resource(login).update();
    DeviceLogin fresh = awaitLogin("alice", phase(Phase.AwaitingUser), 20);
    assertThat(fresh.getStatus().getUserCode()).isEqualTo("CODE-0002");
    assertThat(fresh.getStatus().getObservedRestart()).isEqualTo("2026-11-22T12:00:00Z");
    idp.script(2, issued());
    awaitLogin("alice", phase(Phase.Ready), 20);
    assertThat(idp.grantsStarted()).isEqualTo(2);
  }

  @Test
  void deletionRevokesTheRefreshTokenAndDeletesTheSecret() {
    IssuedTokens tokens = loginReady("alice", null);
    client.resources(DeviceLogin.class).inNamespace(NS).withName("alice").delete();
    await().atMost(Duration.ofSeconds(15)).until(() -> Logins.get(client, NS, "alice") == null);
    assertThat(idp.revoked()).containsExactly(tokens.refreshToken());
    assertThat(client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get()).isNull();
    assertThat(client.secrets().inNamespace(NS).withName("devicelogin-grant-alice").get()).isNull();
  }

  @Test
  void deletionWithRetainKeepsTheSecretButStillRevokes() {
    DeviceLogin login = Resources.deviceLogin(NS, "alice", "corp");
    login.getSpec().setDeletionPolicy(DeviceLoginSpec.DeletionPolicy.Retain);
    client.resource(login).create();
    awaitLogin("alice", phase(Phase.AwaitingUser), 20);
    IssuedTokens tokens = tokens();
    idp.script(1, new TokenPollResult.Issued(tokens));
    awaitLogin("alice", phase(Phase.Ready), 20);
    client.resources(DeviceLogin.class).inNamespace(NS).withName("alice").delete();
    await().atMost(Duration.ofSeconds(15)).until(() -> Logins.get(client, NS, "alice") == null);
    assertThat(idp.revoked()).containsExactly(tokens.refreshToken());
    Secret retained = client.secrets().inNamespace(NS).withName("oidc-alice-example-com").get();
    assertThat(retained).isNotNull();
    assertThat(retained.getMetadata().getOwnerReferences()).as("nothing garbage-collects a retained Secret").isEmpty();
  }

  private IssuedTokens loginReady(String name, String renewBefore) {
    return loginReady(name, renewBefore, null);
  }

  private IssuedTokens loginReady(String name, String renewBefore, String secretName) {
    DeviceLogin login = Resources.deviceLogin(NS, name, "corp");
    login.getSpec().setRenewBefore(renewBefore);
    login.getSpec().setSecretName(secretName);
    client.resource(login).create();
    awaitLogin(name, phase(Phase.AwaitingUser), 20);
    IssuedTokens tokens = tokens();
    idp.script(idp.grantsStarted(), new TokenPollResult.Issued(tokens));
    awaitLogin(name, phase(Phase.Ready), 20);
    return tokens;
  }

  private TokenPollResult issued() {
    return new TokenPollResult.Issued(tokens());
  }

  private IssuedTokens tokens() {
    return tokens(lifetime);
  }

  private IssuedTokens tokens(Duration tokenLifetime) {
    IssuedTokens tokens = ScriptedIdp.tokens("alice@example.com", "developers", tokenLifetime);
    issuedSecrets.addAll(List.of(tokens.idToken(), tokens.accessToken(), tokens.refreshToken()));
    return tokens;
  }

  private String secretValue(String secret, String key) {
    Secret found = client.secrets().inNamespace(NS).withName(secret).get();
    String value = found == null ? null : TokenSecrets.value(found, key);
    return value == null ? "" : value;
  }

  private DeviceLogin awaitLogin(String name, Predicate<DeviceLogin> condition, int seconds) {
    return Logins.awaitLogin(client, NS, name, condition, Duration.ofSeconds(seconds));
  }
}
