package io.devicelogin.operator.testing;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectRulesReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectRulesReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import io.fabric8.mockwebserver.internal.MockDispatcher;
import io.fabric8.mockwebserver.internal.SimpleRequest;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * A Kubernetes API stand-in: the fabric8 mock server in CRUD mode on 127.0.0.1, with the CRDs from crds/ installed.
 * It answers server-side apply with 415, so the operator's merge patches and updates are what gets exercised. The
 * CRUD store is {@link IndexedCrudDispatcher} (finds objects by name without scanning all of them).
 * Tests can queue failures ({@link #server()}{@code .expect()}); they are answered before the CRUD store. Every
 * request is recorded ({@link #requests()}); {@link #faults()} fails chosen requests (checked before the
 * expectations), and {@link #dropWatches()} closes the informers' watch connections from the server side.
 */
public final class MockCluster implements AutoCloseable {

  /** The mock server logs every request through java.util.logging at INFO; held so the level sticks. */
  private static final java.util.logging.Logger MOCK_SERVER_LOG = java.util.logging.Logger.getLogger("io.fabric8");

  static {
    MOCK_SERVER_LOG.setLevel(java.util.logging.Level.WARNING);
  }

  /** Header the test's own client sends, so its requests can be told apart from the operator's. */
  public static final String TEST_CLIENT_HEADER = "X-Devicelogin-Test-Client";

  private final KubernetesMockServer server;
  private final KubernetesClient client;
  private final Recorder recorder;

  private MockCluster(KubernetesMockServer server, KubernetesClient client, Recorder recorder) {
    this.server = server;
    this.client = client;
    this.recorder = recorder;
  }

  /** What the dispatcher shares with the cluster: the request log, the fault rules and the open watches. */
  private static final class Recorder {
    final Queue<ApiRequest> requests = new ConcurrentLinkedQueue<>();
    final ApiFaults faults = new ApiFaults();
    final Set<WebSocket> watches = ConcurrentHashMap.newKeySet();
  }

  /** Starts on a free port. */
  public static MockCluster start() {
    return start(0);
  }

  public static MockCluster start(int port) {
    return start(port, (request, proceed) -> proceed.apply(request));
  }

  /**
   * Starts on a free port and shows every request to {@code observer} before it is answered (the benchmark counts
   * API writes this way). The observer runs on the server's threads and must be quick.
   */
  public static MockCluster start(Consumer<RecordedRequest> observer) {
    return start(0, (request, proceed) -> {
      observer.accept(request);
      return proceed.apply(request);
    });
  }

  /**
   * Decides, for each request, what the mock server does with it: {@code proceed} applies it (recorded, faults,
   * expectations, then the CRUD store) and returns the normal answer; an interceptor may also answer without applying
   * it, or change the answer (e.g. {@link MockResponse#setBodyDelay} holds it back without blocking the server). It
   * runs on the server's only event-loop thread, so it must not block.
   */
  @FunctionalInterface
  public interface Interceptor {
    MockResponse intercept(RecordedRequest request, Function<RecordedRequest, MockResponse> proceed);
  }

  /** Starts on a free port with {@code interceptor} in front of everything else. */
  public static MockCluster start(Interceptor interceptor) {
    return start(0, interceptor);
  }

  private static MockCluster start(int port, Interceptor interceptor) {
    Map<ServerRequest, Queue<ServerResponse>> expectations = new HashMap<>();
    Recorder recorder = new Recorder();
    MockDispatcher canned = new MockDispatcher(expectations);
    IndexedCrudDispatcher crud = new IndexedCrudDispatcher();
    // As fabric8's KubernetesMixedDispatcher (queued expectations first, then the CRUD store), with the indexed store.
    Dispatcher dispatcher = new Dispatcher() {
      @Override
      public MockResponse dispatch(RecordedRequest request) {
        return interceptor.intercept(request, this::apply);
      }

      private MockResponse apply(RecordedRequest request) {
        ApiRequest seen = record(request);
        ApiFaults.Fault fault = recorder.faults.take(seen);
        recorder.requests.add(fault == null ? seen : new ApiRequest(seen.nanos(), seen.at(), seen.method(),
            seen.path(), seen.body(), seen.fromTest(), fault.status()));
        if (fault != null && fault.mode() == ApiFaults.Mode.REFUSE) {
          return failure(fault);
        }
        if (fault != null && fault.mode() == ApiFaults.Mode.WATCH_ERROR_EVENT) {
          return watchError(fault);
        }
        Queue<ServerResponse> queued =
            expectations.get(new SimpleRequest(HttpMethod.valueOf(request.getMethod()), request.getPath()));
        MockResponse response = queued != null && !queued.isEmpty() ? canned.dispatch(request) : crud.dispatch(request);
        if (fault != null) {
          return failure(fault);
        }
        if (seen.isWatch() && response.getWebSocketListener() != null) {
          return response.withWebSocketUpgrade(new TrackedWatch(response.getWebSocketListener(), recorder.watches));
        }
        return response;
      }
    };
    KubernetesMockServer server = new KubernetesMockServer(
        new Context(), new MockWebServer(), expectations, dispatcher, false);
    try {
      server.init(InetAddress.getLoopbackAddress(), port);
    } catch (RuntimeException e) {
      throw new IllegalStateException("cannot start the mock Kubernetes API on port " + port, e);
    }
    KubernetesClient client = server.createClient(builder -> builder.withHttpClientBuilderConsumer(
        http -> http.addOrReplaceInterceptor("test-client", new io.fabric8.kubernetes.client.http.Interceptor() {
          @Override
          public void before(io.fabric8.kubernetes.client.http.BasicBuilder request,
              io.fabric8.kubernetes.client.http.HttpRequest original, RequestTags tags) {
            request.header(TEST_CLIENT_HEADER, "true");
          }
        })));
    installCrds(client, Path.of("crds"));
    return new MockCluster(server, client, recorder);
  }

  /** The request as recorded; the body is read without consuming it (the CRUD store still reads it). */
  private static ApiRequest record(RecordedRequest request) {
    String body = "GET".equals(request.getMethod()) || request.getBody() == null
        ? null
        : new String(request.getBody().getBytes(), StandardCharsets.UTF_8);
    return new ApiRequest(System.nanoTime(), Instant.now(), request.getMethod(), request.getPath(), body,
        request.getHeader(TEST_CLIENT_HEADER) != null, 0);
  }

  private static MockResponse failure(ApiFaults.Fault fault) {
    return new MockResponse().setResponseCode(fault.status()).setHeader("Content-Type", "application/json")
        .setBody(Serialization.asJson(new StatusBuilder().withStatus("Failure").withCode(fault.status())
            .withReason(fault.reason()).withMessage("injected by the test: " + fault).build()));
  }

  /** A watch that sends one ERROR event with the fault's Status, then closes. */
  private static MockResponse watchError(ApiFaults.Fault fault) {
    String status = Serialization.asJson(new StatusBuilder().withStatus("Failure").withCode(fault.status())
        .withReason(fault.status() == 410 ? "Expired" : fault.reason())
        .withMessage("too old resource version (injected by the test)").build());
    return new MockResponse().withWebSocketUpgrade(new WebSocketListener() {
      @Override
      public void onOpen(WebSocket webSocket, Response response) {
        webSocket.send("{\"type\":\"ERROR\",\"object\":" + status + "}");
        webSocket.close(1000, "watch error");
      }
    });
  }

  /** A watch connection, remembered while open so that the test can close it from the server side. */
  private static final class TrackedWatch extends WebSocketListener {
    private final WebSocketListener delegate;
    private final Set<WebSocket> open;

    TrackedWatch(WebSocketListener delegate, Set<WebSocket> open) {
      this.delegate = delegate;
      this.open = open;
    }

    @Override
    public void onBeforeAccept(WebSocket webSocket, Response response) {
      delegate.onBeforeAccept(webSocket, response);
    }

    @Override
    public void onOpen(WebSocket webSocket, Response response) {
      open.add(webSocket);
      delegate.onOpen(webSocket, response);
    }

    @Override
    public void onMessage(WebSocket webSocket, String text) {
      delegate.onMessage(webSocket, text);
    }

    @Override
    public void onMessage(WebSocket webSocket, byte[] bytes) {
      delegate.onMessage(webSocket, bytes);
    }

    @Override
    public void onClosing(WebSocket webSocket, int code, String reason) {
      open.remove(webSocket);
      delegate.onClosing(webSocket, code, reason);
    }

    @Override
    public void onClosed(WebSocket webSocket, int code, String reason) {
      open.remove(webSocket);
      delegate.onClosed(webSocket, code, reason);
    }

    @Override
    public void onFailure(WebSocket webSocket, Throwable error, Response response) {
      open.remove(webSocket);
      delegate.onFailure(webSocket, error, response);
    }
  }

  /** Every request received so far, oldest first. */
  public List<ApiRequest> requests() {
    return new ArrayList<>(recorder.requests);
  }

  /** Fault rules: the next matching requests fail (see {@link ApiFaults}). */
  public ApiFaults faults() {
    return recorder.faults;
  }

  /**
   * Closes every open watch connection from the server side, as an API server restart or a load balancer dropping
   * idle connections would; returns how many were closed. The clients reconnect by themselves.
   */
  public int dropWatches() {
    List<WebSocket> open = new ArrayList<>(recorder.watches);
    open.forEach(webSocket -> webSocket.close(1001, "dropped by the test"));
    recorder.watches.removeAll(open);
    return open.size();
  }

  /** Watch connections open now. */
  public int openWatches() {
    return recorder.watches.size();
  }

  /** Installs every CRD YAML file in {@code directory}. */
  public static void installCrds(KubernetesClient client, Path directory) {
    try (Stream<Path> files = Files.list(directory)) {
      files.filter(f -> f.toString().endsWith(".yml") || f.toString().endsWith(".yaml")).sorted().forEach(f -> {
        try {
          CustomResourceDefinition crd = Serialization.unmarshal(Files.readString(f), CustomResourceDefinition.class);
          client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Answers every SelfSubjectRulesReview with "may get, create and update Leases", as RBAC from the chart would:
   * JOSDK checks that before it starts leader election, and the CRUD mock would otherwise echo the review back
   * without a status.
   */
  public MockCluster allowLeases() {
    SelfSubjectRulesReview review = new SelfSubjectRulesReviewBuilder()
        .withNewStatus().withIncomplete(false)
        .addNewResourceRule().withApiGroups("coordination.k8s.io").withResources("leases")
        .withVerbs("get", "create", "update").endResourceRule()
        .endStatus().build();
    server.expect().post().withPath("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews")
        .andReturn(201, review).always();
    return this;
  }

  /** A client for the mock API server; each call gives a new one the caller closes. */
  public KubernetesClient newClient() {
    return server.createClient();
  }

  /** For queueing canned answers (e.g. a 500 on the next Secret write) ahead of the CRUD behaviour. */
  public KubernetesMockServer server() {
    return server;
  }

  /** The client used to install the CRDs (closed with the cluster). */
  public KubernetesClient client() {
    return client;
  }

  public String url() {
    return client.getMasterUrl().toString();
  }

  @Override
  public void close() {
    client.close();
    server.destroy();
  }
}
