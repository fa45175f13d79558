package io.devicelogin.operator.http;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Attacks a running {@link HealthServer} from outside, over 127.0.0.1 only, the way any Pod that can reach the port
 * could, and asserts the kubelet's probes and the Prometheus scrape still get through, with the production limits
 * ({@link HardenedServer.Limits#DEFAULT}). Prints the measured figures (README "HTTP endpoints" quotes them).
 */
class HealthServerAbuseIT {

  private static final HardenedServer.Limits LIMITS = HardenedServer.Limits.DEFAULT;
  /** Put into every hostile request; must never come back. */
  private static final String MARKER = "zq7Xk3marker";
  private static final String[] PROBES = {"/healthz", "/readyz", "/metrics"};

  private PrometheusMeterRegistry registry;
  private HealthServer server;

  @BeforeEach
  void start() throws IOException {
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.counter("abuse_test_marker").increment();
    server = HealthServer.start(0, registry, () -> true, () -> true);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  // ---- what the endpoints answer

  @Test
  void probesAndMetricsAnswerAsBefore() throws IOException {
    Reply healthz = get("/healthz");
    assertThat(healthz.status()).isEqualTo(200);
    assertThat(healthz.header("content-type")).isEqualTo("text/plain; charset=utf-8");
    assertThat(healthz.body()).isEqualTo("ok\n");
    assertThat(get("/readyz").body()).isEqualTo("ok\n");
    Reply metrics = get("/metrics");
    assertThat(metrics.status()).isEqualTo(200);
    assertThat(metrics.header("content-type")).isEqualTo("text/plain; version=0.0.4; charset=utf-8");
    assertThat(metrics.body()).contains("abuse_test_marker_total 1.0");
    assertThat(metrics.header("content-length")).isEqualTo(
        String.valueOf(metrics.body().getBytes(StandardCharsets.UTF_8).length));
    assertThat(metrics.header("server")).as("no Server header").isNull();

    Reply head = send("HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertThat(head.status()).isEqualTo(200);
    assertThat(head.header("content-type")).isEqualTo("text/plain; version=0.0.4; charset=utf-8");
    assertThat(head.body()).isEmpty();

    assertThat(get("/healthz?x=1").status()).as("query ignored").isEqualTo(200);
    for (String other : new String[] {"/", "/healthz/x", "/metricsx", "/favicon.ico", "/readyz/"}) {
      assertThat(get(other).status()).as(other).isEqualTo(404);
    }
    Reply post = send("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assertThat(post.status()).isEqualTo(405);
    assertThat(post.header("allow")).isEqualTo("GET, HEAD");
  }

  @Test
  void notReadyAndNotLiveAre503() throws IOException {
    server.close();
    server = HealthServer.start(0, registry, () -> false, () -> false);
    for (String probe : new String[] {"/healthz", "/readyz"}) {
      Reply reply = get(probe);
      assertThat(reply.status()).as(probe).isEqualTo(503);
      assertThat(reply.body()).isEqualTo("not ready\n");
    }
  }

  // ---- (c) hostile requests: refused with a fixed answer, nothing of the request reflected

  @Test
  void hostileRequestsAreRefusedWithoutReflectingThem() throws Exception {
    List<ILoggingEvent> logged = capturingJettyWarnings(this::sendHostileRequests);
    // Jetty does warn with request input; the operator's log configuration keeps those warnings out
    assertThat(logged).as("the capture works").anySatisfy(e -> assertThat(e.getFormattedMessage()).contains(MARKER));
    LoggerContext production = productionLogConfiguration();
    assertThat(logged).filteredOn(e -> e.getLevel().isGreaterOrEqual(
            production.getLogger(e.getLoggerName()).getEffectiveLevel()))
        .as("log lines the operator's logback.xml lets through").noneSatisfy(e ->
            assertThat(e.getFormattedMessage() + e.getThrowableProxy()).contains(MARKER));
    assertThat(get("/healthz").status()).as("the server is fine afterwards").isEqualTo(200);
  }

  private void sendHostileRequests() throws IOException {
    String close = "Connection: close\r\n";
    String bigHeader = "X-Big: " + MARKER + "a".repeat(LIMITS.requestHeadBytes()) + "\r\n";
    assertRefused("GET /healthz HTTP/1.1\r\nHost: x\r\n" + bigHeader + "\r\n", 431);
    assertRefused("GET /healthz?" + MARKER + "=" + "a".repeat(LIMITS.requestHeadBytes())
        + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, 431);
    String manyHeaders = ("X-" + MARKER + ": 1\r\n").repeat(LIMITS.requestHeadBytes() / 10);
    assertRefused("GET /healthz HTTP/1.1\r\nHost: x\r\n" + manyHeaders + "\r\n", 431);
    // a body on GET: refused before it is read, and the connection is closed
    Reply body = assertRefused("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n" + MARKER + "abcd", 413);
    assertThat(body.header("connection")).isEqualTo("close");
    assertRefused("GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n" + MARKER
        + "abcd\r\n0\r\n\r\n", 413);
    assertRefused("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n" + MARKER, 413);
    // other methods, including TRACE (which would echo) and made-up ones
    for (String method : new String[] {"POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "CONNECT", MARKER}) {
      assertRefused(method + " /healthz HTTP/1.1\r\nHost: x\r\nX-Echo: " + MARKER + "\r\n" + close + "\r\n", 400, 405);
    }
    assertRefused("CONNECT " + MARKER + ":443 HTTP/1.1\r\nHost: x\r\n" + close + "\r\n", 400, 404, 405);
    assertRefused("CONNECT /" + MARKER + " HTTP/1.1\r\nHost: x\r\n" + close + "\r\n", 400, 404, 405);
    // paths, hosts and request lines with markup or junk
    assertRefused("GET /<script>" + MARKER + "</script> HTTP/1.1\r\nHost: x\r\n" + close + "\r\n", 400, 404);
    assertRefused("GET /nope/" + MARKER + " HTTP/1.1\r\nHost: x\r\n" + close + "\r\n", 404);
    assertRefused("GET /%2e%2e/" + MARKER + " HTTP/1.1\r\nHost: x\r\n" + close + "\r\n", 400, 404);
    assertRefused("GET http://" + MARKER + "/nope HTTP/1.1\r\nHost: x\r\n" + close + "\r\n", 400, 404);
    assertRefused("GET /nope HTTP/1.1\r\nHost: " + MARKER + "<b>\r\n" + close + "\r\n", 400, 404);
    assertRefused("GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header " + MARKER + "\r\n\r\n", 400);
    assertRefused("GET /healthz HTTP/7." + MARKER + "\r\nHost: x\r\n\r\n", 400, 505);
    assertRefused("GET /healthz HTTP/1.1\r\nHost: x\r\nHost: " + MARKER + "\r\n\r\n", 400);
    assertRefused(MARKER + "\r\n\r\n", 400);
  }

  /** Runs {@code attack} with org.eclipse.jetty logging at WARN (the tests' own configuration says ERROR). */
  private static List<ILoggingEvent> capturingJettyWarnings(Attempt attack) throws Exception {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    ListAppender<ILoggingEvent> capture = new ListAppender<>();
    capture.setContext(context);
    capture.start();
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    Logger jetty = context.getLogger("org.eclipse.jetty");
    Level before = jetty.getLevel();
    root.addAppender(capture);
    jetty.setLevel(Level.WARN);
    try {
      attack.run();
    } finally {
      jetty.setLevel(before);
      root.detachAppender(capture);
    }
    return List.copyOf(capture.list);
  }

  private interface Attempt {
    void run() throws Exception;
  }

  /** src/main/resources/logback.xml, as the operator loads it. */
  private static LoggerContext productionLogConfiguration() throws Exception {
    LoggerContext context = new LoggerContext();
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    configurator.doConfigure(HealthServerAbuseIT.class.getClassLoader().getResource("logback.xml"));
    return context;
  }

  private Reply assertRefused(String request, Integer... statuses) throws IOException {
    Reply reply = send(request);
    assertThat(reply.status()).as(request.lines().findFirst().orElse("")).isIn((Object[]) statuses);
    assertThat(reply.raw()).doesNotContain(MARKER).doesNotContainIgnoringCase("jetty");
    assertThat(reply.body()).isEqualTo(reply.status() + " " + reason(reply.raw()) + "\n");
    return reply;
  }

  private static String reason(String raw) {
    String statusLine = raw.substring(0, raw.indexOf("\r\n"));
    return statusLine.substring("HTTP/1.1 000 ".length());
  }

  // ---- (a) slowloris

  @Test
  void slowlorisNeitherBlocksProbesNorKeepsItsConnections() throws Exception {
    int silent = 200;
    int dribblers = 20;
    try (Attack attack = new Attack(server.port())) {
      for (int i = 0; i < silent; i++) {
        attack.open("GET /healthz HT", false);
      }
      for (int i = 0; i < dribblers; i++) {
        attack.open("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", true);
      }
      List<Long> latencies = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(12).toNanos();
      while (attack.closed() < silent + dribblers && System.nanoTime() < deadline) {
        probeRound(latencies, 1000);
        Thread.sleep(100);
      }
      long headLimit = LIMITS.headTimeout().toMillis();
      // a half request line that stalls is an unfinished head: cut by the head deadline, before the idle timeout
      assertThat(attack.closedAfterMillis(false)).as("silent sockets the server closed").hasSize(silent)
          .allSatisfy(ms -> assertThat(ms).isBetween(headLimit - 200, LIMITS.idleTimeout().toMillis() + 2000));
      assertThat(attack.closedAfterMillis(true)).as("dribbling sockets the server closed").hasSize(dribblers)
          .allSatisfy(ms -> assertThat(ms).isBetween(headLimit, 2 * headLimit + 2000));
      assertThat(attack.bytesDribbled()).as("bytes the dribblers got in, ~1 per second each")
          .isLessThan(dribblers * (2 * headLimit / 1000 + 3));
      long threads = httpThreads();
      assertThat(threads).as("http-health threads").isLessThanOrEqualTo(LIMITS.threads() + 1);
      System.out.printf("[HealthServerAbuseIT] slowloris (%d silent half request lines, %d dribbling 1 byte/s): "
              + "%d probes, p50 %d ms, max %d ms; silent closed after %s ms, dribblers after %s ms; "
              + "http-health threads %d%n",
          silent, dribblers, latencies.size(), percentile(latencies, 50), percentile(latencies, 100),
          range(attack.closedAfterMillis(false)), range(attack.closedAfterMillis(true)), threads);
    }
    assertThat(get("/healthz").status()).isEqualTo(200);
  }

  // ---- (b) more connections than the limit

  @Test
  void probesGetThroughWhenTheConnectionLimitIsReached() throws Exception {
    int beyond = 40;
    try (Attack attack = new Attack(server.port())) {
      for (int i = 0; i < LIMITS.maxConnections() + beyond; i++) {
        attack.open("", false);
      }
      List<Long> latencies = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(9).toNanos();
      while (System.nanoTime() < deadline) {
        // the chart's probes allow 3 s
        probeRound(latencies, LIMITS.idleTimeoutAtLimit().toMillis() + 1500);
        Thread.sleep(100);
      }
      List<Long> closed = attack.closedAfterMillis(false);
      assertThat(closed).as("idle connections closed by the server").hasSize(LIMITS.maxConnections() + beyond);
      long atLimit = closed.stream().filter(ms -> ms < LIMITS.idleTimeout().toMillis() - 500).count();
      assertThat(atLimit).as("closed early, by the idle timeout at the limit").isGreaterThanOrEqualTo(beyond);
      System.out.printf("[HealthServerAbuseIT] %d idle connections against a limit of %d: %d probes, p50 %d ms, "
              + "max %d ms; %d closed by the idle timeout at the limit (%s ms), all closed after %s ms; "
              + "http-health threads %d%n",
          LIMITS.maxConnections() + beyond, LIMITS.maxConnections(), latencies.size(), percentile(latencies, 50),
          percentile(latencies, 100), atLimit,
          range(closed.stream().filter(ms -> ms < LIMITS.idleTimeout().toMillis() - 500).toList()), range(closed),
          httpThreads());
    }
  }

  /**
   * The worst case for the limit: every connection trickles a request head, a byte every 300 ms, so none is idle
   * even for the 1 s idle timeout at the limit. While the limit is reached the request-head deadline cuts a dribbling
   * connection at its first look (within 0.5–1 s) instead of after the whole deadline, so a probe waiting in the
   * backlog gets in within about a second. The same hardened server with a limit of 50 (opening 512 sockets on a busy
   * machine takes longer than the deadline, so they would never all be open at once).
   */
  @Test
  void whenTricklingConnectionsFillTheLimitTheyAreCutSoonAndProbesGetIn() throws Exception {
    HardenedServer.Limits limits = new HardenedServer.Limits(LIMITS.idleTimeout(), LIMITS.headTimeout(), 50,
        LIMITS.idleTimeoutAtLimit(), LIMITS.requestHeadBytes(), LIMITS.threads());
    int attackers = limits.maxConnections() + 10;
    try (HardenedServer limited = HardenedServer.start("http-limited", 0, limits, (request, response, callback) -> {
          HardenedServer.respond(response, 200, "text/plain; charset=utf-8", "ok\n", callback);
          return true;
        });
        Attack attack = new Attack(limited.port(), Duration.ofMillis(300))) {
      for (int i = 0; i < attackers; i++) {
        attack.open("GET /healthz HTTP/1.1\r\nX-Slow: ", true);
      }
      List<Long> latencies = new ArrayList<>();
      long headMillis = LIMITS.headTimeout().toMillis();
      long deadline = System.nanoTime() + Duration.ofMillis(5 * headMillis).toNanos();
      while (System.nanoTime() < deadline && attack.closed() < attackers) {
        long t0 = System.nanoTime();
        Reply reply = send(limited.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        latencies.add((System.nanoTime() - t0) / 1_000_000);
        assertThat(reply.status()).isEqualTo(200);
        Thread.sleep(100);
      }
      assertThat(Collections.max(latencies)).as("the longest wait of a probe, ms").isLessThan(2000);
      List<Long> closed = attack.closedAfterMillis(true);
      assertThat(closed).as("trickling connections closed by the server").hasSize(attackers)
          .allSatisfy(ms -> assertThat(ms).isLessThan(4 * headMillis + 2000));
      System.out.printf("[HealthServerAbuseIT] %d connections trickling a head (a byte every 300 ms) against a limit "
              + "of %d: %d probes, p50 %d ms, max %d ms; closed after %s ms%n",
          attackers, limits.maxConnections(), latencies.size(), percentile(latencies, 50), percentile(latencies, 100),
          range(closed));
    }
  }

  /** One GET of each probe path: 200 within {@code maxMillis}; adds the latencies. */
  private void probeRound(List<Long> latencies, long maxMillis) throws IOException {
    for (String probe : PROBES) {
      long t0 = System.nanoTime();
      Reply reply = get(probe);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertThat(reply.status()).as(probe).isEqualTo(200);
      assertThat(ms).as("%s under attack, ms", probe).isLessThan(maxMillis);
      latencies.add(ms);
    }
  }

  private static long httpThreads() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("http-health")).count();
  }

  private static long percentile(List<Long> values, int percent) {
    List<Long> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get(Math.max(0, (int) Math.ceil(percent / 100.0 * sorted.size()) - 1));
  }

  private static String range(List<Long> values) {
    return values.isEmpty() ? "-" : Collections.min(values) + "–" + Collections.max(values);
  }

  // ---- a raw HTTP/1.1 client: one request per connection, read to the end

  private record Reply(String raw, int status, String head, String body) {
    String header(String name) {
      return head.lines().skip(1).filter(l -> l.toLowerCase().startsWith(name + ":"))
          .map(l -> l.substring(name.length() + 1).trim()).findFirst().orElse(null);
    }
  }

  private Reply get(String path) throws IOException {
    return send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  }

  private Reply send(String request) throws IOException {
    return send(server.port(), request);
  }

  private static Reply send(int port, String request) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      byte[] buffer = new byte[8192];
      try {
        for (int n; (n = in.read(buffer)) >= 0; ) {
          bytes.write(buffer, 0, n);
        }
      } catch (java.net.SocketException reset) {
        // the server closed with unread request bytes: what it answered before is in bytes
      }
      String raw = bytes.toString(StandardCharsets.UTF_8);
      int end = raw.indexOf("\r\n\r\n");
      assertThat(end).as("a complete response head to %s", request.lines().findFirst().orElse("")).isPositive();
      return new Reply(raw, Integer.parseInt(raw.substring(9, 12)), raw.substring(0, end), raw.substring(end + 4));
    }
  }

  /**
   * Hostile sockets, all driven by one thread: each sends its opening bytes; dribblers then send one more byte
   * every second (or as given). Records when the server closes each one (end of stream or reset).
   */
  private static final class Attack implements AutoCloseable {

    private final InetSocketAddress address;
    private final Selector selector;
    private final List<Conn> conns = Collections.synchronizedList(new ArrayList<>());
    /** Registered by the loop's thread: register() from another thread waits for the select under way. */
    private final Queue<Conn> toRegister = new ConcurrentLinkedQueue<>();
    private final ConcurrentHashMap<Conn, Long> closedAt = new ConcurrentHashMap<>();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;
    private final long dribbleNanos;
    private volatile long dribbled;

    private record Conn(SocketChannel channel, boolean dribbler, long openedNanos) {
    }

    Attack(int port) throws IOException {
      this(port, Duration.ofSeconds(1));
    }

    Attack(int port, Duration dribbleEvery) throws IOException {
      dribbleNanos = dribbleEvery.toNanos();
      address = new InetSocketAddress("127.0.0.1", port);
      selector = Selector.open();
      thread = new Thread(this::loop, "attack");
      thread.setDaemon(true);
      thread.start();
    }

    void open(String opening, boolean dribbler) throws IOException {
      SocketChannel channel = SocketChannel.open(address);
      channel.write(ByteBuffer.wrap(opening.getBytes(StandardCharsets.US_ASCII)));
      channel.configureBlocking(false);
      Conn conn = new Conn(channel, dribbler, System.nanoTime());
      conns.add(conn);
      toRegister.add(conn);
      selector.wakeup();
    }

    private void loop() {
      long nextDribble = System.nanoTime();
      ByteBuffer sink = ByteBuffer.allocate(4096);
      while (running.get()) {
        try {
          for (Conn conn; (conn = toRegister.poll()) != null; ) {
            conn.channel().register(selector, SelectionKey.OP_READ, conn);
          }
          selector.select(100);
          for (SelectionKey key : selector.selectedKeys()) {
            Conn conn = (Conn) key.attachment();
            sink.clear();
            int n;
            try {
              n = conn.channel().read(sink);
            } catch (IOException reset) {
              n = -1;
            }
            if (n < 0) {
              closedAt.putIfAbsent(conn, System.nanoTime());
              key.cancel();
            }
          }
          selector.selectedKeys().clear();
          if (System.nanoTime() >= nextDribble) {
            nextDribble += dribbleNanos;
            for (Conn conn : conns.toArray(Conn[]::new)) {
              if (conn.dribbler() && !closedAt.containsKey(conn)) {
                try {
                  conn.channel().write(ByteBuffer.wrap(new byte[] {'a'}));
                  dribbled++;
                } catch (IOException closed) {
                  closedAt.putIfAbsent(conn, System.nanoTime());
                }
              }
            }
          }
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      }
    }

    int closed() {
      return closedAt.size();
    }

    long bytesDribbled() {
      return dribbled;
    }

    /** For each socket of the kind the server closed: milliseconds from its opening. */
    List<Long> closedAfterMillis(boolean dribblers) {
      return closedAt.entrySet().stream().filter(e -> e.getKey().dribbler() == dribblers)
          .map(e -> (e.getValue() - e.getKey().openedNanos()) / 1_000_000).sorted().toList();
    }

    @Override
    public void close() throws IOException {
      running.set(false);
      try {
        thread.join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      for (Conn conn : conns) {
        conn.channel().close();
      }
      selector.close();
    }
  }
}
