package io.devicelogin.operator.idp;

import static io.devicelogin.operator.testing.Logins.awaitLogin;
import static io.devicelogin.operator.testing.Logins.phase;
import static io.devicelogin.operator.testing.Logins.ready;
import static io.devicelogin.operator.testing.Logins.reason;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.oauth2.sdk.GrantType;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import io.devicelogin.operator.api.v1alpha1.Condition;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.SecretKeyReference;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testidp.IdpProfile;
import io.devicelogin.operator.testidp.Login;
import io.devicelogin.operator.testidp.Outcome;
import io.devicelogin.operator.testidp.RecordedRequest;
import io.devicelogin.operator.testidp.TokenVariant;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue #14: the big IdPs' protocol quirks, each against a {@link FakeIdp} {@link IdpProfile} that answers as that IdP
 * does, with the real operator and the mock API server: one test per quirk, asserting the login's phase, reason and
 * message and what the IdP received. One cluster, operator and IdP per class; each test sets its profile and works in
 * its own namespace.
 */
class IdpQuirksIT {

  private static final String CLIENT_ID = "cli";

  private static OperatorFixture fixture;
  private static KubernetesClient client;
  private static FakeIdp idp;
  private static final List<String> clientSecrets = new CopyOnWriteArrayList<>();

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
    }
  }

  @AfterEach
  void endLoginsAndCheckForLeaks() {
    idp.intercept((request, proceed) -> proceed.get());
    if (namespace != null) {
      client.resources(DeviceLogin.class).inNamespace(namespace).delete();
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
          .until(() -> client.resources(DeviceLogin.class).inNamespace(namespace).list().getItems().isEmpty());
    }
    idp.profile(null).tokenLifetime(300);
    List<String> secrets = new ArrayList<>(Logins.secretsOf(idp));
    secrets.addAll(clientSecrets);
    fixture.assertNoLeaks(secrets);
  }

  // ---- Google

  /**
   * Google: the device answer names the URL {@code verification_url} (Nimbus requires {@code verification_uri}), sends
   * no {@code verification_uri_complete}, answers pending with HTTP 428, and wants the client's secret.
   */
  @Test
  void googleVerificationUrlIsPublishedAndHttp428IsStillPending() {
    idp.profile(IdpProfile.GOOGLE);
    String clientSecret = "google-secret-" + java.util.UUID.randomUUID();
    clientSecrets.add(clientSecret);
    idp.requireClientSecret("google-cli", clientSecret);
    namespace = "google";
    client.resource(Resources.clientSecret(namespace, "google-client", "client-secret", clientSecret)).create();
    IdentityProvider provider = Resources.anyUser(
        Resources.identityProvider(namespace, "google", idp.issuer(), "google-cli"));
    provider.getSpec().setClientSecretRef(new SecretKeyReference("google-client", "client-secret"));
    client.resource(provider).create();
    client.resource(Resources.deviceLogin(namespace, "alice", "google")).create();

    DeviceLogin waiting = awaitLogin(client, namespace, "alice", phase(Phase.AwaitingUser));
    assertThat(waiting.getStatus().getVerificationUri()).isEqualTo(idp.verificationUri().toString());
    assertThat(waiting.getStatus().getVerificationUriComplete()).isNull();
    Login login = idp.login(waiting.getStatus().getUserCode());
    await().atMost(Duration.ofSeconds(10)).until(() -> login.pollCount() >= 3);
    DeviceLogin stillWaiting = Logins.get(client, namespace, "alice");
    assertThat(stillWaiting.getStatus().getPhase()).isEqualTo(Phase.AwaitingUser);
    assertThat(ready(stillWaiting).getReason()).isEqualTo("AuthorizationPending");
    assertThat(ready(stillWaiting).getMessage()).contains(idp.verificationUri().toString());

    login.approve(Claims.user("alice"));
    DeviceLogin done = awaitLogin(client, namespace, "alice", phase(Phase.Ready));
    assertThat(ready(done).getReason()).isEqualTo("Issued");
    assertThat(polls(login)).allSatisfy(r -> assertThat(r.authorization()).startsWith("Basic "));
    assertThat(login.tooEarlyPolls()).isZero();
  }

  /** A {@code verification_url} gets the same checks as a {@code verification_uri}: an http one is not published. */
  @Test
  void googleVerificationUrlIsHeldToTheSameChecks() {
    // an IdP of its own: the scripted answer must go to this login's device authorization, not to another test's
    try (FakeIdp google = FakeIdp.start().interval(1)) {
      google.profile(IdpProfile.GOOGLE);
      google.onNextDeviceAuthorization(Outcome.raw(200, "application/json", "{\"device_code\":\"dc-"
          + "x".repeat(20) + "\",\"user_code\":\"BCDF-GHJK\",\"verification_url\":\"javascript:alert(1)\","
          + "\"expires_in\":600,\"interval\":1}"));
      namespace = "google-bad-url";
      client.resource(Resources.anyUser(Resources.identityProvider(namespace, "corp", google.issuer(), CLIENT_ID)))
          .create();
      client.resource(Resources.deviceLogin(namespace, "alice", "corp")).create();
      DeviceLogin failed = awaitLogin(client, namespace, "alice", l -> l.getStatus() != null
          && l.getStatus().getConditions() != null && ready(l).getMessage() != null
          && ready(l).getMessage().contains("verification_uri"));
      assertThat(failed.getStatus().getVerificationUri()).isNull();
      assertThat(failed.getStatus().getUserCode()).isNull();
      assertThat(ready(failed).getMessage()).contains("not an http(s) URL"); // FakeIdp is http: allowInsecureHttp
    }
  }

  // ---- pending and slow_down with any 4xx

  /**
   * Pending with 401 (older Dex), 403 (PingOne, Auth0) and 428 (Google) is still pending, and slow_down with 403
   * (PingOne, Google) or 429 (Auth0) grows the interval by 5 s, as RFC 8628 says, instead of reading as an outage.
   */
  @Test
  void pendingAndSlowDownWithAny4xxAreReadAsSuch() {
    for (IdpProfile profile : List.of(IdpProfile.DEX, IdpProfile.PINGONE, IdpProfile.GOOGLE, IdpProfile.AUTH0)) {
      idp.profile(profile);
      namespace = "pending-" + profile.name().toLowerCase().replace('_', '-');
      provider(namespace);
      client.resource(Resources.deviceLogin(namespace, "alice", "corp")).create();
      Login login = idp.login(awaitLogin(client, namespace, "alice", phase(Phase.AwaitingUser)).getStatus()
          .getUserCode());
      await().atMost(Duration.ofSeconds(10)).until(() -> login.pollCount() >= 2);
      login.slowDown();
      DeviceLogin slower = awaitLogin(client, namespace, "alice",
          l -> l.getStatus() != null && Integer.valueOf(6).equals(l.getStatus().getPollInterval()));
      assertThat(slower.getStatus().getPhase()).as(profile.name()).isEqualTo(Phase.AwaitingUser);
      assertThat(ready(slower).getReason()).as(profile.name()).isEqualTo("AuthorizationPending");
      login.approve(Claims.user("alice"));
      DeviceLogin done = awaitLogin(client, namespace, "alice", phase(Phase.Ready));
      assertThat(ready(done).getReason()).as(profile.name()).isEqualTo("Issued");
      assertThat(login.tooEarlyPolls()).as(profile.name()).isZero();
      endLoginsAndCheckForLeaks();
    }
  }

  // ---- Entra ID

  /** Entra ID refuses with {@code authorization_declined}: the login ends Denied, reason AccessDenied. */
  @Test
  void entraAuthorizationDeclinedEndsDenied() {
    idp.profile(IdpProfile.ENTRA_ID);
    namespace = "entra-declined";
    provider(namespace);
    client.resource(Resources.deviceLogin(namespace, "alice", "corp")).create();
    DeviceLogin waiting = awaitLogin(client, namespace, "alice", phase(Phase.AwaitingUser));
    assertThat(waiting.getStatus().getVerificationUriComplete()).as("Entra ID sends none").isNull();
    assertThat(ready(waiting).getMessage()).contains(waiting.getStatus().getUserCode());
    Login login = idp.login(waiting.getStatus().getUserCode());
    login.deny();
    DeviceLogin denied = awaitLogin(client, namespace, "alice", phase(Phase.Denied));
    assertThat(ready(denied).getReason()).isEqualTo("AccessDenied");
    assertThat(ready(denied).getMessage()).contains("denied");
    assertThat(polls(login).size()).isEqualTo(login.pollCount());
  }

  /** Entra ID's {@code bad_verification_code}: Failed, with a message that says what it means. */
  @Test
  void entraBadVerificationCodeFailsWithAClearMessage() {
    idp.profile(IdpProfile.ENTRA_ID);
    namespace = "entra-bad-code";
    provider(namespace);
    client.resource(Resources.deviceLogin(namespace, "alice", "corp")).create();
    Login login = idp.login(awaitLogin(client, namespace, "alice", phase(Phase.AwaitingUser)).getStatus()
        .getUserCode());
    login.onNextPoll(Outcome.error("bad_verification_code", 400));
    DeviceLogin failed = awaitLogin(client, namespace, "alice", phase(Phase.Failed));
    assertThat(ready(failed).getReason()).isEqualTo("InvalidTokenResponse");
    assertThat(ready(failed).getMessage()).contains("bad_verification_code")
        .contains("does not know the device code").doesNotContain(login.deviceCode());
  }

  /**
   * Entra ID v2 ID tokens carry no {@code email_verified}: with {@code emailVerifiedClaim: NotSent} the login completes;
   * without it, it fails with a message that names the setting.
   */
  @Test
  void entraWithoutEmailVerifiedNeedsEmailVerifiedClaimNotSent() {
    idp.profile(IdpProfile.ENTRA_ID);
    namespace = "entra-email";
    IdentityProvider notSent = Resources.anyUser(Resources.identityProvider(namespace, "entra", idp.issuer(),
        CLIENT_ID));
    notSent.getSpec().setEmailVerifiedClaim(IdentityProviderSpec.EmailVerifiedClaim.NotSent);
    client.resource(notSent).create();
    provider(namespace);
    client.resource(Resources.deviceLogin(namespace, "alice", "entra")).create();
    client.resource(Resources.deviceLogin(namespace, "bob", "corp")).create();
    idp.login(awaitLogin(client, namespace, "alice", phase(Phase.AwaitingUser)).getStatus().getUserCode())
        .approve(Claims.user("alice"));
    idp.login(awaitLogin(client, namespace, "bob", phase(Phase.AwaitingUser)).getStatus().getUserCode())
        .approve(Claims.user("bob"));

    DeviceLogin done = awaitLogin(client, namespace, "alice", phase(Phase.Ready));
    assertThat(done.getStatus().getIdentity().getUsername()).isEqualTo("alice@example.com");
    DeviceLogin failed = awaitLogin(client, namespace, "bob", phase(Phase.Failed));
    assertThat(ready(failed).getReason()).isEqualTo("IdentityMismatch");
    assertThat(ready(failed).getMessage()).contains("email_verified is absent").contains("emailVerifiedClaim: NotSent");
  }

  /**
   * Entra ID's groups overage (a user in more than 200 groups gets {@code _claim_names.groups} instead of
   * {@code groups}): with allowedGroups the login fails GroupNotAllowed naming the overage, even though the user is in
   * an allowed group; without allowedGroups it completes and status.identity.groups is left out, not shown empty.
   */
  @Test
  void entraGroupsOverageIsNeverReadAsNoGroupsOrAllGroups() {
    idp.profile(IdpProfile.ENTRA_ID);
    namespace = "entra-overage";
    IdentityProvider restricted = Resources.anyUser(Resources.identityProvider(namespace, "restricted", idp.issuer(),
        CLIENT_ID));
    restricted.getSpec().setEmailVerifiedClaim(IdentityProviderSpec.EmailVerifiedClaim.NotSent);
    restricted.getSpec().setAllowedGroups(List.of("sre"));
    client.resource(restricted).create();
    IdentityProvider open = Resources.anyUser(Resources.identityProvider(namespace, "open", idp.issuer(), CLIENT_ID));
    open.getSpec().setEmailVerifiedClaim(IdentityProviderSpec.EmailVerifiedClaim.NotSent);
    client.resource(open).create();
    Claims manyGroups = Claims.user("alice").groups(IntStream.rangeClosed(0, 200)
        .mapToObj(i -> i == 0 ? "sre" : "group-" + i).toArray(String[]::new));

    client.resource(Resources.deviceLogin(namespace, "restricted", "restricted")).create();
    client.resource(Resources.deviceLogin(namespace, "open", "open")).create();
    idp.login(awaitLogin(client, namespace, "restricted", phase(Phase.AwaitingUser)).getStatus().getUserCode())
        .approve(manyGroups);
    idp.login(awaitLogin(client, namespace, "open", phase(Phase.AwaitingUser)).getStatus().getUserCode())
        .approve(manyGroups);

    DeviceLogin failed = awaitLogin(client, namespace, "restricted", phase(Phase.Failed));
    assertThat(ready(failed).getReason()).isEqualTo("GroupNotAllowed");
    assertThat(ready(failed).getMessage()).contains("overage").contains("[sre]").contains("Microsoft Graph");
    assertThat(failed.getStatus().getSecretName()).isNull();
    DeviceLogin done = awaitLogin(client, namespace, "open", phase(Phase.Ready));
    assertThat(done.getStatus().getIdentity().getUsername()).isEqualTo("alice@example.com");
    assertThat(done.getStatus().getIdentity().getGroups()).as("unknown, not empty").isNull();
  }

  // ---- Retry-After

  /** A 429 with {@code Retry-After: 3} on the device poll: the next poll comes 3 s later, not after the back-off. */
  @Test
  void retryAfterOnA429DevicePollIsTheNextDelay() {
    namespace = "retry-after-poll";
    provider(namespace);
    List<Instant> throttled = new CopyOnWriteArrayList<>();
    AtomicInteger toThrottle = new AtomicInteger(0);
    idp.intercept((request, proceed) -> {
      if (request.path().equals(idp.tokenEndpoint().getPath())
          && GrantType.DEVICE_CODE.getValue().equals(request.param("grant_type"))
          && toThrottle.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        throttled.add(Instant.now());
        return answer(429, "3");
      }
      return proceed.get();
    });
    client.resource(Resources.deviceLogin(namespace, "alice", "corp")).create();
    Login login = idp.login(awaitLogin(client, namespace, "alice", phase(Phase.AwaitingUser)).getStatus()
        .getUserCode());
    await().atMost(Duration.ofSeconds(10)).until(() -> login.pollCount() >= 1);
    toThrottle.set(2);
    await().atMost(Duration.ofSeconds(10)).until(() -> throttled.size() == 2);
    DeviceLogin throttledLogin = Logins.get(client, namespace, "alice");
    assertThat(ready(throttledLogin).getReason()).isEqualTo("IdPUnavailable");
    assertThat(ready(throttledLogin).getMessage()).contains("HTTP 429").contains("retry after 3s")
        .contains("resumes in 3s");
    int polled = login.pollCount();
    await().atMost(Duration.ofSeconds(10)).until(() -> login.pollCount() > polled);
    Instant resumed = login.pollTimes().get(polled);
    assertThat(Duration.between(throttled.get(0), throttled.get(1))).isGreaterThanOrEqualTo(Duration.ofMillis(2900));
    assertThat(Duration.between(throttled.get(1), resumed)).isGreaterThanOrEqualTo(Duration.ofMillis(2900));
    login.approve(Claims.user("alice"));
    assertThat(ready(awaitLogin(client, namespace, "alice", phase(Phase.Ready))).getReason()).isEqualTo("Issued");
  }

  /** A 503 with {@code Retry-After: 25} on a refresh: retried 25 s later instead of the usual first 10 s. */
  @Test
  void retryAfterOnA503RefreshIsTheNextDelay() {
    idp.tokenLifetime(60);
    namespace = "retry-after-refresh";
    provider(namespace);
    DeviceLogin wanted = Resources.deviceLogin(namespace, "alice", "corp");
    wanted.getSpec().setRenewBefore("58s");
    client.resource(wanted).create();
    List<Instant> refreshes = new CopyOnWriteArrayList<>();
    idp.intercept((request, proceed) -> {
      if (GrantType.REFRESH_TOKEN.getValue().equals(request.param("grant_type"))) {
        refreshes.add(request.time());
        return answer(503, "25");
      }
      return proceed.get();
    });
    idp.login(awaitLogin(client, namespace, "alice", phase(Phase.AwaitingUser)).getStatus().getUserCode())
        .approve(Claims.user("alice"));
    DeviceLogin failing = awaitLogin(client, namespace, "alice", reason("RefreshFailed"));
    Condition condition = ready(failing);
    assertThat(failing.getStatus().getPhase()).isEqualTo(Phase.Ready);
    assertThat(condition.getMessage()).contains("HTTP 503").contains("retry after 25s");
    Instant retryAt = Instant.parse(failing.getStatus().getRenewalTime());
    assertThat(refreshes).hasSize(1);
    assertThat(Duration.between(refreshes.get(0), retryAt)).isBetween(Duration.ofSeconds(24), Duration.ofSeconds(27));
  }

  // ---- no ID token in the grant's answer

  /** An IdP that sends no ID token in the device grant's answer: Failed, saying why Kubernetes needs one. */
  @Test
  void noIdTokenInTheDeviceGrantsAnswerFailsSayingKubernetesNeedsOne() {
    namespace = "no-id-token";
    provider(namespace);
    client.resource(Resources.deviceLogin(namespace, "alice", "corp")).create();
    Login login = idp.login(awaitLogin(client, namespace, "alice", phase(Phase.AwaitingUser)).getStatus()
        .getUserCode());
    login.approve(Claims.user("alice"), TokenVariant.NO_ID_TOKEN);
    DeviceLogin failed = awaitLogin(client, namespace, "alice", phase(Phase.Failed));
    assertThat(ready(failed).getReason()).isEqualTo("InvalidTokenResponse");
    assertThat(ready(failed).getMessage()).contains("sent no ID token").contains("Kubernetes needs one")
        .contains("'openid'").contains("No Secret was written");
    assertThat(failed.getStatus().getSecretName()).isNull();
  }

  // ---- Auth0: rotating refresh tokens with reuse detection

  /**
   * Auth0 revokes the whole refresh token family when a rotated token comes back: two refreshes in a row present each
   * refresh token once, so the family stays alive and the login Ready.
   */
  @Test
  void auth0RefreshCyclesNeverPresentARotatedRefreshToken() {
    idp.profile(IdpProfile.AUTH0).tokenLifetime(8);
    int reusesBefore = idp.refreshTokenReuseCount();
    namespace = "auth0";
    provider(namespace);
    DeviceLogin wanted = Resources.deviceLogin(namespace, "alice", "corp");
    wanted.getSpec().setRenewBefore("5s");
    client.resource(wanted).create();
    Login login = idp.login(awaitLogin(client, namespace, "alice", phase(Phase.AwaitingUser)).getStatus()
        .getUserCode());
    login.approve(Claims.user("alice"));
    await().atMost(Duration.ofSeconds(20)).until(() -> login.issuedTokens().size() >= 3);
    DeviceLogin refreshed = awaitLogin(client, namespace, "alice", reason("Refreshed"));
    assertThat(refreshed.getStatus().getPhase()).isEqualTo(Phase.Ready);
    List<String> presented = refreshTokensPresented();
    assertThat(presented).hasSizeGreaterThanOrEqualTo(2).doesNotHaveDuplicates();
    assertThat(idp.refreshTokenReuseCount()).isEqualTo(reusesBefore);
    String current = secretValue("oidc-alice-example-com", "refresh-token");
    assertThat(current).isEqualTo(login.issuedTokens().get(login.issuedTokens().size() - 1).refreshToken());
  }

  /**
   * Auth0, and a restart while a refresh is in flight (the IdP rotated the token, the answer never reached the
   * operator): the next operator finds the refresh mark and does not present the rotated token again, so Auth0's reuse
   * detection never revokes the family.
   */
  @Test
  void auth0RestartMidRefreshNeverPresentsTheRotatedTokenAgain() throws Exception {
    idp.profile(IdpProfile.AUTH0).tokenLifetime(12);
    int reusesBefore = idp.refreshTokenReuseCount();
    namespace = "auth0-restart";
    provider(namespace);
    DeviceLogin wanted = Resources.deviceLogin(namespace, "alice", "corp");
    wanted.getSpec().setRenewBefore("9s");
    client.resource(wanted).create();
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    AtomicInteger held = new AtomicInteger();
    idp.intercept((request, proceed) -> {
      if (!GrantType.REFRESH_TOKEN.getValue().equals(request.param("grant_type"))) {
        return proceed.get();
      }
      HTTPResponse answer = proceed.get(); // the IdP rotates the token...
      held.incrementAndGet();
      try {
        release.await(30, java.util.concurrent.TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      // ...and answers once the operator is stopped: too late to be stored (its API client is closed). Not a dropped
      // connection: the JDK would send the POST once more by itself (BoundedHttpSender), a reuse by design.
      return answer;
    });
    Login login = idp.login(awaitLogin(client, namespace, "alice", phase(Phase.AwaitingUser)).getStatus()
        .getUserCode());
    login.approve(Claims.user("alice"));
    await().atMost(Duration.ofSeconds(15)).until(() -> held.get() == 1);
    Thread stopper = new Thread(fixture::stopOperator);
    stopper.start();
    stopper.join(Duration.ofSeconds(20).toMillis());
    release.countDown();
    fixture.startOperator();

    DeviceLogin ended = awaitLogin(client, namespace, "alice", phase(Phase.Expired), Duration.ofSeconds(30));
    assertThat(ready(ended).getMessage()).contains("interrupted");
    assertThat(idp.refreshTokenReuseCount()).as("the rotated refresh token presented again").isEqualTo(reusesBefore);
    assertThat(refreshTokensPresented()).doesNotHaveDuplicates();
  }

  // ---- helpers

  private static void provider(String namespace) {
    client.resource(Resources.anyUser(Resources.identityProvider(namespace, "corp", idp.issuer(), CLIENT_ID)))
        .create();
  }

  /** The token polls that presented this login's device code. */
  private static List<RecordedRequest> polls(Login login) {
    return idp.requestsTo(idp.tokenEndpoint()).stream()
        .filter(r -> login.deviceCode().equals(r.param("device_code"))).toList();
  }

  private static List<String> refreshTokensPresented() {
    return idp.requestsTo(idp.tokenEndpoint()).stream()
        .filter(r -> GrantType.REFRESH_TOKEN.getValue().equals(r.param("grant_type")))
        .map(r -> r.param("refresh_token")).toList();
  }

  private String secretValue(String name, String key) {
    Secret secret = client.secrets().inNamespace(namespace).withName(name).get();
    return new String(java.util.Base64.getDecoder().decode(secret.getData().get(key)),
        java.nio.charset.StandardCharsets.UTF_8);
  }

  /** An answer with {@code Retry-After} and a JSON error body (as gateways and IdPs send when throttling). */
  private static HTTPResponse answer(int status, String retryAfter) {
    HTTPResponse response = new HTTPResponse(status);
    response.setHeader("Retry-After", retryAfter);
    response.setHeader("Content-Type", "application/json");
    response.setBody(status == 429 ? "{\"error\":\"too_many_requests\"}" : "{\"error\":\"temporarily_unavailable\"}");
    return response;
  }
}
