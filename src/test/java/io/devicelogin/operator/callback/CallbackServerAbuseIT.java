package io.devicelogin.operator.callback;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.http.HardenedServer;
import io.devicelogin.operator.http.HealthServer;
import io.devicelogin.operator.metrics.OperatorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Slow request bodies against a running {@link CallbackServer}, from outside over 127.0.0.1: a body that trickles in or
 * never comes is cut within the deadline and holds no thread meanwhile, so the endpoint keeps answering; the health
 * server, on the same hardened server, still takes no body. Prints the measured figures.
 */
class CallbackServerAbuseIT {

  private static final HardenedServer.Limits LIMITS = CallbackServer.LIMITS;
  private static final String MARKER = "zq7Xk3marker";

  private final List<Object> delivered = new CopyOnWriteArrayList<>();
  private CallbackServer server;

  @BeforeEach
  void start() throws IOException {
    server = CallbackServer.start(0, response -> {
      delivered.add(response);
      return Receipt.ACCEPTED;
    }, new OperatorMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void slowAndMissingBodiesAreCutInTimeAndHoldNoThread() throws Exception {
    int tricklers = 30;
    int silent = 30;
    String head = "POST /callback HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + "Content-Length: 2000\r\n\r\nredirect_url=" + MARKER;
    List<Socket> sockets = new ArrayList<>();
    List<Socket> trickling = new CopyOnWriteArrayList<>();
    ExecutorService readers = Executors.newCachedThreadPool();
    AtomicBoolean running = new AtomicBoolean(true);
    Thread trickle = new Thread(() -> {
      while (running.get()) {
        for (Socket socket : trickling) {
          try {
            socket.getOutputStream().write('a');
          } catch (IOException closed) {
            trickling.remove(socket);
          }
        }
        try {
          Thread.sleep(300);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "trickle");
    try {
      List<Future<Long>> cut = new ArrayList<>();
      for (int i = 0; i < tricklers + silent; i++) {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
        socket.setSoTimeout(15_000);
        sockets.add(socket);
        OutputStream out = socket.getOutputStream();
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        long opened = System.nanoTime();
        if (i < tricklers) {
          trickling.add(socket);
        }
        cut.add(readers.submit(() -> {
          RawHttp.Reply reply = RawHttp.read(socket.getInputStream(), head);
          assertThat(reply.status()).isEqualTo(408);
          assertThat(reply.header("connection")).isEqualTo("close");
          assertThat(reply.raw()).doesNotContain(MARKER);
          return (System.nanoTime() - opened) / 1_000_000;
        }));
      }
      trickle.start();

      // meanwhile the endpoint answers at once: the slow bodies hold none of its threads
      List<Long> latencies = new ArrayList<>();
      long deadline = System.nanoTime() + LIMITS.headTimeout().plusSeconds(1).toNanos();
      while (System.nanoTime() < deadline) {
        long t0 = System.nanoTime();
        assertThat(RawHttp.send(server.port(), "GET /callback HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .status()).isEqualTo(200);
        latencies.add((System.nanoTime() - t0) / 1_000_000);
        Thread.sleep(100);
      }
      long threads = Thread.getAllStackTraces().keySet().stream()
          .filter(t -> t.getName().startsWith("http-callback")).count();

      List<Long> cutAfter = new ArrayList<>();
      for (Future<Long> each : cut) {
        cutAfter.add(each.get(15, TimeUnit.SECONDS));
      }
      long limit = LIMITS.headTimeout().toMillis();
      assertThat(cutAfter).as("ms from sending the head to the 408")
          .allSatisfy(ms -> assertThat(ms).isBetween(limit - 100, limit + 1500));
      assertThat(Collections.max(latencies)).as("longest wait for the form page, ms").isLessThan(1000);
      assertThat(threads).as("http-callback threads").isLessThanOrEqualTo(LIMITS.threads() + 1);
      assertThat(delivered).isEmpty();
      System.out.printf("[CallbackServerAbuseIT] %d bodies trickling 1 byte/300 ms and %d never sent: all 408 after "
              + "%d–%d ms; %d form pages meanwhile, max %d ms; http-callback threads %d%n",
          tricklers, silent, Collections.min(cutAfter), Collections.max(cutAfter), latencies.size(),
          Collections.max(latencies), threads);
    } finally {
      running.set(false);
      trickle.interrupt();
      readers.shutdownNow();
      for (Socket socket : sockets) {
        socket.close();
      }
    }
  }

  @Test
  void aFloodOfDeliveriesReachesTheInboxAtTheStandardRate() throws Exception {
    int requests = 400;
    int limited = 0;
    long t0 = System.nanoTime();
    for (int i = 0; i < requests; i++) {
      int status = RawHttp.send(server.port(), "GET /callback?code=c" + i + "&state=" + MARKER
          + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").status();
      assertThat(status).isIn(200, 429);
      limited += status == 429 ? 1 : 0;
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertThat(delivered.size() + limited).isEqualTo(requests);
    assertThat(delivered.size()).as("deliveries in %.2f s", seconds)
        .isBetween(DeliveryRate.BURST, (int) Math.ceil(DeliveryRate.BURST + DeliveryRate.PER_SECOND * seconds) + 1);
    System.out.printf("[CallbackServerAbuseIT] %d deliveries in %.2f s, one client: %d reached the inbox, %d got 429%n",
        requests, seconds, delivered.size(), limited);
  }

  @Test
  void aBodyThatArrivesInPiecesInTimeIsRead() throws Exception {
    String body = "redirect_url=" + java.net.URLEncoder.encode("http://localhost:8000/?code=c&state=s",
        StandardCharsets.UTF_8);
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(("POST /callback HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
          + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + body.length() + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      for (String piece : new String[] {body.substring(0, 10), body.substring(10, 30), body.substring(30)}) {
        Thread.sleep(Duration.ofMillis(400).toMillis());
        out.write(piece.getBytes(StandardCharsets.US_ASCII));
        out.flush();
      }
      assertThat(RawHttp.read(socket.getInputStream(), "POST").status()).isEqualTo(200);
    }
    assertThat(delivered).hasSize(1);
  }

  @Test
  void theHealthServerStillRefusesEveryBody() throws Exception {
    try (HealthServer health = HealthServer.start(
        0, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), () -> true, () -> true)) {
      for (String request : new String[] {
          "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
              + "Content-Length: 3\r\n\r\na=b",
          "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
          "POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na"}) {
        RawHttp.Reply reply = RawHttp.send(health.port(), request);
        assertThat(reply.status()).as(request).isEqualTo(413);
        assertThat(reply.header("connection")).isEqualTo("close");
      }
    }
  }
}
