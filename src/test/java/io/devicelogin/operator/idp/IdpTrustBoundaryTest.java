package io.devicelogin.operator.idp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.nimbusds.common.contenttype.ContentType;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.util.JSONObjectUtils;
import io.devicelogin.operator.metrics.OperatorMetrics;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.DiscoveryMode;
import io.devicelogin.operator.testidp.FakeIdp;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import net.minidev.json.JSONObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The IdP trust boundary, attacked over HTTP as a tenant (who controls a namespaced IdentityProvider's issuer) or a
 * hostile IdP would: each attack must fail with a clear outcome and without a request reaching where it aimed.
 */
class IdpTrustBoundaryTest {

  private FakeIdp idp;
  private ConnectionCounter denied;

  @BeforeEach
  void start() {
    idp = FakeIdp.start();
  }

  @AfterEach
  void stop() throws IOException {
    idp.close();
    if (denied != null) {
      denied.close();
    }
  }

  // ---- SSRF: where requests may go

  @Test
  void aNamespacedProviderOnLoopbackSendsNothingWhileAClusterProviderOnLoopbackLogsIn() throws Exception {
    NimbusIdentityProviderClient client = client(EgressGuard.defaults());

    IdpException refused = catchThrowableOfType(IdpException.class,
        () -> client.discover(namespaced(idp.issuer()), true));
    assertThat(refused.kind()).isEqualTo(IdpException.Kind.NOT_ALLOWED);
    assertThat(refused.getMessage()).contains("the discovery endpoint").contains("IDP_DENIED_CIDRS");
    assertThat(idp.requests()).as("requests that reached the IdP").isEmpty();

    ProviderConfig cluster = new ProviderConfig(URI.create(idp.issuer()), "cli", null, null, List.of("openid"));
    DeviceAuthorization grant = client.startDeviceAuthorization(cluster);
    idp.lastLogin().approve(Claims.user("alice"));
    assertThat(client.pollToken(cluster, grant.deviceCode()))
        .as("a ClusterIdentityProvider is the admin's and exempt").isInstanceOf(TokenPollResult.Issued.class);
  }

  @Test
  void aHostNameThatResolvesToADeniedAddressIsRefusedWithoutAConnection() throws Exception {
    NimbusIdentityProviderClient client = client(EgressGuard.defaults().withResolver(host ->
        new InetAddress[] {InetAddress.getByName(host.equals("idp.test") ? "127.0.0.1" : "192.0.2.1")}));

    IdpException refused = catchThrowableOfType(IdpException.class,
        () -> client.discover(namespaced("http://idp.test:" + port() + "/realms/test"), true));

    assertThat(refused.kind()).isEqualTo(IdpException.Kind.NOT_ALLOWED);
    assertThat(refused.getMessage()).contains("the discovery endpoint").doesNotContain("127.0.0.1");
    assertThat(idp.requests()).isEmpty();
  }

  @Test
  void aNameThatRebindsToADeniedAddressAfterDiscoveryReachesNothing() throws Exception {
    denied = ConnectionCounter.bind("127.0.0.2", port());
    AtomicInteger lookups = new AtomicInteger();
    EgressGuard guard = EgressGuard.parse("127.0.0.2/32").withResolver(host -> new InetAddress[] {
        InetAddress.getByName(lookups.incrementAndGet() == 1 ? "127.0.0.1" : "127.0.0.2")});
    idp.intercept(rewriteDiscovery(json -> JSONObjectUtils.parse(
        json.toJSONString().replace("127.0.0.1", "idp.test").replace("\\/", "/"))));
    NimbusIdentityProviderClient client = client(guard);
    ProviderConfig provider = namespaced("http://idp.test:" + port() + "/realms/test");

    assertThat(client.discover(provider, false).tokenEndpoint().getHost()).isEqualTo("idp.test");
    IdpException refused = catchThrowableOfType(IdpException.class, () -> client.startDeviceAuthorization(provider));

    assertThat(refused.kind()).isEqualTo(IdpException.Kind.NOT_ALLOWED);
    assertThat(refused.getMessage()).contains("the device authorization endpoint").contains("IDP_DENIED_CIDRS");
    assertThat(denied.connections()).as("connections to the denied address").isZero();
    assertThat(idp.requests()).extracting(r -> r.path())
        .containsExactly("/realms/test/.well-known/openid-configuration");
  }

  @ParameterizedTest
  @CsvSource({
      "token_endpoint, token, http://169.254.169.254/latest/meta-data/iam/",
      "device_authorization_endpoint, device authorization, http://127.0.0.1:{denied}/device",
      "jwks_uri, JWKS, https://other.example/jwks",
      "revocation_endpoint, revocation, http://127.0.0.1:{denied}/revoke"})
  void aDiscoveryDocumentPointingAnEndpointElsewhereIsRefusedForANamespacedProvider(
      String member, String kind, String target) throws Exception {
    denied = ConnectionCounter.bind("127.0.0.1", 0);
    String elsewhere = target.replace("{denied}", String.valueOf(denied.port()));
    idp.intercept(rewriteDiscovery(json -> {
      json.put(member, elsewhere);
      return json;
    }));
    // no CIDR denied: the IdP runs on loopback here, the origin rule alone must refuse
    NimbusIdentityProviderClient client = client(EgressGuard.none());
    ProviderConfig provider = namespaced(idp.issuer());

    IdpException refused = catchThrowableOfType(IdpException.class, () -> client.discover(provider, true));
    assertThat(refused.kind()).isEqualTo(IdpException.Kind.NOT_ALLOWED);
    assertThat(refused.getMessage()).contains("the " + kind + " endpoint on another origin").doesNotContain(elsewhere);
    IdpException again = catchThrowableOfType(IdpException.class, () -> client.startDeviceAuthorization(provider));
    assertThat(again.kind()).isEqualTo(IdpException.Kind.NOT_ALLOWED);
    assertThat(denied.connections()).isZero();
    assertThat(idp.requests()).extracting(r -> r.path()).containsOnly("/realms/test/.well-known/openid-configuration");

    ProviderConfig cluster = new ProviderConfig(URI.create(idp.issuer()), "cli", null, null, List.of("openid"));
    assertThat(client.discover(cluster, true)).as("a ClusterIdentityProvider may use other origins").isNotNull();
  }

  // ---- caches

  @Test
  void caBundlesThatCollideUnderHashCodeDoNotShareADiscoveryEntry() throws Exception {
    assertThat("Aa".hashCode()).isEqualTo("BB".hashCode());
    NimbusIdentityProviderClient client = client(EgressGuard.none());
    URI issuer = URI.create(idp.issuer());

    client.discover(new ProviderConfig(issuer, "cli", null, "Aa", List.of("openid")), false);
    client.discover(new ProviderConfig(issuer, "cli", null, "BB", List.of("openid")), false);
    client.discover(new ProviderConfig(issuer, "cli", null, "Aa", List.of("openid")), false);

    assertThat(idp.requestsTo(idp.discoveryUri())).as("one fetch per distinct caBundle").hasSize(2);
  }

  @Test
  void cachesStayBoundedAfterFiveThousandDistinctProviders() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }
    NimbusIdentityProviderClient client = client(EgressGuard.none());
    long start = System.nanoTime();
    for (int i = 0; i < 5000; i++) {
      URI issuer = URI.create("http://127.0.0.1:" + closedPort + "/realms/p" + i);
      catchThrowableOfType(IdpException.class,
          () -> client.discover(new ProviderConfig(issuer, "cli", null, null, List.of()), false));
    }
    System.out.printf("5,000 failing discoveries in %d ms%n", (System.nanoTime() - start) / 1_000_000);
    assertThat(client.cacheSizes()[0]).isEqualTo(NimbusIdentityProviderClient.CACHE_ENTRIES);
  }

  @Test
  void aFailingDiscoveryIsAskedOncePerBackOffPeriodAndAForcedRefreshOnlyAfterTheFirstPeriod() throws Exception {
    idp.discovery(DiscoveryMode.SERVER_ERROR);
    MutableClock clock = new MutableClock();
    NimbusIdentityProviderClient client = client(EgressGuard.none(), clock);
    ProviderConfig provider = new ProviderConfig(URI.create(idp.issuer()), "cli", null, null, List.of("openid"));
    Runnable tenLogins = () -> {
      for (int i = 0; i < 10; i++) {
        catchThrowableOfType(IdpException.class, () -> client.startDeviceAuthorization(provider));
      }
    };

    tenLogins.run();
    assertThat(discoveries()).as("first failure").isEqualTo(1);
    clock.advance(Duration.ofSeconds(29));
    tenLogins.run();
    catchThrowableOfType(IdpException.class, () -> client.discover(provider, true));
    assertThat(discoveries()).as("within 30 s, forced refresh included").isEqualTo(1);
    clock.advance(Duration.ofSeconds(1));
    tenLogins.run();
    assertThat(discoveries()).as("after 30 s").isEqualTo(2);
    clock.advance(Duration.ofSeconds(59));
    tenLogins.run();
    assertThat(discoveries()).as("the second back-off is 60 s").isEqualTo(2);
    catchThrowableOfType(IdpException.class, () -> client.discover(provider, true));
    catchThrowableOfType(IdpException.class, () -> client.discover(provider, true));
    assertThat(discoveries()).as("the provider check may try once 30 s after the last failure").isEqualTo(3);

    idp.discovery(DiscoveryMode.NORMAL);
    clock.advance(Duration.ofMinutes(5));
    assertThat(client.discover(provider, false)).as("back after at most 5 minutes").isNotNull();
    assertThat(discoveries()).isEqualTo(4);
  }

  @Test
  void aSlowDiscoveryIsAskedOnceHoweverManyLoginsWaitForIt() throws Exception {
    idp.delay(Duration.ofMillis(1500));
    NimbusIdentityProviderClient client = client(EgressGuard.none());
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(16);
    try {
      List<java.util.concurrent.Future<ProviderEndpoints>> results = new java.util.ArrayList<>();
      for (int i = 0; i < 16; i++) {
        results.add(pool.submit(() -> client.discover(cluster(), false)));
      }
      for (java.util.concurrent.Future<ProviderEndpoints> result : results) {
        assertThat(result.get(10, java.util.concurrent.TimeUnit.SECONDS).tokenEndpoint())
            .isEqualTo(idp.tokenEndpoint());
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(discoveries()).as("discovery requests for 16 concurrent logins").isEqualTo(1);
  }

  // ---- values the IdP sends

  @ParameterizedTest
  @CsvSource({"1000000000, 0, 1800, 5", "3, 100000, 3, 60", "600, 1, 600, 1"})
  void grantLifetimeAndIntervalAreClamped(int expiresIn, int interval, long lifetime, long pollEvery)
      throws Exception {
    idp.expiresIn(expiresIn).interval(interval);
    NimbusIdentityProviderClient client = client(EgressGuard.none());
    Instant before = Instant.now();
    DeviceAuthorization grant = client.startDeviceAuthorization(cluster());
    assertThat(Duration.between(before, grant.expiresAt()).toSeconds()).isBetween(lifetime - 1, lifetime);
    assertThat(grant.interval()).isEqualTo(Duration.ofSeconds(pollEvery));
  }

  static java.util.stream.Stream<String> unsafeValues() {
    return java.util.stream.Stream.of(
        "verification_uri=javascript:alert(document.cookie)",
        "verification_uri=data:text/html;base64,PHNjcmlwdD4=",
        "verification_uri=http://evil.example/device",
        "verification_uri=https://user@evil.example/device",
        "verification_uri=https:/device",
        "verification_uri_complete=javascript:alert(1)",
        "verification_uri_complete=https://idp.example/device?user_code=WDJB-MJHT&pad=" + "x".repeat(2048),
        "user_code=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "user_code=WDJB\u001b[2JMJHT",
        "user_code=WDJB\u202eTHJM",
        "user_code=WDJB\nMJHT");
  }

  @ParameterizedTest
  @MethodSource("unsafeValues")
  void unsafeVerificationUrisAndUserCodesAreNeverPublished(String replacement) throws Exception {
    String member = replacement.substring(0, replacement.indexOf('='));
    String value = replacement.substring(replacement.indexOf('=') + 1);
    idp.intercept((request, proceed) -> {
      HTTPResponse response = proceed.get();
      if (request.path().endsWith("/auth/device")) {
        JSONObject json = json(response.getBody());
        json.put("verification_uri", "https://idp.example/device");
        json.put("verification_uri_complete", "https://idp.example/device?user_code=WDJB-MJHT");
        json.put(member, value);
        response.setBody(json.toJSONString());
      }
      return response;
    });
    NimbusIdentityProviderClient client = client(EgressGuard.none());
    // a provider that does not allow insecure http, talking to a test IdP on http
    ProviderConfig provider = new ProviderConfig(
        URI.create(idp.issuer()), "cli", null, null, List.of("openid"), null, false, null);

    IdpException refused = catchThrowableOfType(IdpException.class, () -> client.startDeviceAuthorization(provider));

    assertThat(refused.kind()).isEqualTo(IdpException.Kind.REJECTED);
    assertThat(refused.getMessage()).contains("does not publish").contains(member)
        .doesNotContain(value).doesNotContain("evil").doesNotContain("javascript").doesNotContain("\u001b");
  }

  @Test
  void anHttpVerificationUriIsPublishedWhereTheProviderAllowsInsecureHttp() throws Exception {
    DeviceAuthorization grant = client(EgressGuard.none()).startDeviceAuthorization(cluster());
    assertThat(grant.verificationUri()).isEqualTo(idp.verificationUri());
    assertThat(grant.userCode()).matches("[A-Z]{4}-[A-Z]{4}");
  }

  @Test
  void hostileErrorTextIsMadeSafeAndBounded() throws Exception {
    String description = "bad client\n2026-11-30 INFO forged log line\r\n\u001b[31mred\u001b[0m " + "x".repeat(10_000);
    idp.intercept((request, proceed) -> {
      if (!request.path().endsWith("/auth/device") && !request.path().endsWith("/token")) {
        return proceed.get();
      }
      HTTPResponse response = new HTTPResponse(400);
      response.setEntityContentType(ContentType.APPLICATION_JSON);
      response.setBody(new JSONObject(Map.of("error", "invalid_client", "error_description", description))
          .toJSONString());
      return response;
    });
    NimbusIdentityProviderClient client = client(EgressGuard.none());

    IdpException refused = catchThrowableOfType(IdpException.class, () -> client.startDeviceAuthorization(cluster()));
    TokenRefreshResult refresh = client.refresh(cluster(), "a-refresh-token");

    assertThat(refresh).isInstanceOf(TokenRefreshResult.Rejected.class);
    for (String message : List.of(refused.getMessage(), ((TokenRefreshResult.Rejected) refresh).message())) {
      assertThat(message).contains("bad client").contains("forged log line")
          .doesNotContain("\n").doesNotContain("\r").doesNotContain("\u001b").hasSizeLessThan(700);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"access_token", "refresh_token", "id_token"})
  void aTokenLargerThanTheBoundIsRefused(String member) throws Exception {
    idp.intercept((request, proceed) -> {
      HTTPResponse response = proceed.get();
      if (request.path().endsWith("/token") && response.getStatusCode() == 200) {
        JSONObject json = json(response.getBody());
        String original = (String) json.get(member);
        json.put(member, original + (member.equals("id_token") ? "" : "x".repeat(IdpLimits.MAX_TOKEN_CHARS)));
        if (member.equals("id_token")) {
          // a JWT with a huge claim: the size check comes before the signature check
          String[] parts = original.split("\\.");
          json.put(member, parts[0] + "." + "e".repeat(IdpLimits.MAX_TOKEN_CHARS) + "." + parts[2]);
        }
        response.setBody(json.toJSONString());
      }
      return response;
    });
    NimbusIdentityProviderClient client = client(EgressGuard.none());
    DeviceAuthorization grant = client.startDeviceAuthorization(cluster());
    idp.lastLogin().approve(Claims.user("alice"));

    TokenPollResult result = client.pollToken(cluster(), grant.deviceCode());

    assertThat(result).isInstanceOf(TokenPollResult.Invalid.class);
    assertThat(((TokenPollResult.Invalid) result).message()).contains(member).contains("64 KiB");
  }

  @Test
  void anIdTokenWithAnOversizedSubjectIsRefused() throws Exception {
    NimbusIdentityProviderClient client = client(EgressGuard.none());
    DeviceAuthorization grant = client.startDeviceAuthorization(cluster());
    idp.lastLogin().approve(Claims.subject("s".repeat(IdpLimits.MAX_IDENTITY_CLAIM_CHARS + 1)));

    TokenPollResult result = client.pollToken(cluster(), grant.deviceCode());

    assertThat(result).isInstanceOf(TokenPollResult.Invalid.class);
    assertThat(((TokenPollResult.Invalid) result).message()).contains("sub claim is longer than 1024");
  }

  // ---- helpers

  private static JSONObject json(String body) {
    try {
      return JSONObjectUtils.parse(body);
    } catch (com.nimbusds.oauth2.sdk.ParseException e) {
      throw new IllegalStateException(e);
    }
  }

  private int port() {
    return URI.create(idp.issuer()).getPort();
  }

  private int discoveries() {
    return idp.requestsTo(idp.discoveryUri()).size();
  }

  private ProviderConfig cluster() {
    return new ProviderConfig(URI.create(idp.issuer()), "cli", null, null, List.of("openid"));
  }

  /** A namespaced IdentityProvider's config that allows insecure http (the test IdP's). */
  private static ProviderConfig namespaced(String issuer) {
    return new ProviderConfig(URI.create(issuer), "cli", null, null, List.of("openid"), "team-a", true, null);
  }

  private static NimbusIdentityProviderClient client(EgressGuard guard) {
    return client(guard, Clock.systemUTC());
  }

  private static NimbusIdentityProviderClient client(EgressGuard guard, Clock clock) {
    return new NimbusIdentityProviderClient(Duration.ofSeconds(2), Duration.ofSeconds(3),
        new OperatorMetrics(new SimpleMeterRegistry()), clock, guard);
  }

  /** An interceptor that changes the discovery document. */
  private interface JsonRewrite {
    JSONObject apply(JSONObject json) throws Exception;
  }

  private static FakeIdp.Interceptor rewriteDiscovery(JsonRewrite rewrite) {
    return (request, proceed) -> {
      HTTPResponse response = proceed.get();
      if (request.path().endsWith("/.well-known/openid-configuration")) {
        try {
          response.setBody(rewrite.apply(JSONObjectUtils.parse(response.getBody())).toJSONString());
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }
      return response;
    };
  }

  /** A listener that counts the connections made to it (and closes them). */
  static final class ConnectionCounter implements AutoCloseable {
    private final ServerSocket socket;
    private final AtomicInteger connections = new AtomicInteger();

    private ConnectionCounter(ServerSocket socket) {
      this.socket = socket;
      Thread thread = new Thread(() -> {
        while (!socket.isClosed()) {
          try (Socket accepted = socket.accept()) {
            connections.incrementAndGet();
          } catch (IOException e) {
            return;
          }
        }
      }, "connection-counter");
      thread.setDaemon(true);
      thread.start();
    }

    static ConnectionCounter bind(String address, int port) throws IOException {
      ServerSocket socket = new ServerSocket();
      try {
        socket.bind(new InetSocketAddress(InetAddress.getByName(address), port));
      } catch (IOException e) {
        socket.close();
        assumeThat(e).as("this host cannot listen on %s:%d", address, port).isNull();
      }
      return new ConnectionCounter(socket);
    }

    int port() {
      return socket.getLocalPort();
    }

    int connections() {
      return connections.get();
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  /** A clock the test moves. */
  private static final class MutableClock extends Clock {
    private volatile Instant now = Instant.parse("2026-01-01T00:00:00Z");

    void advance(Duration duration) {
      now = now.plus(duration);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
