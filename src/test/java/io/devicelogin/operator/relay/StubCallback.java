package io.devicelogin.operator.relay;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/** The operator's callback endpoint as the relay sees it: answers a status the test sets and records every request. */
final class StubCallback implements AutoCloseable {

  /** One request as it arrived: header names lower case. */
  record Received(String method, String path, String rawQuery, Map<String, List<String>> headers) {}

  private final HttpServer server;
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final AtomicInteger status = new AtomicInteger(200);
  private volatile Duration delay = Duration.ZERO;

  private StubCallback(HttpServer server) {
    this.server = server;
  }

  static StubCallback start() throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(Executors.newCachedThreadPool());
    StubCallback stub = new StubCallback(server);
    server.createContext("/", exchange -> {
      Map<String, List<String>> headers = new TreeMap<>();
      exchange.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(), List.copyOf(values)));
      URI uri = exchange.getRequestURI();
      stub.received.add(new Received(exchange.getRequestMethod(), uri.getRawPath(), uri.getRawQuery(), headers));
      try {
        Thread.sleep(stub.delay.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      byte[] page = "<p>answer of the stub</p>".getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(stub.status.get(), page.length);
      exchange.getResponseBody().write(page);
      exchange.close();
    });
    server.start();
    return stub;
  }

  /** The status every following request gets. */
  StubCallback answer(int status) {
    this.status.set(status);
    return this;
  }

  /** How long every following request waits before it is answered. */
  StubCallback delay(Duration delay) {
    this.delay = delay;
    return this;
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/callback";
  }

  List<Received> received() {
    return List.copyOf(received);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
