package io.devicelogin.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.oauth2.sdk.GrantType;
import io.devicelogin.operator.api.v1alpha1.Condition;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.secret.GrantStore;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.status.DeviceLoginStatusBuilder;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testidp.IssuedTokens;
import io.devicelogin.operator.testidp.Login;
import io.devicelogin.operator.testidp.Outcome;
import io.devicelogin.operator.testing.ApiFaults;
import io.devicelogin.operator.testing.ApiRequest;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue #5, API server faults: the real operator against the mock API server (fabric8 client defaults: 5xx and 429
 * retried by the client 10 times, 100 ms doubling; JOSDK retry 2 s doubling) and {@link FakeIdp} over HTTP, with
 * conflicts, server errors and lost responses injected at every write a login makes, and watch connections dropped
 * while logins wait and while they are Ready.
 *
 * <p>Each fault runs on its own DeviceLogin in its own namespace, all at once, so the whole matrix takes about as long
 * as its slowest case. Checked for each: the login completes with the one device grant it started (the IdP counts
 * device authorizations; each DeviceLogin shows one user code over its life), the tokens the IdP issued once are the
 * ones in the Secret (a lost token would be a failed login), no refresh token is used twice, no poll comes sooner
 * than the interval, the status ends right (no leftover {@code Reconciled=False}), one {@code LoginSucceeded} Event,
 * and the API requests during the fault stay few (no tight retry loop).
 */
class ApiServerFaultsIT {

  private static final String CLIENT_ID = "cli";
  private static final String SECRET = "oidc-alice-example-com";
  private static final String GRANT_SECRET = "devicelogin-grant-alice";

  private static OperatorFixture fixture;
  private static KubernetesClient client;
  private static FakeIdp idp;

  /** Where in a login the fault hits. */
  enum Point {
    GRANT_SECRET_CREATE("POST of the grant Secret", false),
    USER_CODE_STATUS("status patch publishing the user code", false),
    TOKEN_SECRET_CREATE("POST of the token Secret", false),
    READY_STATUS("status patch recording Ready", false),
    GRANT_SECRET_DELETE("DELETE of the grant Secret", false),
    SLOW_DOWN_GRANT_UPDATE("PUT of the grant Secret after slow_down", false),
    REFRESH_MARK("PUT of the token Secret marking the refresh in flight", true),
    REFRESH_SECRET_UPDATE("PUT of the token Secret with refreshed tokens", true),
    REFRESHED_STATUS("status patch recording a refresh", true),
    FINALIZER_ADD("patch adding the finalizer", false),
    FINALIZER_REMOVE("patch removing the finalizer on deletion", false);

    final String description;
    final boolean refresh;

    Point(String description, boolean refresh) {
      this.description = description;
      this.refresh = refresh;
    }

    Predicate<ApiRequest> matcher(String namespace) {
      Predicate<ApiRequest> inNamespace = r -> namespace.equals(r.namespace()) && !r.fromTest() && !r.isWatch();
      Predicate<ApiRequest> specific = switch (this) {
        case GRANT_SECRET_CREATE -> r -> "POST".equals(r.method()) && r.isSecret()
            && r.bodyContains("\"devicelogin.io/device-grant\"");
        case USER_CODE_STATUS -> r -> r.isStatusPatchOf("alice") && r.bodyContains("\"userCode\"");
        case TOKEN_SECRET_CREATE -> r -> "POST".equals(r.method()) && r.isSecret()
            && r.bodyContains("\"devicelogin.io/oidc-tokens\"");
        case READY_STATUS -> r -> r.isStatusPatchOf("alice") && r.bodyContains("\"phase\":\"Ready\"");
        case GRANT_SECRET_DELETE -> r -> "DELETE".equals(r.method()) && r.bare().endsWith("/secrets/" + GRANT_SECRET);
        case SLOW_DOWN_GRANT_UPDATE -> r -> "PUT".equals(r.method()) && r.bare().endsWith("/secrets/" + GRANT_SECRET);
        case REFRESH_MARK -> r -> "PUT".equals(r.method()) && r.bare().endsWith("/secrets/" + SECRET)
            && r.bodyContains(TokenSecrets.REFRESH_STARTED_ANNOTATION);
        case REFRESH_SECRET_UPDATE -> r -> "PUT".equals(r.method()) && r.bare().endsWith("/secrets/" + SECRET)
            && !r.bodyContains(TokenSecrets.REFRESH_STARTED_ANNOTATION);
        case REFRESHED_STATUS -> r -> r.isStatusPatchOf("alice") && r.bodyContains("\"reason\":\"Refreshed\"");
        case FINALIZER_ADD -> r -> r.isMainResourceWriteOf("alice")
            && r.bodyContains("\"op\":\"add\",\"path\":\"/metadata/finalizers\"");
        case FINALIZER_REMOVE -> r -> r.isMainResourceWriteOf("alice")
            && r.bodyContains("\"op\":\"remove\",\"path\":\"/metadata/finalizers\"");
      };
      return inNamespace.and(specific);
    }
  }

  /** What goes wrong, how often in a row. */
  enum Kind {
    CONFLICT_409_X1(409, 1, ApiFaults.Mode.REFUSE),
    CONFLICT_409_X3(409, 3, ApiFaults.Mode.REFUSE),
    ERROR_500_X5(500, 5, ApiFaults.Mode.REFUSE),
    UNAVAILABLE_503_X11(503, 11, ApiFaults.Mode.REFUSE),
    LOST_RESPONSE_500_X1(500, 1, ApiFaults.Mode.LOSE_RESPONSE);

    final int status;
    final int times;
    final ApiFaults.Mode mode;

    Kind(int status, int times, ApiFaults.Mode mode) {
      this.status = status;
      this.times = times;
      this.mode = mode;
    }

    String label() {
      return (mode == ApiFaults.Mode.LOSE_RESPONSE ? "applied, then " : "") + status + " x " + times;
    }
  }

  /** One DeviceLogin living through one fault. */
  private final class Scenario {
    final Point point;
    final Kind kind;
    final String namespace;
    final ApiFaults.Fault fault;
    Login login;
    String step = "created";
    boolean deleted;
    boolean done;
    long doneNanos;

    Scenario(Point point, Kind kind) {
      this.point = point;
      this.kind = kind;
      this.namespace = ("f-" + point.name() + "-" + kind.name()).toLowerCase(Locale.ROOT).replace('_', '-');
      this.fault = fixture.cluster().faults().add(point.description + " in " + namespace, point.matcher(namespace),
          kind.status, kind.mode, kind.times);
    }

    void create() {
      client.resource(Resources.anyUser(Resources.identityProvider(namespace, "corp", idp.issuer(), CLIENT_ID))).create();
      DeviceLogin wanted = Resources.deviceLogin(namespace, "alice", "corp");
      // refresh cases: first refresh 3 s after the login (refreshed tokens live 600 s: no second one); others: none
      // while the test runs (renewal 119 s after the login; a refresh would also rewrite the status)
      wanted.getSpec().setRenewBefore(point.refresh ? "117s" : "1s");
      client.resource(wanted).create();
    }

    /** Plays the person and checks progress; true once the scenario reached its end state. */
    boolean drive(Map<String, DeviceLogin> seen, Set<String> grantSecrets) {
      if (done) {
        return true;
      }
      DeviceLogin dl = seen.get(namespace);
      if (dl == null) {
        if (deleted && !grantSecrets.contains(namespace)) {
          finish();
        }
        return done;
      }
      var status = dl.getStatus();
      if (status == null || status.getPhase() == null) {
        return false;
      }
      if (login == null && status.getUserCode() != null) {
        login = idp.login(status.getUserCode());
        if (point == Point.SLOW_DOWN_GRANT_UPDATE) {
          login.slowDown();
          step = "slow_down queued";
        } else {
          login.approve(Claims.user("alice"));
          step = "approved";
        }
      }
      if (login != null && point == Point.SLOW_DOWN_GRANT_UPDATE && "slow_down queued".equals(step)
          && login.pollCount() >= 3) {
        // two polls after the slow_down, at the interval then in force, before the person approves
        login.approve(Claims.user("alice"));
        step = "approved";
      }
      if (status.getPhase() != Phase.Ready || (point != Point.FINALIZER_REMOVE && !fault.exhausted())) {
        return false;
      }
      step = "ready";
      if (point == Point.FINALIZER_REMOVE) {
        if (!deleted && !grantSecrets.contains(namespace)) {
          client.resources(DeviceLogin.class).inNamespace(namespace).withName("alice").delete();
          deleted = true;
          step = "deleting";
        }
        return false;
      }
      Condition ready = Logins.ready(dl);
      boolean refreshed = !point.refresh || "Refreshed".equals(ready.getReason());
      boolean clean = status.getConditions().stream()
          .noneMatch(c -> DeviceLoginStatusBuilder.RECONCILED.equals(c.getType()));
      if (refreshed && clean && !grantSecrets.contains(namespace)) {
        finish();
      }
      return done;
    }

    private void finish() {
      done = true;
      doneNanos = System.nanoTime();
    }

    @Override
    public String toString() {
      return namespace + " (" + point.description + ", " + kind.label() + "): " + step + ", injected "
          + fault.injected() + " of " + kind.times;
    }
  }

  @BeforeAll
  static void start() {
    idp = FakeIdp.start().interval(1).tokenLifetime(120).refreshedTokenLifetime(600);
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
  void clearFaultsAndScanForLeaks() {
    fixture.cluster().faults().clear();
    fixture.assertNoLeaks(Logins.secretsOf(idp));
  }

  @Test
  void everyWriteOfALoginSurvivesConflictsServerErrorsAndLostResponses() {
    List<Scenario> scenarios = new ArrayList<>();
    for (Point point : Point.values()) {
      for (Kind kind : Kind.values()) {
        scenarios.add(new Scenario(point, kind));
      }
    }
    int loginsBefore = idp.logins().size();
    long started = System.nanoTime();
    scenarios.forEach(Scenario::create);

    try {
      await().atMost(Duration.ofSeconds(75)).pollInterval(Duration.ofMillis(200)).until(() -> {
        Map<String, DeviceLogin> seen = client.resources(DeviceLogin.class).inAnyNamespace().list().getItems()
            .stream().collect(Collectors.toMap(dl -> dl.getMetadata().getNamespace(), dl -> dl));
        Set<String> grantSecrets = client.secrets().inAnyNamespace()
            .withLabel(GrantStore.COMPONENT_LABEL, GrantStore.COMPONENT).list()
            .getItems().stream().map(s -> s.getMetadata().getNamespace()).collect(Collectors.toSet());
        boolean all = true;
        for (Scenario scenario : scenarios) {
          all &= scenario.drive(seen, grantSecrets);
        }
        return all;
      });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      // reported below, with everything else that went wrong
    }
    System.out.printf("API-FAULTS matrix: %d of %d scenarios done in %d ms%n",
        scenarios.stream().filter(s -> s.done).count(), scenarios.size(), (System.nanoTime() - started) / 1_000_000);

    List<ApiRequest> requests = fixture.cluster().requests();
    List<String> problems = new ArrayList<>();
    int maxPerSecond = 0;
    for (Scenario s : scenarios) {
      if (!s.done) {
        problems.add(s + ": did not reach its end state; status " + statusOf(s));
      }
      if (s.login == null) {
        continue;
      }
      problems.addAll(check(s, requests));
      Window window = window(s, requests);
      maxPerSecond = Math.max(maxPerSecond, window.maxPerSecond());
      // no tight loop: a handful of requests per failed attempt (JOSDK re-reads and re-patches at once on a 409 of
      // the finalizer patch, up to 10 times; everything else waits for the client's or JOSDK's back-off)
      if (window.requests() > 10 * (s.fault.injected() + 1) || window.maxPerSecond() > 20) {
        problems.add(s + ": " + window.requests() + " operator requests in the fault window, " + window.maxPerSecond()
            + " in one second");
      }
      System.out.printf("API-FAULTS %-26s %-18s injected %2d, operator requests in the fault window %3d over %6d ms "
              + "(max %2d in 1 s), device authorizations %d, LoginSucceeded events %d%n",
          s.point, s.kind.label(), s.fault.injected(), window.requests(), window.millis(), window.maxPerSecond(),
          userCodes(s, requests).size(), successEvents(s));
    }
    assertThat(problems).as("what went wrong").isEmpty();
    assertThat(idp.logins().size() - loginsBefore).as("one device authorization per DeviceLogin")
        .isEqualTo(scenarios.size());
    assertThat(idp.refreshTokenReuseCount()).as("no refresh token presented twice").isZero();
    assertThat(counter(fixture.operator().scrapeMetrics(), "devicelogin_logins_total{result=\"Ready\"}"))
        .as("each login counted once as Ready").isEqualTo(scenarios.size());
    System.out.printf("API-FAULTS max operator requests in any 1 s of a fault window: %d%n", maxPerSecond);
  }

  @Test
  void watchDisconnectsAndReListsWhileLoginsWaitAndWhileReadyLoseNothing() {
    String ns = "watch";
    FakeIdp other = FakeIdp.start().interval(1).tokenLifetime(120).refreshedTokenLifetime(600);
    try {
      client.resource(Resources.anyUser(Resources.identityProvider(ns, "corp", idp.issuer(), CLIENT_ID))).create();
      client.resource(Resources.anyUser(Resources.identityProvider(ns, "other", other.issuer(), CLIENT_ID))).create();
      createLogin(ns, "waiting", "corp", null);
      createLogin(ns, "restarted", "corp", null);
      createLogin(ns, "ready", "corp", "115s");
      createLogin(ns, "refused", "other", "115s");
      createLogin(ns, "deleted", "corp", null);
      Map<String, Login> logins = new LinkedHashMap<>();
      for (String name : List.of("waiting", "restarted", "ready", "deleted")) {
        logins.put(name, idp.login(awaitCode(ns, name)));
      }
      logins.put("refused", other.login(awaitCode(ns, "refused")));
      for (String name : List.of("ready", "refused", "deleted")) {
        logins.get(name).approve(Claims.user(name));
      }
      for (String name : List.of("ready", "refused", "deleted")) {
        Logins.awaitLogin(client, ns, name, Logins.phase(Phase.Ready));
      }
      // the next refresh at the other IdP names another subject (same email and username)
      other.refreshWith(Outcome.tokens(Claims.subject("sub-impostor").email("refused@example.com")
          .preferredUsername("refused")));
      String deletedRefreshToken = TokenSecrets.value(
          client.secrets().inNamespace(ns).withName("oidc-deleted-example-com").get(), TokenSecrets.REFRESH_TOKEN);

      // the outage: every watch connection dropped; reconnects get a 410 "too old resource version" ERROR event (a
      // full re-list follows) — the DeviceLogin informer's first one, and two of the provider informers' (the
      // provider controllers and the DeviceLogin controller each watch both provider kinds) — then 503 until the
      // outage ends
      long outageStart = System.nanoTime();
      ApiFaults.Fault goneLogins = fixture.cluster().faults().add("watch devicelogins: 410 Gone",
          r -> r.isWatch() && r.bare().endsWith("/devicelogins"), 410, ApiFaults.Mode.WATCH_ERROR_EVENT, 1);
      ApiFaults.Fault goneProviders = fixture.cluster().faults().add("watch providers: 410 Gone",
          r -> r.isWatch() && r.bare().endsWith("identityproviders"), 410, ApiFaults.Mode.WATCH_ERROR_EVENT, 2);
      ApiFaults.Fault down = fixture.cluster().faults().fail("watch: 503", ApiRequest::isWatch, 503,
          Integer.MAX_VALUE);
      int dropped = fixture.cluster().dropWatches();
      assertThat(dropped).as("the operator's watch connections (DeviceLogins, and both provider kinds twice)").isGreaterThanOrEqualTo(5);
      logins.get("waiting").approve(Claims.user("waiting"));
      DeviceLogin restart = Logins.get(client, ns, "restarted");
      restart.getMetadata().getAnnotations().put("devicelogin.io/restart", "outage");
      client.resource(restart).update();
      client.resources(DeviceLogin.class).inNamespace(ns).withName("deleted").delete();
      createLogin(ns, "late", "corp", null);
      // timers go on without watches: the waiting login completes, the Ready ones refresh (one refused) meanwhile
      await().atMost(Duration.ofSeconds(20)).until(() -> logins.get("waiting").issuedTokens().size() == 1
          && logins.get("ready").issuedTokens().size() == 2 && other.revokedTokens().size() == 1);
      long refusedAt = System.nanoTime();
      int otherRequestsAtRefusal = other.requestsTo(other.tokenEndpoint()).size();
      // a few seconds more of outage: the operator's reconciles see a cache without its own last status writes
      await().pollDelay(Duration.ofSeconds(3)).until(() -> true);
      fixture.cluster().faults().remove(down);
      long outageEnd = System.nanoTime();

      Logins.awaitLogin(client, ns, "waiting", Logins.phase(Phase.Ready));
      DeviceLogin fresh = Logins.awaitLogin(client, ns, "restarted",
          dl -> "outage".equals(dl.getStatus().getObservedRestart()) && dl.getStatus().getUserCode() != null);
      Login second = idp.login(fresh.getStatus().getUserCode());
      second.approve(Claims.user("restarted"));
      Login late = idp.login(awaitCode(ns, "late"));
      late.approve(Claims.user("late"));
      await().atMost(Duration.ofSeconds(20)).until(() -> Logins.get(client, ns, "deleted") == null);
      for (String name : List.of("waiting", "restarted", "late")) {
        Logins.awaitLogin(client, ns, name, dl -> dl.getStatus().getPhase() == Phase.Ready
            && client.secrets().inNamespace(ns).withName("devicelogin-grant-" + name).get() == null);
      }

      List<ApiRequest> requests = fixture.cluster().requests();
      List<ApiRequest> outage = requests.stream()
          .filter(r -> !r.fromTest() && r.nanos() >= outageStart && r.nanos() <= outageEnd).toList();
      long relists = requests.stream().filter(r -> !r.fromTest() && r.nanos() >= outageStart && !r.isWatch()
          && "GET".equals(r.method()) && r.bare().equals("/apis/devicelogin.io/v1alpha1/devicelogins")).count();
      long watchAttempts = outage.stream().filter(ApiRequest::isWatch).count();
      long otherRequests = outage.stream().filter(r -> !r.isWatch()).count();
      System.out.printf("WATCH-OUTAGE dropped %d watch connections; outage %d ms; %d watch attempts refused (410: %d, "
              + "503: %d); %d re-lists of devicelogins; %d other operator requests during the outage; %d open watches "
              + "after%n", dropped, (outageEnd - outageStart) / 1_000_000, watchAttempts,
          goneLogins.injected() + goneProviders.injected(),
          down.injected(), relists, otherRequests, fixture.cluster().openWatches());
      assertThat(goneLogins.injected()).as("DeviceLogin watch reconnects answered 410 Gone").isEqualTo(1);
      assertThat(goneProviders.injected()).as("provider watch reconnects answered 410 Gone").isEqualTo(2);
      assertThat(relists).as("the DeviceLogin informer listed again after 410 Gone").isGreaterThanOrEqualTo(1);
      // each informer reconnects on its own back-off (fabric8: doubling after every refused attempt)
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
          assertThat(fixture.cluster().openWatches()).as("watches re-established").isGreaterThanOrEqualTo(5));

      // every login ends right, with one device grant each (two for the restarted one)
      assertReady(ns, "waiting", logins.get("waiting"), "Issued");
      assertReady(ns, "ready", logins.get("ready"), "Refreshed");
      assertReady(ns, "restarted", second, "Issued");
      assertReady(ns, "late", late, "Issued");
      assertThat(logins.get("restarted").issuedTokens()).as("the first grant of the restarted login").isEmpty();
      DeviceLogin refused = Logins.get(client, ns, "refused");
      assertThat(refused.getStatus().getPhase()).as(Serialization.asJson(refused.getStatus()))
          .isEqualTo(Phase.Failed);
      assertThat(Logins.ready(refused).getReason()).isEqualTo("IdentityMismatch");
      assertThat(client.secrets().inNamespace(ns).withName("oidc-refused-example-com").get()).isNull();
      assertThat(other.revokedTokens()).containsExactly(logins.get("refused").issuedTokens().get(1).refreshToken());
      assertThat(other.requestsTo(other.tokenEndpoint()).size())
          .as("no refresh after the refusal (a stale cache showing Ready must not start another)")
          .isEqualTo(otherRequestsAtRefusal);
      assertThat(idp.revokedTokens()).containsOnlyOnce(deletedRefreshToken);
      assertThat(client.secrets().inNamespace(ns).withName("oidc-deleted-example-com").get()).isNull();
      assertThat(Logins.events(client, ns, "refused")).filteredOn(e -> "IdentityMismatch".equals(e.getReason()))
          .hasSize(1);
      assertThat(Logins.events(client, ns, "refused")).noneMatch(e -> "RefreshFailed".equals(e.getReason()));
      System.out.printf("WATCH-OUTAGE refusal to outage end: %d ms without a further refresh%n",
          (outageEnd - refusedAt) / 1_000_000);
    } finally {
      fixture.cluster().faults().clear();
      client.resources(DeviceLogin.class).inNamespace(ns).delete();
      await().atMost(Duration.ofSeconds(20))
          .until(() -> client.resources(DeviceLogin.class).inNamespace(ns).list().getItems().isEmpty());
      List<String> secrets = new ArrayList<>(Logins.secretsOf(other));
      fixture.assertNoLeaks(secrets);
      other.close();
    }
  }

  private static void createLogin(String namespace, String name, String provider, String renewBefore) {
    DeviceLogin login = Resources.deviceLogin(namespace, name, provider);
    login.getSpec().setRenewBefore(renewBefore);
    client.resource(login).create();
  }

  private static String awaitCode(String namespace, String name) {
    return Logins.awaitLogin(client, namespace, name, Logins.phase(Phase.AwaitingUser)).getStatus().getUserCode();
  }

  private static void assertReady(String namespace, String name, Login login, String reason) {
    DeviceLogin dl = Logins.get(client, namespace, name);
    assertThat(dl.getStatus().getPhase()).as(name).isEqualTo(Phase.Ready);
    assertThat(Logins.ready(dl).getReason()).as(name).isEqualTo(reason);
    assertThat(dl.getStatus().getConditions()).as(name + ": no leftover error condition")
        .noneMatch(c -> DeviceLoginStatusBuilder.RECONCILED.equals(c.getType()));
    IssuedTokens last = login.issuedTokens().get(login.issuedTokens().size() - 1);
    Secret secret = client.secrets().inNamespace(namespace).withName(dl.getStatus().getSecretName()).get();
    assertThat(TokenSecrets.value(secret, TokenSecrets.REFRESH_TOKEN)).as(name).isEqualTo(last.refreshToken());
    assertThat(TokenSecrets.value(secret, TokenSecrets.ID_TOKEN)).as(name).isEqualTo(last.idToken());
    assertThat(login.tooEarlyPolls()).as(name).isZero();
  }

  /** Everything that must hold for one scenario once it is done; the problems found. */
  private List<String> check(Scenario s, List<ApiRequest> requests) {
    List<String> problems = new ArrayList<>();
    String name = s.toString();
    if (s.fault.injected() != s.kind.times) {
      problems.add(name + ": the fault was not injected as often as asked");
    }
    Set<String> codes = userCodes(s, requests);
    if (codes.size() != 1) {
      problems.add(name + ": showed " + codes.size() + " user codes " + codes + " (a second device grant?)");
    }
    long exchanges = s.login.issuedTokens().stream().filter(t -> t.grantType().equals(GrantType.DEVICE_CODE)).count();
    long refreshes = s.login.issuedTokens().stream().filter(t -> t.grantType().equals(GrantType.REFRESH_TOKEN))
        .count();
    if (exchanges != 1) {
      problems.add(name + ": the device code was exchanged " + exchanges + " times");
    }
    if (s.login.tooEarlyPolls() != 0) {
      problems.add(name + ": " + s.login.tooEarlyPolls() + " polls sooner than the interval then in force");
    }
    if (successEvents(s) != 1) {
      problems.add(name + ": " + successEvents(s) + " LoginSucceeded events");
    }
    if (s.point == Point.FINALIZER_REMOVE) {
      IssuedTokens last = s.login.issuedTokens().get(s.login.issuedTokens().size() - 1);
      long revocations = idp.revokedTokens().stream().filter(t -> t.equals(last.refreshToken())).count();
      if (revocations != 1) {
        problems.add(name + ": the refresh token was revoked " + revocations + " times");
      }
      if (client.secrets().inNamespace(s.namespace).withName(SECRET).get() != null) {
        problems.add(name + ": the token Secret outlived its DeviceLogin");
      }
      return problems;
    }
    if (s.point.refresh ? refreshes != 1 : refreshes != 0) {
      problems.add(name + ": " + refreshes + " refreshes");
    }
    IssuedTokens last = s.login.issuedTokens().get(s.login.issuedTokens().size() - 1);
    Secret secret = client.secrets().inNamespace(s.namespace).withName(SECRET).get();
    if (secret == null) {
      problems.add(name + ": no token Secret");
    } else if (!last.idToken().equals(TokenSecrets.value(secret, TokenSecrets.ID_TOKEN))
        || !last.refreshToken().equals(TokenSecrets.value(secret, TokenSecrets.REFRESH_TOKEN))
        || !last.accessToken().equals(TokenSecrets.value(secret, TokenSecrets.ACCESS_TOKEN))) {
      problems.add(name + ": the Secret does not hold the tokens the IdP issued last");
    }
    DeviceLogin dl = Logins.get(client, s.namespace, "alice");
    Condition ready = Logins.ready(dl);
    if (dl.getStatus().getPhase() != Phase.Ready || !"True".equals(ready.getStatus())
        || !(s.point.refresh ? "Refreshed" : "Issued").equals(ready.getReason())
        || dl.getStatus().getUserCode() != null || !SECRET.equals(dl.getStatus().getSecretName())) {
      problems.add(name + ": status " + statusOf(s));
    }
    return problems;
  }

  private record Window(int requests, long millis, int maxPerSecond) {}

  /** The operator's requests about the scenario's namespace from the first injected failure to one second after
   * the last. */
  private static Window window(Scenario s, List<ApiRequest> requests) {
    long from = s.fault.firstNanos();
    long to = s.fault.lastNanos() + 1_000_000_000L;
    List<Long> times = requests.stream()
        .filter(r -> !r.fromTest() && !r.isWatch() && s.namespace.equals(r.namespace()))
        .map(ApiRequest::nanos).filter(t -> t >= from && t <= to).sorted().toList();
    int max = 0;
    for (int i = 0, j = 0; i < times.size(); i++) {
      while (times.get(i) - times.get(j) > 1_000_000_000L) {
        j++;
      }
      max = Math.max(max, i - j + 1);
    }
    return new Window(times.size(), (to - from) / 1_000_000, max);
  }

  private static final Pattern USER_CODE = Pattern.compile("\"userCode\":\"([^\"]+)\"");

  /** Every user code the operator ever wrote into the scenario's status. */
  private static Set<String> userCodes(Scenario s, List<ApiRequest> requests) {
    Set<String> codes = new LinkedHashSet<>();
    requests.stream().filter(r -> s.namespace.equals(r.namespace()) && r.isStatusPatchOf("alice") && !r.fromTest())
        .forEach(r -> {
          Matcher m = USER_CODE.matcher(r.body());
          while (m.find()) {
            codes.add(m.group(1));
          }
        });
    return codes;
  }

  private static long successEvents(Scenario s) {
    return Logins.events(client, s.namespace, "alice").stream()
        .filter(e -> "LoginSucceeded".equals(e.getReason())).count();
  }

  private static String statusOf(Scenario s) {
    DeviceLogin dl = Logins.get(client, s.namespace, "alice");
    return dl == null ? "(deleted)" : io.fabric8.kubernetes.client.utils.Serialization.asJson(dl.getStatus());
  }

  private static double counter(String metrics, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(metrics);
    return m.find() ? Double.parseDouble(m.group(1)) : 0.0;
  }
}
