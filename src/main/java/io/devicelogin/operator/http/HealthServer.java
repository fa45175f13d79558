package io.devicelogin.operator.http;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Response;

/** Serves /metrics (Prometheus text), /healthz and /readyz on a {@link HardenedServer}. */
public final class HealthServer implements AutoCloseable {

  private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
  private static final String PLAIN_TEXT = "text/plain; charset=utf-8";

  /** A page's status, content type and body. */
  private record Page(int status, String contentType, String body) {
  }

  private final HardenedServer server;

  private HealthServer(HardenedServer server) {
    this.server = server;
  }

  /**
   * @param live whether the operator should keep running (false: restart me)
   * @param ready whether the operator is started and its informers are healthy
   * @throws IOException when the port cannot be bound
   */
  public static HealthServer start(
      int port, PrometheusMeterRegistry registry, BooleanSupplier live, BooleanSupplier ready) throws IOException {
    Map<String, Supplier<Page>> pages = Map.of(
        "/metrics", () -> new Page(200, PROMETHEUS_TEXT, registry.scrape()),
        "/healthz", () -> probe(live),
        "/readyz", () -> probe(ready));
    return new HealthServer(HardenedServer.start("http-health", port, HardenedServer.Limits.DEFAULT,
        (request, response, callback) -> {
          Supplier<Page> page = pages.get(request.getHttpURI().getPath());
          if (page == null) {
            return false;
          }
          if (!HttpMethod.GET.is(request.getMethod()) && !HttpMethod.HEAD.is(request.getMethod())) {
            response.getHeaders().put(HttpHeader.ALLOW, "GET, HEAD");
            Response.writeError(request, response, callback, HttpStatus.METHOD_NOT_ALLOWED_405);
            return true;
          }
          Page answer = page.get();
          HardenedServer.respond(response, answer.status(), answer.contentType(), answer.body(), callback);
          return true;
        }));
  }

  private static Page probe(BooleanSupplier check) {
    boolean ok = check.getAsBoolean();
    return new Page(ok ? 200 : 503, PLAIN_TEXT, ok ? "ok\n" : "not ready\n");
  }

  public int port() {
    return server.port();
  }

  @Override
  public void close() {
    server.close();
  }
}
