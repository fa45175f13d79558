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
import io.fabric8.mockwebserver.internal.MockDispatcher;
import io.fabric8.mockwebserver.internal.SimpleRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Queue;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A Kubernetes API stand-in: the fabric8 mock server in CRUD mode on 127.0.0.1, with the CRDs from crds/ installed.
 * It answers server-side apply with 415, so the operator's merge patches and updates are what gets exercised. The
 * CRUD store is {@link IndexedCrudDispatcher} (finds objects by name without scanning all of them).
 * Tests can queue failures ({@link #server()}{@code .expect()}); they are answered before the CRUD store.
 */
public final class MockCluster implements AutoCloseable {

  /** The mock server logs every request through java.util.logging at INFO; held so the level sticks. */
  private static final java.util.logging.Logger MOCK_SERVER_LOG = java.util.logging.Logger.getLogger("io.fabric8");

  static {
    MOCK_SERVER_LOG.setLevel(java.util.logging.Level.WARNING);
  }

  private final KubernetesMockServer server;
  private final KubernetesClient client;

  private MockCluster(KubernetesMockServer server, KubernetesClient client) {
    this.server = server;
    this.client = client;
  }

  /** Starts on a free port. */
  public static MockCluster start() {
    return start(0);
  }

  public static MockCluster start(int port) {
    return start(port, request -> {});
  }

  /**
   * Starts on a free port and shows every request to {@code observer} before it is answered (the benchmark counts
   * API writes this way). The observer runs on the server's threads and must be quick.
   */
  public static MockCluster start(Consumer<RecordedRequest> observer) {
    return start(0, observer);
  }

  private static MockCluster start(int port, Consumer<RecordedRequest> observer) {
    Map<ServerRequest, Queue<ServerResponse>> expectations = new HashMap<>();
    MockDispatcher canned = new MockDispatcher(expectations);
    IndexedCrudDispatcher crud = new IndexedCrudDispatcher();
    // As fabric8's KubernetesMixedDispatcher (queued expectations first, then the CRUD store), with the indexed store.
    Dispatcher dispatcher = new Dispatcher() {
      @Override
      public MockResponse dispatch(RecordedRequest request) {
        observer.accept(request);
        Queue<ServerResponse> queued =
            expectations.get(new SimpleRequest(HttpMethod.valueOf(request.getMethod()), request.getPath()));
        return queued != null && !queued.isEmpty() ? canned.dispatch(request) : crud.dispatch(request);
      }
    };
    KubernetesMockServer server = new KubernetesMockServer(
        new Context(), new MockWebServer(), expectations, dispatcher, false);
    try {
      server.init(InetAddress.getLoopbackAddress(), port);
    } catch (RuntimeException e) {
      throw new IllegalStateException("cannot start the mock Kubernetes API on port " + port, e);
    }
    KubernetesClient client = server.createClient();
    installCrds(client, Path.of("crds"));
    return new MockCluster(server, client);
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
