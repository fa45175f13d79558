package io.devicelogin.operator.idp;

import static io.devicelogin.operator.testing.Logins.awaitLogin;
import static io.devicelogin.operator.testing.Logins.events;
import static io.devicelogin.operator.testing.Logins.phase;
import static io.devicelogin.operator.testing.Logins.ready;
import static io.devicelogin.operator.testing.Logins.reason;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.oauth2.sdk.GrantType;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.openid.connect.sdk.claims.IDTokenClaimsSet;
import com.nimbusds.openid.connect.sdk.validators.IDTokenValidator;
import io.devicelogin.operator.api.v1alpha1.Condition;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginStatus;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.DiscoveryMode;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testidp.IssuedTokens;
import io.devicelogin.operator.testidp.Login;
import io.devicelogin.operator.testidp.Outcome;
import io.devicelogin.operator.testidp.RecordedRequest;
import io.devicelogin.operator.testidp.TokenVariant;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * After the login, over real HTTP: the real operator (Nimbus {@code refresh()} and {@code revoke()}) against the mock
 * API server and {@link FakeIdp} with refresh-token rotation, reuse detection and RFC 7009 revocation. Short ID token
 * lifetimes and {@code spec.renewBefore} make refreshes happen within seconds. One cluster, operator and IdP per class;
 * every test works in its own namespace and deletes the DeviceLogins it created (short-lived tokens would otherwise
 * keep refreshing in the background and disturb the next test's records).
 */
class RefreshProtocolIT {

  private static final String CLIENT_ID = "cli";
  private static final String SECRET = "oidc-alice-example-com";

  private static OperatorFixture fixture;
  private static KubernetesClient client;
  private static FakeIdp idp;

  /** FakeIdps started by single tests, whose tokens must not leak either. */
  private static final List<FakeIdp> extraIdps = new CopyOnWriteArrayList<>();

  private String namespace;

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
      extraIdps.forEach(FakeIdp::close);
    }
  }

  @AfterEach
  void deleteLoginsAndCheckForLeaks() {
    idp.failRevocation(false).up();
    if (namespace != null) {
      client.resources(DeviceLogin.class).inNamespace(namespace).delete();
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
          .until(() -> client.resources(DeviceLogin.class).inNamespace(namespace).list().getItems().isEmpty());
    }
    List<String> secrets = new ArrayList<>(Logins.secretsOf(idp));
    extraIdps.forEach(extra -> secrets.addAll(Logins.secretsOf(extra)));
    fixture.assertNoLeaks(secrets);
  }

  // ---- 1. rotation, and how punctually refreshes happen

  @Test
  void twoRefreshesInARowRotateTheRefreshTokenAtTheRenewalTime() throws Exception {
    idp.tokenLifetime(12);
    Ready ready = loginReady("rotate", "alice", "9s");
    int reusesBefore = idp.refreshTokenReuseCount();
    IssuedTokens first = only(ready.login().issuedTokens());
    DeviceLoginStatus issued = ready.login(client).getStatus();
    assertThat(ready(ready.login(client)).getReason()).isEqualTo("Issued");
    assertThat(issued.getLastRefreshTime()).isNull();
    Instant firstExpiry = Instant.parse(issued.getTokenExpiresAt());
    Instant firstRenewal = Instant.parse(issued.getRenewalTime());
    assertThat(firstRenewal).isEqualTo(firstExpiry.minusSeconds(9));

    DeviceLogin once = awaitLogin(client, namespace, "alice",
        dl -> dl.getStatus().getLastRefreshTime() != null, Duration.ofSeconds(15));
    DeviceLoginStatus afterFirst = once.getStatus();
    assertThat(ready(once).getReason()).isEqualTo("Refreshed");
    Instant secondRenewal = Instant.parse(afterFirst.getRenewalTime());
    assertThat(secondRenewal).isAfter(firstRenewal);

    await().atMost(Duration.ofSeconds(15)).until(() -> ready.login().issuedTokens().size() >= 3);
    List<IssuedTokens> all = ready.login().issuedTokens();
    IssuedTokens second = all.get(1);
    IssuedTokens third = all.get(2);
    DeviceLogin twice = awaitLogin(client, namespace, "alice",
        dl -> third.refreshToken().equals(secretData().get("refresh-token"))
            && "Refreshed".equals(ready(dl).getReason())
            && !Objects.equals(dl.getStatus().getLastRefreshTime(), afterFirst.getLastRefreshTime()),
        Duration.ofSeconds(10));

    // the IdP's view: each refresh presented the newest refresh token, none was presented twice
    List<RecordedRequest> refreshes = refreshRequests(ready.login());
    assertThat(refreshes).hasSizeGreaterThanOrEqualTo(2);
    assertThat(refreshes.get(0).param("refresh_token")).isEqualTo(first.refreshToken());
    assertThat(refreshes.get(1).param("refresh_token")).isEqualTo(second.refreshToken());
    assertThat(refreshes).allSatisfy(r -> assertThat(r.param("client_id")).isEqualTo(CLIENT_ID));
    assertThat(second.grantType()).isEqualTo(GrantType.REFRESH_TOKEN);
    assertThat(Set.of(first.refreshToken(), second.refreshToken(), third.refreshToken())).hasSize(3);
    assertThat(Set.of(first.idToken(), second.idToken(), third.idToken())).hasSize(3);
    assertThat(idp.refreshTokenReuseCount()).as("a rotated refresh token is never presented again")
        .isEqualTo(reusesBefore).isZero();

    // the Secret and the status after the second refresh
    Map<String, String> data = secretData();
    assertThat(data.keySet()).containsExactlyInAnyOrder(
        "id-token", "refresh-token", "access-token", "expiry", "idp-issuer-url", "client-id");
    assertThat(data.get("refresh-token")).isEqualTo(third.refreshToken());
    assertThat(data.get("access-token")).isEqualTo(third.accessToken());
    assertThat(data.get("id-token")).isEqualTo(third.idToken());
    IDTokenClaimsSet claims = validate(idp, data.get("id-token"));
    assertThat(claims.getSubject().getValue()).isEqualTo("sub-alice");
    Instant exp = claims.getExpirationTime().toInstant();
    DeviceLoginStatus status = twice.getStatus();
    assertThat(status.getPhase()).isEqualTo(Phase.Ready);
    assertThat(ready(twice).getStatus()).isEqualTo("True");
    assertThat(ready(twice).getMessage()).contains(SECRET).contains("next refresh at " + status.getRenewalTime());
    assertThat(Instant.parse(data.get("expiry"))).isEqualTo(exp);
    assertThat(Instant.parse(status.getTokenExpiresAt())).isEqualTo(exp).isAfter(firstExpiry);
    assertThat(Instant.parse(status.getRenewalTime())).isEqualTo(exp.minusSeconds(9));
    assertThat(Instant.parse(status.getLastRefreshTime()))
        .isBetween(refreshes.get(1).time().minusSeconds(1), refreshes.get(1).time().plusSeconds(2));
    assertThat(status.getIdentity().getSubject()).isEqualTo("sub-alice");
    assertThat(status.getSecretName()).isEqualTo(SECRET);

    // punctuality: each refresh request against the renewalTime the status showed before it
    List<Instant> renewals = List.of(firstRenewal, secondRenewal);
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;
    for (int i = 0; i < 2; i++) {
      long lag = Duration.between(renewals.get(i), refreshes.get(i).time()).toMillis();
      System.out.printf("REFRESH-TIMING refresh %d: renewalTime %s, request at %s, lag %d ms%n",
          i + 1, renewals.get(i), refreshes.get(i).time(), lag);
      min = Math.min(min, lag);
      max = Math.max(max, lag);
    }
    System.out.printf("REFRESH-TIMING min lag %d ms, max lag %d ms (2 refreshes, renewBefore 9s, lifetime 12s)%n",
        min, max);
    assertThat(min).as("no refresh before its renewal time").isGreaterThanOrEqualTo(0);
    assertThat(max).as("refreshes happen within 2 s of the renewal time").isLessThan(2000);

    assertThat(events(client, namespace, "alice")).filteredOn(e -> "Refreshed".equals(e.getReason()))
        .hasSizeGreaterThanOrEqualTo(2).extracting(Event::getType).containsOnly("Normal");
    String metrics = fixture.operator().scrapeMetrics();
    assertThat(counter(metrics, "devicelogin_refresh_total{result=\"success\"}")).isGreaterThanOrEqualTo(2.0);
    assertThat(metrics).contains("devicelogin_idp_requests_total{endpoint=\"refresh\",outcome=\"success\"}");
  }

  // ---- 2. Okta: a refresh without a new ID token

  @Test
  void aRefreshWithoutAnIdTokenKeepsTheOldOneUntilItExpires() {
    idp.tokenLifetime(10);
    Ready ready = loginReady("okta", "alice", "7s");
    IssuedTokens first = only(ready.login().issuedTokens());
    Instant expiry = Instant.parse(ready.login(client).getStatus().getTokenExpiresAt());
    idp.refreshWith(Outcome.tokens(TokenVariant.NO_ID_TOKEN));

    DeviceLogin refreshed = awaitLogin(client, namespace, "alice", reason("Refreshed"), Duration.ofSeconds(10));
    IssuedTokens second = ready.login().issuedTokens().get(1);
    assertThat(second.idToken()).isNull();
    assertThat(second.refreshToken()).isNotNull().isNotEqualTo(first.refreshToken());
    DeviceLoginStatus status = refreshed.getStatus();
    assertThat(status.getPhase()).isEqualTo(Phase.Ready);
    assertThat(status.getRenewalTime()).as("nothing left to renew the ID token with").isNull();
    assertThat(status.getLastRefreshTime()).isNotNull();
    assertThat(Instant.parse(status.getTokenExpiresAt())).as("the old ID token's expiry").isEqualTo(expiry);
    assertThat(ready(refreshed).getMessage()).contains("no new ID token").contains(status.getTokenExpiresAt());
    Map<String, String> data = secretData();
    assertThat(data.get("id-token")).as("the old ID token is kept").isEqualTo(first.idToken());
    assertThat(Instant.parse(data.get("expiry"))).isEqualTo(expiry);
    assertThat(data.get("access-token")).isEqualTo(second.accessToken());
    assertThat(data.get("refresh-token")).isEqualTo(second.refreshToken());

    DeviceLogin expired = awaitLogin(client, namespace, "alice", phase(Phase.Expired), Duration.ofSeconds(15));
    Instant endedAt = Instant.parse(ready(expired).getLastTransitionTime());
    assertThat(ready(expired).getReason()).isEqualTo("ExpiredToken");
    assertThat(ready(expired).getStatus()).isEqualTo("False");
    assertThat(endedAt).as("ends at the old ID token's expiry").isBetween(expiry, expiry.plusSeconds(3));
    assertThat(refreshRequests(ready.login())).as("only the one refresh").hasSize(1);
    assertThat(idp.refreshTokenReuseCount()).isZero();
  }

  // ---- 3. invalid_grant

  @Test
  void invalidGrantEndsTheLoginExpiredAndTheIdpIsNotCalledAgain() {
    idp.tokenLifetime(10);
    Ready ready = loginReady("revoked", "alice", "8s");
    idp.refreshWith(Outcome.invalidGrant());

    DeviceLogin expired = awaitLogin(client, namespace, "alice", phase(Phase.Expired), Duration.ofSeconds(10));
    Condition condition = ready(expired);
    assertThat(condition.getReason()).isEqualTo("RefreshFailed");
    assertThat(condition.getStatus()).isEqualTo("False");
    assertThat(condition.getMessage()).contains("invalid_grant").contains("devicelogin.io/restart");
    assertThat(events(client, namespace, "alice")).anyMatch(
        e -> "Warning".equals(e.getType()) && "RefreshFailed".equals(e.getReason()));
    assertThat(refreshRequests(ready.login())).hasSize(1);
    assertThat(secretData().get("refresh-token")).as("the Secret is left as it was")
        .isEqualTo(only(ready.login().issuedTokens()).refreshToken());
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5))
        .until(() -> refreshRequests(ready.login()).size() == 1);
    assertThat(Logins.get(client, namespace, "alice").getStatus().getPhase()).isEqualTo(Phase.Expired);
    assertThat(counter(fixture.operator().scrapeMetrics(), "devicelogin_refresh_total{result=\"refused\"}"))
        .isGreaterThanOrEqualTo(1.0);
  }

  // ---- 4. IdP down during the refresh

  @Test
  void anIdpDownAtRefreshTimeKeepsTheLoginReadyAndItRefreshesOnceTheIdpIsBack() {
    idp.tokenLifetime(30);
    Ready ready = loginReady("down", "alice", "27s");
    IssuedTokens first = only(ready.login().issuedTokens());
    Instant expiry = Instant.parse(ready.login(client).getStatus().getTokenExpiresAt());

    idp.down();
    DeviceLogin failing;
    try {
      failing = awaitLogin(client, namespace, "alice", reason("RefreshFailed"), Duration.ofSeconds(10));
      assertThat(failing.getStatus().getPhase()).isEqualTo(Phase.Ready);
      assertThat(ready(failing).getStatus()).isEqualTo("True");
      assertThat(ready(failing).getMessage()).contains("retrying at").contains("stay valid until");
      assertThat(Instant.parse(failing.getStatus().getTokenExpiresAt())).isEqualTo(expiry);
      assertThat(Instant.parse(failing.getStatus().getRenewalTime())).as("the retry time")
          .isAfter(Instant.now()).isBefore(expiry);
      assertThat(secretData().get("refresh-token")).isEqualTo(first.refreshToken());
      assertThat(events(client, namespace, "alice")).anyMatch(
          e -> "Warning".equals(e.getType()) && "RefreshFailed".equals(e.getReason()));
    } finally {
      idp.up();
    }
    DeviceLogin refreshed = awaitLogin(client, namespace, "alice", reason("Refreshed"), Duration.ofSeconds(20));
    assertThat(refreshed.getStatus().getPhase()).isEqualTo(Phase.Ready);
    assertThat(Instant.parse(refreshed.getStatus().getLastRefreshTime())).as("within the old token's lifetime")
        .isBefore(expiry);
    assertThat(Instant.parse(refreshed.getStatus().getTokenExpiresAt())).isAfter(expiry);
    IssuedTokens second = ready.login().issuedTokens().get(1);
    assertThat(secretData().get("refresh-token")).isEqualTo(second.refreshToken());
    assertThat(secretData().get("id-token")).isEqualTo(second.idToken());
    assertThat(refreshRequests(ready.login())).as("the requests while down never arrived").hasSize(1);
    assertThat(idp.refreshTokenReuseCount()).isZero();
    assertThat(counter(fixture.operator().scrapeMetrics(), "devicelogin_refresh_total{result=\"unavailable\"}"))
        .isGreaterThanOrEqualTo(1.0);
  }

  // ---- 5. another subject on refresh

  @Test
  void aRefreshForAnotherSubjectFailsAndDeletesTheSecret() {
    idp.tokenLifetime(10);
    Ready ready = loginReady("subject", "alice", "8s");
    IssuedTokens first = only(ready.login().issuedTokens());
    // same email and preferred_username, another subject: only the subject check can catch it
    idp.refreshWith(Outcome.tokens(Claims.subject("sub-impostor").email("alice@example.com")
        .preferredUsername("alice")));

    DeviceLogin failed = awaitLogin(client, namespace, "alice", phase(Phase.Failed), Duration.ofSeconds(10));
    Condition condition = ready(failed);
    assertThat(condition.getReason()).isEqualTo("IdentityMismatch");
    assertThat(condition.getStatus()).isEqualTo("False");
    assertThat(condition.getMessage()).contains("sub-impostor").contains("sub-alice").contains(SECRET);
    IssuedTokens foreign = ready.login().issuedTokens().get(1);
    assertThat(client.secrets().inNamespace(namespace).withName(SECRET).get()).as("the Secret is deleted").isNull();
    assertThat(client.secrets().inNamespace(namespace).list().getItems())
        .as("no Secret holds the refreshed tokens (or the old ones)")
        .noneMatch(s -> decode(s).values().stream().anyMatch(v -> v.equals(foreign.idToken())
            || v.equals(foreign.refreshToken()) || v.equals(foreign.accessToken()) || v.equals(first.refreshToken())));
    assertThat(events(client, namespace, "alice")).anyMatch(
        e -> "Warning".equals(e.getType()) && "IdentityMismatch".equals(e.getReason()));
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(idp.revokedTokens())
        .as("the discarded refresh token is revoked, like discarded tokens of a first login")
        .contains(foreign.refreshToken()));
    await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4))
        .until(() -> refreshRequests(ready.login()).size() == 1);
  }

  // ---- 6. deletion

  @Test
  void deletionRevokesTheCurrentRefreshTokenAndDeletesTheSecret() {
    idp.tokenLifetime(300);
    Ready ready = loginReady("delete", "alice", null);
    String refreshToken = secretData().get("refresh-token");
    assertThat(refreshToken).isEqualTo(only(ready.login().issuedTokens()).refreshToken());
    int revocations = idp.revocationCount();

    client.resources(DeviceLogin.class).inNamespace(namespace).withName("alice").delete();
    await().atMost(Duration.ofSeconds(15)).until(() -> Logins.get(client, namespace, "alice") == null);
    assertThat(idp.revokedTokens()).containsOnlyOnce(refreshToken);
    assertThat(idp.revocationCount()).isEqualTo(revocations + 1);
    RecordedRequest revocation = idp.requestsTo(idp.revocationEndpoint()).stream()
        .filter(r -> refreshToken.equals(r.param("token"))).findFirst().orElseThrow();
    assertThat(revocation.param("client_id")).isEqualTo(CLIENT_ID);
    assertThat(revocation.param("token_type_hint")).isIn(null, "refresh_token");
    assertThat(client.secrets().inNamespace(namespace).withName(SECRET).get()).isNull();
    assertThat(client.secrets().inNamespace(namespace).withName("devicelogin-grant-alice").get()).isNull();
    assertThat(events(client, namespace, "alice")).noneMatch(e -> "RevocationFailed".equals(e.getReason()));
  }

  @Test
  void deletionWithoutARevocationEndpointStillCompletes() {
    FakeIdp plain = FakeIdp.start().interval(1).discovery(DiscoveryMode.NO_REVOCATION_ENDPOINT);
    extraIdps.add(plain);
    namespace = "norevoke";
    client.resource(Resources.anyUser(Resources.identityProvider(namespace, "plain", plain.issuer(), CLIENT_ID))).create();
    client.resource(Resources.deviceLogin(namespace, "alice", "plain")).create();
    Login login = plain.login(awaitLogin(client, namespace, "alice", phase(Phase.AwaitingUser)).getStatus()
        .getUserCode());
    login.approve(Claims.user("alice"));
    awaitLogin(client, namespace, "alice", phase(Phase.Ready));
    assertThat(secretData().get("refresh-token")).isNotNull();

    client.resources(DeviceLogin.class).inNamespace(namespace).withName("alice").delete();
    await().atMost(Duration.ofSeconds(15)).until(() -> Logins.get(client, namespace, "alice") == null);
    assertThat(plain.revocationCount()).as("nothing to call").isZero();
    assertThat(client.secrets().inNamespace(namespace).withName(SECRET).get()).isNull();
    assertThat(client.secrets().inNamespace(namespace).withName("devicelogin-grant-alice").get()).isNull();
    assertThat(events(client, namespace, "alice")).noneMatch(e -> "RevocationFailed".equals(e.getReason()));
    assertThat(fixture.logs().text()).contains("norevoke/alice: the IdP advertises no revocation endpoint");
  }

  @Test
  void failingRevocationIsRetriedFiveTimesThenTheDeviceLoginIsDeletedAnyway() {
    idp.tokenLifetime(300);
    loginReady("revokefails", "alice", null);
    String refreshToken = secretData().get("refresh-token");
    int revocations = idp.revocationCount();
    idp.failRevocation(true);
    Instant deleted = Instant.now();
    client.resources(DeviceLogin.class).inNamespace(namespace).withName("alice").delete();

    await().atMost(Duration.ofSeconds(10)).until(() -> idp.revocationCount() >= revocations + 2);
    assertThat(Logins.get(client, namespace, "alice")).as("kept while revocation is retried").isNotNull();
    assertThat(fixture.logs().text()).contains("revokefails/alice: could not revoke the refresh token (attempt 1 of 5)");

    // back-off 5 s, 10 s, 20 s, 40 s between the 5 attempts: about 75 s
    await().atMost(Duration.ofSeconds(100)).pollInterval(Duration.ofMillis(500))
        .until(() -> Logins.get(client, namespace, "alice") == null);
    Duration took = Duration.between(deleted, Instant.now());
    System.out.printf("REVOCATION-RETRY deleted after %d ms and %d revocation attempts%n", took.toMillis(),
        idp.revocationCount() - revocations);
    assertThat(idp.revocationCount() - revocations).isEqualTo(5);
    assertThat(idp.revokedTokens()).doesNotContain(refreshToken);
    List<Instant> attempts = idp.requestsTo(idp.revocationEndpoint()).stream()
        .filter(r -> !r.time().isBefore(deleted)).map(RecordedRequest::time).toList();
    assertThat(attempts).hasSize(5);
    long[] expectedGaps = {5, 10, 20, 40};
    for (int i = 0; i + 1 < attempts.size(); i++) {
      assertThat(Duration.between(attempts.get(i), attempts.get(i + 1)).toMillis()).as("gap after attempt %d", i + 1)
          .isBetween(expectedGaps[i] * 1000 - 500, expectedGaps[i] * 1000 + 3000);
    }
    assertThat(events(client, namespace, "alice")).anyMatch(e -> "Warning".equals(e.getType())
        && "RevocationFailed".equals(e.getReason()) && e.getMessage().contains("after 5 attempts"));
    assertThat(client.secrets().inNamespace(namespace).withName(SECRET).get()).isNull();
    assertThat(client.secrets().inNamespace(namespace).withName("devicelogin-grant-alice").get()).isNull();
  }

  // ---- helpers

  private record Ready(String namespace, Login login) {
    DeviceLogin login(KubernetesClient client) {
      return Logins.get(client, namespace, "alice");
    }
  }

  /** A provider in a fresh namespace and a DeviceLogin {@code name} that alice approves; waits for Ready. */
  private Ready loginReady(String ns, String name, String renewBefore) {
    namespace = ns;
    client.resource(Resources.anyUser(Resources.identityProvider(ns, "corp", idp.issuer(), CLIENT_ID))).create();
    DeviceLogin wanted = Resources.deviceLogin(ns, name, "corp");
    wanted.getSpec().setRenewBefore(renewBefore);
    client.resource(wanted).create();
    Login login = idp.login(awaitLogin(client, ns, name, phase(Phase.AwaitingUser)).getStatus().getUserCode());
    login.approve(Claims.user("alice"));
    DeviceLogin done = awaitLogin(client, ns, name, phase(Phase.Ready));
    assertThat(done.getStatus().getSecretName()).isEqualTo(SECRET);
    return new Ready(ns, login);
  }

  /** The refresh requests that presented a refresh token of this grant, oldest first. */
  private static List<RecordedRequest> refreshRequests(Login login) {
    Set<String> tokens = new java.util.HashSet<>();
    login.issuedTokens().forEach(t -> {
      if (t.refreshToken() != null) {
        tokens.add(t.refreshToken());
      }
    });
    return idp.requestsTo(idp.tokenEndpoint()).stream()
        .filter(r -> GrantType.REFRESH_TOKEN.getValue().equals(r.param("grant_type")))
        .filter(r -> tokens.contains(r.param("refresh_token"))).toList();
  }

  private Map<String, String> secretData() {
    Secret secret = client.secrets().inNamespace(namespace).withName(SECRET).get();
    return secret == null ? Map.of() : decode(secret);
  }

  private static IDTokenClaimsSet validate(FakeIdp issuer, String idToken) throws Exception {
    return new IDTokenValidator(new Issuer(issuer.issuer()), new ClientID(CLIENT_ID), JWSAlgorithm.RS256,
        JWKSet.load(issuer.jwksUri().toURL())).validate(JWTParser.parse(idToken), null);
  }

  private static double counter(String metrics, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(metrics);
    return m.find() ? Double.parseDouble(m.group(1)) : 0.0;
  }

  private static <T> T only(List<T> items) {
    assertThat(items).hasSize(1);
    return items.get(0);
  }

  private static Map<String, String> decode(Secret secret) {
    Map<String, String> decoded = new LinkedHashMap<>();
    if (secret.getData() != null) {
      secret.getData().forEach((k, v) -> decoded.put(k, new String(Base64.getDecoder().decode(v),
          StandardCharsets.UTF_8)));
    }
    return decoded;
  }
}
