package io.devicelogin.operator.crash;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.oauth2.sdk.GrantType;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import io.devicelogin.operator.crash.KillPoint.Server;
import io.devicelogin.operator.crash.KillPoint.Variant;
import io.devicelogin.operator.jar.OperatorProcess;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testidp.RecordedRequest;
import io.devicelogin.operator.testing.MockCluster;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.http.MockResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The real operator (the shaded jar, a child process) against the mock API server and a {@link FakeIdp}, with a kill
 * switch in front of both: a request of a case whose kill point is armed and that matches it is held (the mock server
 * delays its answer without blocking, the IdP blocks the request's thread) and the process is SIGKILLed while it waits
 * for the answer. {@link Variant#BEFORE}: the held request is never applied / processed; {@link Variant#AFTER}: it is,
 * and only its answer is withheld. Every later request of that case is held and never takes effect, so the state the
 * next process finds is exactly the state at the kill point, even when several cases are held at once.
 *
 * <p>Each process authenticates to the API server with its own bearer token ({@code operator-<n>}): requests of a
 * killed process that arrive late are refused without being applied; the test's own client has no such token and is
 * never held.
 */
final class CrashRig implements AutoCloseable {

  static final String MARKER_ANNOTATION = TokenSecrets.REFRESH_STARTED_ANNOTATION;
  private static final String TOKEN_PREFIX = "operator-";
  private static final Duration HOLD = Duration.ofMinutes(10);

  private final MockCluster cluster;
  private final KubernetesClient client;
  private final FakeIdp idp;
  private final Map<String, CrashCase> byNamespace = new ConcurrentHashMap<>();
  private final Map<String, CrashCase> byClientId = new ConcurrentHashMap<>();
  private final Map<String, Boolean> deadTokens = new ConcurrentHashMap<>();
  private final List<String> outputs = new ArrayList<>();
  private final AtomicInteger lateRequestsRefused = new AtomicInteger();
  private final Map<String, AtomicInteger> operatorRequestsByVersion = new ConcurrentHashMap<>();
  /** PKCE verifiers of every grant Secret write the API server applied (for the leak scan). */
  private final List<String> verifiers = new java.util.concurrent.CopyOnWriteArrayList<>();
  /** Every status patch the API server applied (for the leak scan: a status may show a secret only briefly). */
  private final List<String> statusPatches = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private OperatorProcess operator;
  private int incarnation;
  private int httpPort;
  private int kills;
  private final List<Long> startMillis = new ArrayList<>();

  private CrashRig() {
    idp = FakeIdp.start().interval(1);
    idp.intercept(this::onIdp);
    cluster = MockCluster.start(this::onApi);
    client = new KubernetesClientBuilder().withConfig(
        new ConfigBuilder(cluster.client().getConfiguration()).withHttp2Disable(true).build()).build();
  }

  static CrashRig start() {
    return new CrashRig();
  }

  /** The test's own client (HTTP/1.1, see {@link #startOperator()}); never held. */
  KubernetesClient client() {
    return client;
  }

  FakeIdp idp() {
    return idp;
  }

  void register(CrashCase c) {
    byNamespace.put(c.namespace, c);
    byClientId.put(c.clientId, c);
  }

  void forget(CrashCase c) {
    byNamespace.remove(c.namespace);
    byClientId.remove(c.clientId);
  }

  // ---- the operator process

  synchronized void startOperator() {
    incarnation++;
    httpPort = freePort();
    // HTTP/1.1 to the mock server: over plain HTTP the JDK client asks for an h2c upgrade, and the mock server's
    // h2c framing intermittently breaks on large bodies (fabric8 kubernetes-client PR 7662; the opt-out came after
    // 7.5.2); fabric8 reads http2.disable from the environment as HTTP2_DISABLE. A real API server speaks TLS with
    // ALPN; what is tested here is not the HTTP version.
    // Every held case blocks a reconcile thread (two if JOSDK retries it) until the kill: enough threads that the
    // other cases of a wave of 36 still reach their kill points (with 16 they starved in a wave of 18; the default is
    // now 32).
    operator = OperatorProcess.start(cluster.url(), TOKEN_PREFIX + incarnation,
        Map.of("HTTP_PORT", String.valueOf(httpPort), "OPERATOR_NAMESPACE", "devicelogin-system",
            "HTTP2_DISABLE", "true", "RECONCILE_THREADS", "96"));
  }

  /** Waits until the current process serves /readyz; returns how long it took since it was started. */
  long awaitReady(Duration timeout, long startedAtNanos) {
    try {
      await().atMost(timeout).pollInterval(Duration.ofMillis(50)).until(() -> {
        if (!operator.isAlive()) {
          throw new IllegalStateException("the operator process exited: " + operator.output());
        }
        return get("/readyz") == 200;
      });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new IllegalStateException("the operator process was not ready within " + timeout + ":\n"
          + operator.output(), e);
    }
    long millis = (System.nanoTime() - startedAtNanos) / 1_000_000;
    synchronized (this) {
      startMillis.add(millis);
    }
    return millis;
  }

  /**
   * SIGKILL the process; its held requests are let go (the IdP drops them unanswered); requests of the killed process
   * that still arrive are refused.
   */
  synchronized void kill() throws InterruptedException {
    deadTokens.put(TOKEN_PREFIX + incarnation, true);
    operator.kill();
    kills++;
    outputs.add(operator.output());
    byNamespace.values().forEach(CrashCase::killed);
  }

  /** After a kill: the next process's requests pass. */
  void resume() {
    byNamespace.values().forEach(CrashCase::resumed);
  }

  synchronized int kills() {
    return kills;
  }

  synchronized List<Long> startMillis() {
    return List.copyOf(startMillis);
  }

  /** How many requests the operator processes sent to the API server, by HTTP version. */
  Map<String, Integer> operatorRequestsByVersion() {
    Map<String, Integer> counts = new java.util.TreeMap<>();
    operatorRequestsByVersion.forEach((version, n) -> counts.put(version, n.get()));
    return counts;
  }

  int lateRequestsRefused() {
    return lateRequestsRefused.get();
  }

  List<String> verifiers() {
    return List.copyOf(verifiers);
  }

  List<String> statusPatches() {
    return List.copyOf(statusPatches);
  }

  /** The output of every process so far, the running one included: the operator's log. */
  synchronized String allOutput() {
    List<String> all = new ArrayList<>(outputs);
    if (operator != null && operator.isAlive()) {
      all.add(operator.output());
    }
    return String.join("\n", all);
  }

  synchronized String currentOutput() {
    return operator == null ? "" : operator.output();
  }

  String scrapeMetrics() {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private int get(String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
          .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  @Override
  public void close() {
    byNamespace.values().forEach(CrashCase::release);
    try {
      if (operator != null) {
        operator.close();
      }
    } finally {
      try {
        client.close();
        cluster.close();
      } finally {
        idp.close();
      }
    }
  }

  // ---- the API server side

  /** A request to the mock API server, as far as the kill points care. */
  record ApiCall(String method, String namespace, String plural, String name, String subresource, String body) {

    static ApiCall parse(io.fabric8.mockwebserver.http.RecordedRequest request) {
      String path = request.getPath();
      int query = path.indexOf('?');
      String[] parts = (query < 0 ? path : path.substring(0, query)).split("/");
      String namespace = null;
      String plural = null;
      String name = null;
      String subresource = null;
      for (int i = 0; i < parts.length; i++) {
        if (parts[i].equals("namespaces") && i + 1 < parts.length) {
          namespace = parts[i + 1];
          plural = i + 2 < parts.length ? parts[i + 2] : null;
          name = i + 3 < parts.length ? parts[i + 3] : null;
          subresource = i + 4 < parts.length ? parts[i + 4] : null;
          break;
        }
      }
      byte[] bytes = request.getBody() == null ? null : request.getBody().getBytes();
      return new ApiCall(request.getMethod(), namespace, plural, name, subresource,
          bytes == null ? "" : new String(bytes, StandardCharsets.UTF_8));
    }

    boolean is(String method, String plural, String name, String subresource) {
      return this.method.equals(method) && plural.equals(this.plural) && java.util.Objects.equals(name, this.name)
          && java.util.Objects.equals(subresource, this.subresource);
    }

    boolean isWriteOf(String plural, String name) {
      return ("PATCH".equals(method) || "PUT".equals(method)) && plural.equals(this.plural) && name.equals(this.name)
          && subresource == null;
    }

    @Override
    public String toString() {
      return method + " " + plural + (name == null ? "" : "/" + name) + (subresource == null ? "" : "/" + subresource);
    }
  }

  private MockResponse onApi(
      io.fabric8.mockwebserver.http.RecordedRequest request,
      Function<io.fabric8.mockwebserver.http.RecordedRequest, MockResponse> proceed) {
    String authorization = request.getHeader("Authorization");
    String token = authorization != null && authorization.startsWith("Bearer ") ? authorization.substring(7) : null;
    if (token == null || !token.startsWith(TOKEN_PREFIX)) {
      return proceed.apply(request); // the test's own client
    }
    operatorRequestsByVersion.computeIfAbsent(request.getHttpVersion(), v -> new AtomicInteger()).incrementAndGet();
    if (deadTokens.containsKey(token)) {
      lateRequestsRefused.incrementAndGet();
      return unavailable();
    }
    ApiCall call = ApiCall.parse(request);
    CrashCase c = call.namespace() == null ? null : byNamespace.get(call.namespace());
    if (c == null) {
      return proceed.apply(request);
    }
    CrashCase.Action action = c.admit(c.point.server == Server.API && matches(c.point, call), call.toString());
    switch (action) {
      case PASS -> {
        MockResponse response = proceed.apply(request);
        observe(c, call, response);
        return response;
      }
      case HOLD_POINT -> {
        if (c.variant == Variant.AFTER) {
          MockResponse response = proceed.apply(request);
          observe(c, call, response);
          return held(response);
        }
        return held(unavailable());
      }
      case HOLD_LATER -> {
        return held(unavailable());
      }
      default -> {
        return unavailable();
      }
    }
  }

  static boolean matches(KillPoint point, ApiCall call) {
    return switch (point) {
      case FINALIZER_ADD, FINALIZER_REMOVE, WAITING_FINALIZER_REMOVE -> call.isWriteOf("devicelogins", CrashCase.LOGIN);
      case GRANT_SECRET_CREATE, CODE_GRANT_SECRET_CREATE -> call.is("POST", "secrets", null, null)
          && call.body().contains("\"name\":\"" + CrashCase.GRANT_SECRET + "\"");
      case USER_CODE_STATUS -> call.is("PATCH", "devicelogins", CrashCase.LOGIN, "status")
          && call.body().contains("\"userCode\"");
      case AUTHORIZATION_URL_STATUS -> call.is("PATCH", "devicelogins", CrashCase.LOGIN, "status")
          && call.body().contains("\"authorizationUrl\"");
      case RESPONSE_STORED -> call.is("PUT", "secrets", CrashCase.GRANT_SECRET, null)
          && call.body().contains("\"response-code\"") && !call.body().contains("\"exchanging\"");
      case PASTED_SECRET_DELETE -> "DELETE".equals(call.method()) && "secrets".equals(call.plural())
          && call.name() != null && call.name().startsWith(CrashCase.PASTED);
      case EXCHANGING_MARK -> call.is("PUT", "secrets", CrashCase.GRANT_SECRET, null)
          && call.body().contains("\"exchanging\"");
      case TOKEN_SECRET_CREATE, CODE_TOKEN_SECRET_CREATE -> call.is("POST", "secrets", null, null)
          && call.body().contains("devicelogin.io/oidc-tokens");
      case READY_STATUS, CODE_READY_STATUS -> call.is("PATCH", "devicelogins", CrashCase.LOGIN, "status")
          && call.body().contains("\"phase\":\"Ready\"") && call.body().contains("\"reason\":\"Issued\"");
      case GRANT_SECRET_DELETE, WAITING_GRANT_DELETE, CODE_GRANT_SECRET_DELETE -> call.is("DELETE", "secrets", CrashCase.GRANT_SECRET, null);
      case REFRESH_MARKER -> call.is("PUT", "secrets", CrashCase.SECRET, null)
          && call.body().contains(MARKER_ANNOTATION);
      case REFRESHED_SECRET -> call.is("PUT", "secrets", CrashCase.SECRET, null)
          && !call.body().contains(MARKER_ANNOTATION);
      case REFRESHED_STATUS -> call.is("PATCH", "devicelogins", CrashCase.LOGIN, "status")
          && call.body().contains("\"reason\":\"Refreshed\"");
      case TOKEN_SECRET_DELETE -> call.is("DELETE", "secrets", CrashCase.SECRET, null);
      default -> false;
    };
  }

  /**
   * Notes what an applied write means for the case: a published user code or authorization URL, a stored refresh token,
   * a status; and what the leak scan must look for (PKCE verifiers) and where (status patches).
   */
  private void observe(CrashCase c, ApiCall call, MockResponse response) {
    if (response.code() < 200 || response.code() > 299) {
      return;
    }
    try {
      if (call.is("PATCH", "devicelogins", CrashCase.LOGIN, "status")) {
        JsonNode status = Serialization.jsonMapper().readTree(call.body()).get(0).get("value");
        String reason = "";
        for (JsonNode condition : status.path("conditions")) {
          if ("Ready".equals(condition.path("type").asText())) {
            reason = condition.path("reason").asText();
          }
        }
        c.status(status.path("phase").asText() + "/" + reason);
        statusPatches.add(call.body());
        if (status.hasNonNull("userCode")) {
          c.published(status.get("userCode").asText());
        }
        if (status.hasNonNull("authorizationUrl")) {
          c.published(status.get("authorizationUrl").asText());
        }
      } else if ("secrets".equals(call.plural()) && ("POST".equals(call.method()) || "PUT".equals(call.method()))
          && call.body().contains("devicelogin.io/oidc-tokens")) {
        Secret secret = Serialization.unmarshal(call.body(), Secret.class);
        String refreshToken = secret.getData() == null ? null : secret.getData().get("refresh-token");
        if (refreshToken != null) {
          c.stored(new String(Base64.getDecoder().decode(refreshToken), StandardCharsets.UTF_8));
        }
      } else if ("secrets".equals(call.plural()) && ("POST".equals(call.method()) || "PUT".equals(call.method()))
          && call.body().contains("\"code-verifier\"")) {
        Secret secret = Serialization.unmarshal(call.body(), Secret.class);
        verifiers.add(new String(Base64.getDecoder().decode(secret.getData().get("code-verifier")),
            StandardCharsets.UTF_8));
      }
    } catch (IOException | RuntimeException e) {
      c.note("could not read the body of " + call + ": " + e);
    }
  }

  /** The answer goes out only after {@link #HOLD}: the operator is killed while it waits for it. */
  private static MockResponse held(MockResponse response) {
    if (response.getBody() == null || response.getBody().size() == 0) {
      response.setBody("{}");
    }
    return response.setBodyDelay(HOLD);
  }

  private static MockResponse unavailable() {
    return new MockResponse().setResponseCode(503)
        .setBody("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"code\":503,"
            + "\"message\":\"held by the crash test\"}");
  }

  // ---- the IdP side

  private HTTPResponse onIdp(RecordedRequest request, Supplier<HTTPResponse> proceed) {
    String clientId = clientId(request);
    CrashCase c = clientId == null ? null : byClientId.get(clientId);
    if (c == null) {
      return proceed.get();
    }
    if (isCodeExchange(request)) {
      c.codeSent(request.param("code")); // each one the operator sent, whatever becomes of it
    }
    CrashCase.Action action;
    HTTPResponse answer = null;
    // Under the case's lock, so the person can't approve between the decision and the IdP processing the poll.
    synchronized (c) {
      action = c.admit(c.point.server == Server.IDP && matches(c, request), describe(request));
      if (action == CrashCase.Action.PASS || action == CrashCase.Action.HOLD_POINT && c.variant == Variant.AFTER) {
        answer = proceed.get();
      }
    }
    return switch (action) {
      case PASS -> answer;
      case HOLD_POINT, HOLD_LATER -> {
        c.awaitRelease();
        yield null; // the operator is gone: close without an answer
      }
      case DROP -> null;
    };
  }

  private static boolean matches(CrashCase c, RecordedRequest request) {
    String path = request.path();
    String grantType = request.param("grant_type");
    boolean devicePoll = path.endsWith("/token") && GrantType.DEVICE_CODE.getValue().equals(grantType);
    return switch (c.point) {
      case DEVICE_AUTHORIZATION -> path.endsWith("/auth/device");
      case FIRST_PENDING_POLL -> devicePoll && !c.isApproved(request.param("device_code"));
      case TOKEN_POLL -> devicePoll && c.isApproved(request.param("device_code"));
      case REFRESH_REQUEST -> path.endsWith("/token") && GrantType.REFRESH_TOKEN.getValue().equals(grantType);
      case REVOCATION -> path.endsWith("/revoke");
      case CODE_EXCHANGE -> isCodeExchange(request);
      default -> false;
    };
  }

  private static boolean isCodeExchange(RecordedRequest request) {
    return request.path().endsWith("/token")
        && GrantType.AUTHORIZATION_CODE.getValue().equals(request.param("grant_type"));
  }

  private static String describe(RecordedRequest request) {
    String grantType = request.param("grant_type");
    return "IdP " + request.method() + " " + request.path().replaceFirst(".*/protocol/openid-connect", "")
        + (grantType == null ? "" : " " + grantType.replaceFirst(".*:", ""));
  }

  /** The client a request authenticates as: client_secret_basic, else the form's client_id. */
  static String clientId(RecordedRequest request) {
    String authorization = request.authorization();
    if (authorization != null && authorization.startsWith("Basic ")) {
      String decoded = new String(Base64.getDecoder().decode(authorization.substring(6)), StandardCharsets.UTF_8);
      int colon = decoded.indexOf(':');
      return URLDecoder.decode(colon < 0 ? decoded : decoded.substring(0, colon), StandardCharsets.UTF_8);
    }
    return request.param("client_id");
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
