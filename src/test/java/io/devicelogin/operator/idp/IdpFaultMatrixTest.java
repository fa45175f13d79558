package io.devicelogin.operator.idp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.devicelogin.operator.metrics.OperatorMetrics;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testidp.FaultProxy;
import io.devicelogin.operator.testidp.FaultProxy.Endpoint;
import io.devicelogin.operator.testidp.FaultProxy.Fault;
import io.devicelogin.operator.testidp.Login;
import io.devicelogin.operator.testidp.TokenVariant;
import io.devicelogin.operator.testing.ThreadCensus;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every IdP call the operator makes × every fault {@link FaultProxy} injects, against the production
 * {@link NimbusIdentityProviderClient} over real HTTP to a {@link FakeIdp} behind the proxy (issue #5, "IdP faults").
 * For each of the 6 × 12 cases: the outcome class and message, that the call returned within its deadline (connect +
 * read timeout; measured), how many requests reached the faulty endpoint (no hidden retry loop), how much of an
 * endless body was sent before the client stopped, and that the same call succeeds once the fault is healed. Then no
 * thread may have leaked. Further tests: JWKS rotation, JWKS outage after tokens were issued, clock skew at both
 * sides of the allowed 60 s.
 */
class IdpFaultMatrixTest {

  private static final Duration CONNECT = Duration.ofMillis(500);
  private static final Duration READ = Duration.ofMillis(1000);
  /** How much longer than the deadline a faulty call may take (scheduling on a busy 2-core machine). */
  private static final Duration SLACK = Duration.ofMillis(700);
  private static final Set<String> FIXTURE_THREADS = Set.of("fault-proxy-", "fake-idp", "awaitility");

  /** The client calls under test; JWKS is a poll whose token response needs the signing keys. */
  enum Call { DISCOVERY, DEVICE_AUTHORIZATION, TOKEN_POLL, TOKEN_REFRESH, JWKS, REVOCATION }

  /** What a call gave, reduced to what the matrix compares. */
  enum Kind { SUCCESS, UNAVAILABLE, REJECTED, UNVERIFIED, OTHER }

  record Outcome(Kind kind, String message, Object value) {}

  record Row(Call call, Fault fault, Outcome outcome, long millis, int requests, long endlessBytes, Outcome healed) {}

  private static FaultProxy proxy;
  private static FakeIdp idp;
  private static ProviderConfig provider;
  private static OperatorMetrics metrics;

  @BeforeAll
  static void start() {
    proxy = FaultProxy.start().dripEvery(Duration.ofMillis(250));
    idp = FakeIdp.startBehind(proxy);
    provider = new ProviderConfig(URI.create(idp.issuer()), "cli", null, null, List.of("openid"));
    metrics = new OperatorMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
  }

  @AfterAll
  static void stop() {
    try {
      idp.close();
    } finally {
      proxy.close();
    }
  }

  private static NimbusIdentityProviderClient newClient() {
    return newClient(Clock.systemUTC());
  }

  private static NimbusIdentityProviderClient newClient(Clock clock) {
    return new NimbusIdentityProviderClient(CONNECT, READ, metrics, clock, EgressGuard.none());
  }

  // ---- the matrix

  @Test
  void everyCallUnderEveryFaultEndsWithinItsDeadlineWithAClearOutcomeAndRecovers() throws Exception {
    runCase(Call.TOKEN_POLL, null); // warm-up: the deadline thread and the JDK's keep-alive timer exist from here on
    ThreadCensus before = ThreadCensus.take(FIXTURE_THREADS);
    List<Row> rows = new ArrayList<>();
    for (Call call : Call.values()) {
      for (Fault fault : Fault.values()) {
        Row row = runCase(call, fault);
        rows.add(row);
        try {
          check(row);
        } catch (AssertionError e) {
          throw new AssertionError(call + " × " + fault + ": " + e.getMessage() + "\n  row: " + row, e);
        }
      }
    }
    report(rows);
    assertThat(rows).hasSize(Call.values().length * Fault.values().length);
    // no thread leaked: the JDK's keep-alive helpers may come and go, nothing may grow for good
    await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
        assertThat(ThreadCensus.take(FIXTURE_THREADS).grownSince(before)).as("threads grown since %s", before)
            .isEmpty());
    assertThat(proxy.openConnections()).as("connections the client left open at the proxy").isLessThanOrEqualTo(2);
  }

  /** The expected outcome: the client must tell retryable faults from configuration problems and answers. */
  static Kind expected(Call call, Fault fault) {
    if (fault == Fault.WRONG_CONTENT_TYPE) {
      return Kind.SUCCESS; // JSON is read as JSON whatever the label says
    }
    if (call == Call.REVOCATION && Set.of(Fault.HTML_200, Fault.NOT_JSON_200, Fault.EMPTY_200, Fault.TRUNCATED,
        Fault.RESET_MID_RESPONSE).contains(fault)) {
      return Kind.SUCCESS; // RFC 7009: the 200 status line is the answer, the body is ignored (and empty here)
    }
    if (call == Call.DISCOVERY && Set.of(Fault.HTML_200, Fault.NOT_JSON_200, Fault.EMPTY_200).contains(fault)) {
      return Kind.REJECTED; // DiscoveryFailed: an issuerUrl that serves a web page is a configuration error
    }
    return call == Call.JWKS ? Kind.UNVERIFIED : Kind.UNAVAILABLE;
  }

  /** A part of the message each fault must produce (case-insensitive), so the condition says what happened. */
  static String expectedInMessage(Call call, Fault fault) {
    String text = switch (fault) {
      case SERVER_ERROR -> "HTTP 503";
      case RESET_BEFORE_RESPONSE, RESET_MID_RESPONSE -> "reset";
      case HANG -> "no answer within 1s (read timeout)";
      case TRUNCATED -> "the answer ended after";
      case OVERSIZED, OVERSIZED_CHUNKED -> "the IdP's response exceeded 1 MiB";
      case SLOW_DRIP -> "no complete answer within 1.5s";
      // what failed, in words: never the answer's content type or body
      case HTML_200, NOT_JSON_200 -> call == Call.DISCOVERY ? "is not a JSON object" : "instead of JSON";
      case EMPTY_200 -> call == Call.DISCOVERY ? "is not a JSON object" : "empty body";
      case WRONG_CONTENT_TYPE -> "";
    };
    if (call == Call.JWKS && Set.of(Fault.HTML_200, Fault.NOT_JSON_200, Fault.EMPTY_200, Fault.TRUNCATED)
        .contains(fault)) {
      return fault == Fault.TRUNCATED ? "the answer ended after" : "Unable to parse JWK set";
    }
    return text;
  }

  private static void check(Row row) {
    Kind expected = expected(row.call(), row.fault());
    assertThat(row.outcome().kind()).as("outcome (%s)", row.outcome().message()).isEqualTo(expected);
    if (expected != Kind.SUCCESS) {
      assertThat(row.outcome().message()).containsIgnoringCase(expectedInMessage(row.call(), row.fault()));
      assertThat(row.outcome().message()).as("bounded message").hasSizeLessThanOrEqualTo(1000);
      assertThat(row.outcome().message()).as("no content type or body repeated")
          .doesNotContainIgnoringCase("text/html").doesNotContainIgnoringCase("text/plain")
          .doesNotContain("<html").doesNotContain("\n");
    }
    if (expected == Kind.UNVERIFIED) {
      assertThat(row.outcome().message()).contains("the IdP issued tokens, but its signing keys");
    }
    assertThat(Duration.ofMillis(row.millis())).as("call duration")
        .isLessThanOrEqualTo(CONNECT.plus(READ).plus(SLACK));
    // the JDK resends a request once when its connection fails before the status line; never more
    assertThat(row.requests()).as("requests at the faulty endpoint")
        .isEqualTo(row.fault() == Fault.RESET_BEFORE_RESPONSE ? 2 : 1);
    if (row.fault() == Fault.OVERSIZED || row.fault() == Fault.OVERSIZED_CHUNKED) {
      // with a Content-Length of 1 GiB the client refuses on the header; without one it reads 1 MiB and stops
      assertThat(row.endlessBytes()).as("bytes of the 1 GiB body sent before the client stopped reading")
          .isGreaterThanOrEqualTo(row.fault() == Fault.OVERSIZED_CHUNKED ? 1024 * 1024 : 0)
          .isLessThan(64L * 1024 * 1024);
    }
    assertThat(row.healed().kind()).as("after heal (%s)", row.healed().message()).isEqualTo(healedKind(row));
  }

  /**
   * The same call once the fault is gone. A refresh the IdP answered (the fault came after it) can't be repeated: the
   * IdP rotated the refresh token and refuses the old one (invalid_grant) — whether the answer was lost on the way or
   * arrived (wrong content type). No client can change that.
   */
  private static Kind healedKind(Row row) {
    if (row.call() == Call.TOKEN_REFRESH && row.fault().forwarded()) {
      return Kind.REJECTED;
    }
    return Kind.SUCCESS;
  }

  /** One case: set up what the call needs with the IdP healthy, inject the fault, call, heal, call again. */
  private static Row runCase(Call call, Fault fault) throws Exception {
    NimbusIdentityProviderClient client = newClient(); // empty discovery and JWKS caches
    proxy.heal();
    client.discover(provider, false);
    DeviceAuthorization grant = client.startDeviceAuthorization(provider);
    Login login = idp.lastLogin();
    String refreshToken = null;
    if (call == Call.TOKEN_REFRESH || call == Call.REVOCATION) {
      login.approve(Claims.user("alice"));
      refreshToken = ((TokenPollResult.Issued) client.pollToken(provider, grant.deviceCode())).tokens().refreshToken();
      client = newClient(); // the refresh must fetch the JWKS itself
      client.discover(provider, false);
    } else if (call == Call.JWKS) {
      login.approve(Claims.user("alice"));
    }
    Endpoint endpoint = switch (call) {
      case DISCOVERY -> Endpoint.DISCOVERY;
      case DEVICE_AUTHORIZATION -> Endpoint.DEVICE_AUTHORIZATION;
      case TOKEN_POLL, TOKEN_REFRESH -> Endpoint.TOKEN;
      case JWKS -> Endpoint.JWKS;
      case REVOCATION -> Endpoint.REVOCATION;
    };
    int before = proxy.requests(endpoint).size();
    long bytesBefore = proxy.endlessBytesSent();
    if (fault != null) {
      proxy.fail(endpoint, fault);
    }
    long start = System.nanoTime();
    Outcome outcome = call(client, call, grant, refreshToken, null);
    long millis = (System.nanoTime() - start) / 1_000_000;
    int requests = proxy.requests(endpoint).size() - before;
    long endless = proxy.endlessBytesSent() - bytesBefore;
    proxy.heal();
    Outcome healed = call(client, call, grant, refreshToken, outcome);
    return new Row(call, fault, outcome, millis, requests, endless, healed);
  }

  /** Calls the client; {@code previous} is the faulty call's outcome when this is the call after heal. */
  private static Outcome call(
      NimbusIdentityProviderClient client, Call call, DeviceAuthorization grant, String refreshToken,
      Outcome previous) {
    try {
      return switch (call) {
        case DISCOVERY -> new Outcome(Kind.SUCCESS, "", client.discover(provider, true));
        case DEVICE_AUTHORIZATION -> new Outcome(Kind.SUCCESS, "", client.startDeviceAuthorization(provider));
        case TOKEN_POLL -> poll(client.pollToken(provider, grant.deviceCode()));
        case JWKS -> previous == null
            ? poll(client.pollToken(provider, grant.deviceCode()))
            : previous.value() instanceof TokenPollResult.Unverified unverified
                ? poll(client.verifyIssued(provider, unverified.tokens()))
                : previous; // issued despite the fault: the device code is used up
        case TOKEN_REFRESH -> refresh(client.refresh(provider, refreshToken));
        case REVOCATION -> client.revoke(provider, refreshToken)
            ? new Outcome(Kind.SUCCESS, "", true)
            : new Outcome(Kind.OTHER, "no revocation endpoint", false);
      };
    } catch (IdpException e) {
      return new Outcome(e.kind() == IdpException.Kind.UNAVAILABLE ? Kind.UNAVAILABLE : Kind.REJECTED, e.getMessage(),
          e);
    }
  }

  private static Outcome poll(TokenPollResult result) {
    if (result instanceof TokenPollResult.Unavailable u) {
      return new Outcome(Kind.UNAVAILABLE, u.message(), result);
    }
    if (result instanceof TokenPollResult.Unverified u) {
      return new Outcome(Kind.UNVERIFIED, u.message(), result);
    }
    if (result instanceof TokenPollResult.Invalid i) {
      return new Outcome(Kind.REJECTED, i.message(), result);
    }
    if (result instanceof TokenPollResult.Issued || result instanceof TokenPollResult.Pending) {
      return new Outcome(Kind.SUCCESS, "", result);
    }
    return new Outcome(Kind.OTHER, String.valueOf(result), result);
  }

  private static Outcome refresh(TokenRefreshResult result) {
    if (result instanceof TokenRefreshResult.Unavailable u) {
      return new Outcome(Kind.UNAVAILABLE, u.message(), result);
    }
    if (result instanceof TokenRefreshResult.Unverified u) {
      return new Outcome(Kind.UNVERIFIED, u.message(), result);
    }
    if (result instanceof TokenRefreshResult.Rejected r) {
      return new Outcome(Kind.REJECTED, r.message(), result);
    }
    if (result instanceof TokenRefreshResult.Invalid i) {
      return new Outcome(Kind.REJECTED, i.message(), result);
    }
    return new Outcome(Kind.SUCCESS, "", result);
  }

  private static void report(List<Row> rows) {
    Map<Fault, Long> maxByFault = new EnumMap<>(Fault.class);
    Map<Call, Long> maxByCall = new EnumMap<>(Call.class);
    StringBuilder out = new StringBuilder("[IdpFaultMatrixTest] " + rows.size() + " cases, connect " + CONNECT.toMillis()
        + " ms, read " + READ.toMillis() + " ms, deadline " + CONNECT.plus(READ).toMillis() + " ms\n");
    for (Row row : rows) {
      maxByFault.merge(row.fault(), row.millis(), Math::max);
      maxByCall.merge(row.call(), row.millis(), Math::max);
      String message = row.outcome().message();
      out.append(String.format(Locale.ROOT, "  %-20s %-22s %-11s %5d ms %d req %9d B  healed %-8s %s%n",
          row.call(), row.fault(), row.outcome().kind(), row.millis(), row.requests(), row.endlessBytes(),
          row.healed().kind(), message.length() > 140 ? message.substring(0, 140) + "…" : message));
    }
    out.append("  slowest call per fault (ms): ").append(maxByFault).append('\n');
    out.append("  slowest call per endpoint (ms): ").append(maxByCall);
    System.out.println(out);
  }

  // ---- JWKS rotation and outage after the token endpoint issued tokens

  @Test
  void aSigningKeyRotatedMidFlowIsFoundByRefetchingTheJwksOnce() throws Exception {
    NimbusIdentityProviderClient client = newClient();
    assertThat(login(client)).isInstanceOf(TokenPollResult.Issued.class); // JWKS fetched and cached
    int fetches = proxy.requests(Endpoint.JWKS).size();
    idp.rotateSigningKey();
    try {
      TokenPollResult second = login(client);
      assertThat(second).as("a token signed with the new key").isInstanceOf(TokenPollResult.Issued.class);
      assertThat(proxy.requests(Endpoint.JWKS).size() - fetches).as("JWKS refetched once for the new key id")
          .isEqualTo(1);
      TokenPollResult third = login(client);
      assertThat(third).isInstanceOf(TokenPollResult.Issued.class);
      assertThat(proxy.requests(Endpoint.JWKS).size() - fetches).as("the new key is cached").isEqualTo(1);
    } finally {
      idp.rotateSigningKey();
    }
  }

  @Test
  void aKeyIdStillUnknownAfterTheRefetchIsARealRejectionNotAnOutage() throws Exception {
    NimbusIdentityProviderClient client = newClient();
    assertThat(login(client)).isInstanceOf(TokenPollResult.Issued.class);
    for (int i = 0; i < 3; i++) { // every such token refetches once and is rejected: no rate limit turns it into waiting
      int fetches = proxy.requests(Endpoint.JWKS).size();
      TokenPollResult result = login(client, TokenVariant.UNKNOWN_KEY);
      assertThat(result).isInstanceOf(TokenPollResult.Invalid.class);
      assertThat(((TokenPollResult.Invalid) result).message()).contains("the ID token was rejected");
      assertThat(proxy.requests(Endpoint.JWKS).size() - fetches).isEqualTo(1);
    }
  }

  /** Issue #11, memory: what is held unchecked during a JWKS outage is bounded; a larger answer is dropped. */
  @Test
  void tokensTooLargeToHoldDuringAJwksOutageAreDroppedNotHeld() throws Exception {
    NimbusIdentityProviderClient client = newClient();
    assertThat(login(client)).isInstanceOf(TokenPollResult.Issued.class);
    idp.rotateSigningKey();
    proxy.fail(Endpoint.JWKS, Fault.SERVER_ERROR);
    DeviceAuthorization grant = client.startDeviceAuthorization(provider);
    idp.lastLogin().approve(Claims.user("alice").claim("padding", "x".repeat(IdpLimits.MAX_UNVERIFIED_CHARS)));

    TokenPollResult result = client.pollToken(provider, grant.deviceCode());

    assertThat(result).isInstanceOf(TokenPollResult.Invalid.class);
    assertThat(((TokenPollResult.Invalid) result).message())
        .contains("too large to hold until they can be", String.valueOf(IdpLimits.MAX_UNVERIFIED_CHARS));
  }

  @Test
  void aRotationDuringAJwksOutageWaitsForTheKeysAndSucceedsOnceTheJwksIsBack() throws Exception {
    NimbusIdentityProviderClient client = newClient();
    assertThat(login(client)).isInstanceOf(TokenPollResult.Issued.class);
    idp.rotateSigningKey();
    proxy.fail(Endpoint.JWKS, Fault.SERVER_ERROR);
    try {
      DeviceAuthorization grant = client.startDeviceAuthorization(provider);
      idp.lastLogin().approve(Claims.user("alice"));
      TokenPollResult first = client.pollToken(provider, grant.deviceCode());
      assertThat(first).isInstanceOf(TokenPollResult.Unverified.class);
      UnverifiedTokens held = ((TokenPollResult.Unverified) first).tokens();
      assertThat(held.toString()).doesNotContain(idp.lastLogin().issuedTokens().get(0).refreshToken());
      assertThat(client.verifyIssued(provider, held)).as("still down").isInstanceOf(TokenPollResult.Unverified.class);
      assertThat(client.pollToken(provider, grant.deviceCode())).as("the device code is used up at the IdP")
          .isInstanceOf(TokenPollResult.Invalid.class);
      proxy.heal();
      TokenPollResult checked = client.verifyIssued(provider, held);
      assertThat(checked).isInstanceOf(TokenPollResult.Issued.class);
      assertThat(((TokenPollResult.Issued) checked).tokens().idToken())
          .isEqualTo(idp.lastLogin().issuedTokens().get(0).idToken());
    } finally {
      proxy.heal();
      idp.rotateSigningKey();
    }
  }

  @Test
  void refreshedTokensWaitForTheKeysLikeIssuedOnes() throws Exception {
    NimbusIdentityProviderClient first = newClient();
    TokenPollResult issued = login(first);
    String refreshToken = ((TokenPollResult.Issued) issued).tokens().refreshToken();
    NimbusIdentityProviderClient client = newClient(); // no keys cached
    int reusesBefore = idp.refreshTokenReuseCount();
    proxy.fail(Endpoint.JWKS, Fault.HANG);
    try {
      TokenRefreshResult result = client.refresh(provider, refreshToken);
      assertThat(result).isInstanceOf(TokenRefreshResult.Unverified.class);
      assertThat(((TokenRefreshResult.Unverified) result).message()).contains("no answer within 1s (read timeout)");
      proxy.heal();
      TokenRefreshResult checked = client.verifyRefreshed(provider, ((TokenRefreshResult.Unverified) result).tokens());
      assertThat(checked).isInstanceOf(TokenRefreshResult.Refreshed.class);
      assertThat(idp.refreshTokenReuseCount() - reusesBefore).as("the rotated refresh token was never presented again")
          .isZero();
    } finally {
      proxy.heal();
    }
  }

  @Test
  void tokensWhoseKeysStayUnavailableAreDroppedOnceTheIdTokenWouldHaveExpired() throws Exception {
    AtomicReference<Instant> now = new AtomicReference<>(Instant.now());
    Clock clock = new Clock() {
      @Override
      public ZoneOffset getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(java.time.ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        return now.get();
      }
    };
    NimbusIdentityProviderClient client = newClient(clock);
    proxy.fail(Endpoint.JWKS, Fault.SERVER_ERROR);
    try {
      DeviceAuthorization grant = client.startDeviceAuthorization(provider);
      idp.lastLogin().approve(Claims.user("alice"));
      TokenPollResult first = client.pollToken(provider, grant.deviceCode());
      UnverifiedTokens held = ((TokenPollResult.Unverified) first).tokens();
      Instant exp = Instant.now().plusSeconds(300); // FakeIdp's default token lifetime
      assertThat(held.checkUntil()).isBetween(exp.plusSeconds(55), exp.plusSeconds(65));
      now.set(held.checkUntil().plusSeconds(1));
      proxy.heal();
      TokenPollResult late = client.verifyIssued(provider, held);
      assertThat(late).isInstanceOf(TokenPollResult.Invalid.class);
      assertThat(((TokenPollResult.Invalid) late).message())
          .contains("could not be fetched before the ID token expired");
    } finally {
      proxy.heal();
    }
  }

  // ---- clock skew between the IdP and the operator

  @Test
  void idTokensFromAnIdpClockWithinSixtySecondsAreAcceptedAndBeyondAreRefusedWithTheSkewNamed() throws Exception {
    assertThat(NimbusIdentityProviderClient.ID_TOKEN_CLOCK_SKEW).isEqualTo(Duration.ofSeconds(60));
    NimbusIdentityProviderClient client = newClient();
    Map<String, TokenPollResult> results = new TreeMap<>();
    try {
      // iat in the future: the IdP's clock is ahead
      idp.tokenLifetime(300).clockSkew(Duration.ofSeconds(50));
      results.put("iat +50s", login(client));
      idp.clockSkew(Duration.ofSeconds(70));
      results.put("iat +70s", login(client));
      // exp in the past: the IdP's clock is behind by more than the token lifetime (30 s tokens)
      idp.tokenLifetime(30).clockSkew(Duration.ofSeconds(-80));
      results.put("exp -50s", login(client));
      idp.clockSkew(Duration.ofSeconds(-100));
      results.put("exp -70s", login(client));
    } finally {
      idp.tokenLifetime(300).clockSkew(Duration.ZERO);
    }
    System.out.println("[IdpFaultMatrixTest] clock skew: " + results);
    assertThat(results.get("iat +50s")).isInstanceOf(TokenPollResult.Issued.class);
    assertThat(results.get("exp -50s")).isInstanceOf(TokenPollResult.Issued.class);
    assertThat(results.get("iat +70s")).isInstanceOf(TokenPollResult.Invalid.class);
    assertThat(((TokenPollResult.Invalid) results.get("iat +70s")).message())
        .contains("ahead of the operator's clock").contains("60s of clock skew").contains("NTP");
    assertThat(results.get("exp -70s")).isInstanceOf(TokenPollResult.Invalid.class);
    assertThat(((TokenPollResult.Invalid) results.get("exp -70s")).message())
        .contains("Expired JWT").contains("before the operator's clock").contains("60s of clock skew");
  }

  /** A whole login against the healthy IdP: device authorization, approval, one poll. */
  private static TokenPollResult login(NimbusIdentityProviderClient client, TokenVariant... variants)
      throws IdpException {
    DeviceAuthorization grant = client.startDeviceAuthorization(provider);
    idp.lastLogin().approve(Claims.user("alice"), variants);
    return client.pollToken(provider, grant.deviceCode());
  }
}
