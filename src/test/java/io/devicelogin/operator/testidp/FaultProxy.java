package io.devicelogin.operator.testidp;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fault-injecting HTTP/1.1 proxy on 127.0.0.1 in front of an IdP (normally a {@link FakeIdp} started with
 * {@link FakeIdp#startBehind(FaultProxy)}, so that its issuer and every endpoint it advertises point at the proxy).
 * Requests pass through unchanged until a fault is set for their endpoint; then the proxy answers (or fails to) the
 * way a broken IdP, load balancer or network would: 5xx, connection resets before or in the middle of the response,
 * hangs, truncated bodies under a full {@code Content-Length}, endless bodies, a response dripped byte by byte, HTML or
 * plain text with 200, a wrong content type.
 *
 * <pre>{@code
 * try (FaultProxy proxy = FaultProxy.start(); FakeIdp idp = FakeIdp.startBehind(proxy)) {
 *   proxy.fail(FaultProxy.Endpoint.TOKEN, FaultProxy.Fault.HANG);
 *   // ... the client under test polls; assert it gives up within its timeout ...
 *   proxy.heal();
 * }
 * }</pre>
 *
 * <p>Every request is counted per endpoint with its arrival time ({@link #requests(Endpoint)}), so tests can check
 * back-off. Each client connection has its own daemon thread named {@code fault-proxy-*}; {@link #close()} closes every
 * socket and stops them. Waits are bounded ({@link #MAX_HOLD}), so a forgotten fault cannot hang a build. Request
 * bodies must carry a {@code Content-Length} (Nimbus and the JDK client always send one); upstream answers are read to
 * the end of the connection, which the proxy asks for with {@code Connection: close}.
 */
public final class FaultProxy implements AutoCloseable {

  /** The longest any fault holds a connection open (hang, drip, endless body). */
  public static final Duration MAX_HOLD = Duration.ofSeconds(60);

  /** The body size an endless response announces or reaches at most: 1 GiB. */
  public static final long ENDLESS_BYTES = 1L << 30;

  /** An IdP endpoint, recognised by the end of the request path. */
  public enum Endpoint {
    DISCOVERY("/.well-known/openid-configuration"),
    DEVICE_AUTHORIZATION("/auth/device"),
    TOKEN("/token"),
    JWKS("/certs"),
    REVOCATION("/revoke"),
    OTHER("");

    private final String suffix;

    Endpoint(String suffix) {
      this.suffix = suffix;
    }

    static Endpoint of(String path) {
      for (Endpoint endpoint : values()) {
        if (endpoint != OTHER && path.endsWith(endpoint.suffix)) {
          return endpoint;
        }
      }
      return OTHER;
    }
  }

  /** What the proxy does to a request for an endpoint with a fault. */
  public enum Fault {
    /** 503 with an HTML error page, not forwarded. */
    SERVER_ERROR(false),
    /** The request is read, not forwarded, and the connection reset (RST) without a byte of answer. */
    RESET_BEFORE_RESPONSE(false),
    /** Forwarded; the status line, headers and half of the body are sent, then the connection is reset (RST). */
    RESET_MID_RESPONSE(true),
    /** The request is read, not forwarded, and nothing is ever answered (until {@link #heal()} or the client leaves). */
    HANG(false),
    /** Forwarded; the headers (with the full {@code Content-Length}) and half of the body are sent, then FIN. */
    TRUNCATED(true),
    /** 200 {@code application/json} announcing {@link #ENDLESS_BYTES} and sending them until the client stops. */
    OVERSIZED(false),
    /** 200 {@code application/json}, chunked, no length, {@link #ENDLESS_BYTES} at most, until the client stops. */
    OVERSIZED_CHUNKED(false),
    /** Forwarded; the whole answer, status line and headers included, one byte per {@link #dripEvery(Duration)}. */
    SLOW_DRIP(true),
    /** 200 {@code text/html}: a maintenance page, not forwarded. */
    HTML_200(false),
    /** 200 {@code text/plain}: not JSON, not forwarded. */
    NOT_JSON_200(false),
    /** 200 with no body and no content type, not forwarded. */
    EMPTY_200(false),
    /** Forwarded, but the {@code Content-Type} is replaced by {@code text/html; charset=UTF-8}. */
    WRONG_CONTENT_TYPE(true);

    private final boolean forwarded;

    Fault(boolean forwarded) {
      this.forwarded = forwarded;
    }

    /** Whether the IdP behind the proxy gets (and acts on) the request. */
    public boolean forwarded() {
      return forwarded;
    }
  }

  /** One request the proxy received, and what it did with it. */
  public record Received(Instant time, Endpoint endpoint, String method, String path, Fault fault) {}

  private record Setting(Fault fault, AtomicInteger remaining) {}

  private record Request(String method, String path, String version, List<String> headers, byte[] body) {}

  private record Response(String statusLine, List<String> headers, byte[] body) {}

  private final ServerSocket server;
  private final ExecutorService threads;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final Map<Endpoint, Setting> faults = new EnumMap<>(Endpoint.class);
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final AtomicLong endlessBytesSent = new AtomicLong();
  private final AtomicInteger openConnections = new AtomicInteger();
  private volatile CountDownLatch healed = new CountDownLatch(1);
  private volatile int upstreamPort = -1;
  private volatile Duration dripEvery = Duration.ofSeconds(1);
  private volatile boolean closed;

  private FaultProxy() {
    try {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new IllegalStateException("cannot listen on 127.0.0.1", e);
    }
    AtomicInteger counter = new AtomicInteger();
    threads = Executors.newCachedThreadPool(task -> {
      Thread thread = new Thread(task, "fault-proxy-" + counter.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    });
    threads.execute(this::accept);
  }

  /** Starts a proxy on a free port of 127.0.0.1; set where it forwards to with {@link #forwardTo(int)}. */
  public static FaultProxy start() {
    return new FaultProxy();
  }

  /** The port the proxy listens on. */
  public int port() {
    return server.getLocalPort();
  }

  /** Forwards to 127.0.0.1:{@code port} from now on. */
  public FaultProxy forwardTo(int port) {
    upstreamPort = port;
    return this;
  }

  /** How slowly {@link Fault#SLOW_DRIP} sends (default: one byte per second). */
  public FaultProxy dripEvery(Duration every) {
    dripEvery = every;
    return this;
  }

  /** Every request for {@code endpoint} gets {@code fault} until {@link #heal()}. */
  public FaultProxy fail(Endpoint endpoint, Fault fault) {
    return failNext(endpoint, fault, Integer.MAX_VALUE);
  }

  /** The next {@code times} requests for {@code endpoint} get {@code fault}; later ones pass. */
  public synchronized FaultProxy failNext(Endpoint endpoint, Fault fault, int times) {
    faults.put(endpoint, new Setting(fault, new AtomicInteger(times)));
    return this;
  }

  /** Every endpoint passes again; hanging connections are closed. */
  public FaultProxy heal() {
    synchronized (this) {
      faults.clear();
    }
    CountDownLatch old = healed;
    healed = new CountDownLatch(1);
    old.countDown();
    return this;
  }

  /** Every request received, oldest first. */
  public List<Received> received() {
    return List.copyOf(received);
  }

  /** The requests received for one endpoint, oldest first. */
  public List<Received> requests(Endpoint endpoint) {
    return received.stream().filter(r -> r.endpoint() == endpoint).toList();
  }

  /** Bytes sent so far by {@link Fault#OVERSIZED} and {@link Fault#OVERSIZED_CHUNKED} answers (all of them). */
  public long endlessBytesSent() {
    return endlessBytesSent.get();
  }

  /** Client connections open now. */
  public int openConnections() {
    return openConnections.get();
  }

  @Override
  public void close() {
    closed = true;
    heal();
    try {
      server.close();
    } catch (IOException e) {
      // closing anyway
    }
    sockets.forEach(FaultProxy::closeQuietly);
    threads.shutdownNow();
    try {
      threads.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- connections

  private void accept() {
    while (!closed) {
      try {
        Socket socket = server.accept();
        sockets.add(socket);
        threads.execute(() -> serve(socket));
      } catch (IOException e) {
        if (!closed) {
          closeQuietly(server);
        }
        return;
      } catch (java.util.concurrent.RejectedExecutionException e) {
        return;
      }
    }
  }

  private void serve(Socket socket) {
    openConnections.incrementAndGet();
    try (socket) {
      socket.setTcpNoDelay(true);
      socket.setSoTimeout((int) MAX_HOLD.toMillis());
      InputStream in = socket.getInputStream();
      OutputStream out = socket.getOutputStream();
      while (!closed) {
        Request request = readRequest(in);
        if (request == null) {
          return;
        }
        Endpoint endpoint = Endpoint.of(request.path());
        Fault fault = take(endpoint);
        received.add(new Received(Instant.now(), endpoint, request.method(), request.path(), fault));
        if (!answer(socket, in, out, request, fault)) {
          return;
        }
      }
    } catch (IOException | RuntimeException e) {
      // the client went away or the proxy is closing
    } finally {
      sockets.remove(socket);
      openConnections.decrementAndGet();
    }
  }

  private synchronized Fault take(Endpoint endpoint) {
    Setting setting = faults.get(endpoint);
    if (setting == null) {
      return null;
    }
    if (setting.remaining().getAndDecrement() <= 0) {
      faults.remove(endpoint);
      return null;
    }
    return setting.fault();
  }

  /** Answers one request; false when the connection must end. */
  private boolean answer(Socket socket, InputStream in, OutputStream out, Request request, Fault fault)
      throws IOException {
    if (fault == null) {
      write(out, forward(request), true);
      return true;
    }
    switch (fault) {
      case SERVER_ERROR -> {
        write(out, response(503, "Service Unavailable", "text/html; charset=UTF-8",
            "<html><body><h1>503 Service Unavailable</h1><p>The IdP is down for maintenance.</p></body></html>"), true);
        return true;
      }
      case RESET_BEFORE_RESPONSE -> {
        reset(socket);
        return false;
      }
      case RESET_MID_RESPONSE -> {
        byte[] bytes = bytes(forward(request), false);
        out.write(bytes, 0, headLength(bytes) + (bytes.length - headLength(bytes)) / 2);
        out.flush();
        reset(socket);
        return false;
      }
      case HANG -> {
        hang(socket, in);
        return false;
      }
      case TRUNCATED -> {
        byte[] bytes = bytes(forward(request), false);
        out.write(bytes, 0, headLength(bytes) + (bytes.length - headLength(bytes)) / 2);
        out.flush();
        socket.shutdownOutput();
        return false;
      }
      case OVERSIZED -> {
        endless(out, false);
        return false;
      }
      case OVERSIZED_CHUNKED -> {
        endless(out, true);
        return false;
      }
      case SLOW_DRIP -> {
        drip(out, bytes(forward(request), false));
        return false;
      }
      case HTML_200 -> {
        write(out, response(200, "OK", "text/html; charset=UTF-8",
            "<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>We'll be back soon</h1>"
                + "</body></html>"), true);
        return true;
      }
      case NOT_JSON_200 -> {
        write(out, response(200, "OK", "text/plain", "OK"), true);
        return true;
      }
      case EMPTY_200 -> {
        write(out, new Response("HTTP/1.1 200 OK", List.of("Content-Length: 0"), new byte[0]), true);
        return true;
      }
      case WRONG_CONTENT_TYPE -> {
        Response forwarded = forward(request);
        List<String> headers = new ArrayList<>();
        forwarded.headers().stream().filter(h -> !name(h).equals("content-type")).forEach(headers::add);
        headers.add("Content-Type: text/html; charset=UTF-8");
        write(out, new Response(forwarded.statusLine(), headers, forwarded.body()), true);
        return true;
      }
      default -> throw new IllegalStateException("unknown fault " + fault);
    }
  }

  private void hang(Socket socket, InputStream in) throws IOException {
    long until = System.nanoTime() + MAX_HOLD.toNanos();
    CountDownLatch released = healed;
    socket.setSoTimeout(50);
    while (!closed && System.nanoTime() < until) {
      try {
        if (released.await(50, TimeUnit.MILLISECONDS)) {
          return;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      try {
        if (in.read() < 0) {
          return; // the client gave up
        }
      } catch (SocketTimeoutException e) {
        // still there
      }
    }
  }

  private void drip(OutputStream out, byte[] bytes) throws IOException {
    long until = System.nanoTime() + MAX_HOLD.toNanos();
    for (byte b : bytes) {
      if (closed || System.nanoTime() > until) {
        return;
      }
      out.write(b);
      out.flush();
      try {
        Thread.sleep(dripEvery.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private void endless(OutputStream out, boolean chunked) throws IOException {
    StringBuilder head = new StringBuilder("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n");
    head.append(chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + ENDLESS_BYTES + "\r\n");
    head.append("\r\n");
    out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
    byte[] block = new byte[64 * 1024];
    java.util.Arrays.fill(block, (byte) 'x');
    byte[] start = "{\"padding\":\"".getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(start, 0, block, 0, start.length);
    long sent = 0;
    long until = System.nanoTime() + MAX_HOLD.toNanos();
    while (!closed && sent < ENDLESS_BYTES && System.nanoTime() < until) {
      if (chunked) {
        out.write((Integer.toHexString(block.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
      }
      out.write(block);
      if (chunked) {
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
      }
      sent += block.length;
      endlessBytesSent.addAndGet(block.length);
      if (block[0] == '{') {
        block = block.clone();
        java.util.Arrays.fill(block, 0, start.length, (byte) 'x');
      }
    }
    out.flush();
  }

  private static void reset(Socket socket) throws IOException {
    socket.setSoLinger(true, 0);
    socket.close();
  }

  // ---- upstream

  private Response forward(Request request) throws IOException {
    int port = upstreamPort;
    if (port < 0) {
      return response(502, "Bad Gateway", "text/plain", "the fault proxy has no upstream");
    }
    try (Socket upstream = new Socket(InetAddress.getLoopbackAddress(), port)) {
      upstream.setSoTimeout((int) MAX_HOLD.toMillis());
      OutputStream out = upstream.getOutputStream();
      StringBuilder head = new StringBuilder();
      head.append(request.method()).append(' ').append(request.path()).append(' ').append(request.version())
          .append("\r\n");
      for (String header : request.headers()) {
        String name = name(header);
        if (!name.equals("connection") && !name.equals("keep-alive")) {
          head.append(header).append("\r\n");
        }
      }
      head.append("Connection: close\r\n\r\n");
      out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      out.write(request.body());
      out.flush();
      byte[] all = upstream.getInputStream().readAllBytes();
      int headEnd = headLength(all);
      String[] lines = new String(all, 0, Math.max(0, headEnd - 4), StandardCharsets.ISO_8859_1).split("\r\n");
      List<String> headers = new ArrayList<>();
      for (int i = 1; i < lines.length; i++) {
        String name = name(lines[i]);
        if (name.equals("transfer-encoding")) {
          throw new IOException("the fault proxy does not de-chunk upstream answers");
        }
        if (!name.equals("connection") && !name.equals("content-length") && !name.equals("keep-alive")) {
          headers.add(lines[i]);
        }
      }
      byte[] body = java.util.Arrays.copyOfRange(all, headEnd, all.length);
      return new Response(lines[0], headers, body);
    } catch (java.net.ConnectException e) {
      return response(502, "Bad Gateway", "text/plain", "the IdP behind the fault proxy is down");
    }
  }

  // ---- HTTP

  private static Request readRequest(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int last4 = 0;
    while (last4 != 0x0d0a0d0a) {
      int b = in.read();
      if (b < 0) {
        return null;
      }
      head.write(b);
      last4 = (last4 << 8) | b;
      if (head.size() > 64 * 1024) {
        throw new IOException("request head too long");
      }
    }
    String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
    String[] requestLine = lines[0].split(" ");
    List<String> headers = new ArrayList<>();
    int length = 0;
    for (int i = 1; i < lines.length; i++) {
      if (lines[i].isEmpty()) {
        continue;
      }
      headers.add(lines[i]);
      if (name(lines[i]).equals("content-length")) {
        length = Integer.parseInt(value(lines[i]));
      }
      if (name(lines[i]).equals("transfer-encoding")) {
        throw new IOException("chunked request bodies are not supported");
      }
    }
    byte[] body = in.readNBytes(length);
    return new Request(requestLine[0], requestLine[1], requestLine.length > 2 ? requestLine[2] : "HTTP/1.1", headers,
        body);
  }

  private static Response response(int status, String reason, String contentType, String body) {
    return new Response("HTTP/1.1 " + status + " " + reason, List.of("Content-Type: " + contentType),
        body.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] bytes(Response response, boolean keepAlive) {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    StringBuilder head = new StringBuilder(response.statusLine()).append("\r\n");
    response.headers().forEach(h -> head.append(h).append("\r\n"));
    head.append("Content-Length: ").append(response.body().length).append("\r\n");
    head.append(keepAlive ? "" : "Connection: close\r\n").append("\r\n");
    all.writeBytes(head.toString().getBytes(StandardCharsets.ISO_8859_1));
    all.writeBytes(response.body());
    return all.toByteArray();
  }

  private static void write(OutputStream out, Response response, boolean keepAlive) throws IOException {
    out.write(bytes(response, keepAlive));
    out.flush();
  }

  /** Length of the status line and headers, the blank line included. */
  private static int headLength(byte[] bytes) {
    for (int i = 3; i < bytes.length; i++) {
      if (bytes[i - 3] == '\r' && bytes[i - 2] == '\n' && bytes[i - 1] == '\r' && bytes[i] == '\n') {
        return i + 1;
      }
    }
    return bytes.length;
  }

  private static String name(String header) {
    int colon = header.indexOf(':');
    return (colon < 0 ? header : header.substring(0, colon)).trim().toLowerCase(Locale.ROOT);
  }

  private static String value(String header) {
    int colon = header.indexOf(':');
    return colon < 0 ? "" : header.substring(colon + 1).trim();
  }

  private static void closeQuietly(java.io.Closeable closeable) {
    try {
      closeable.close();
    } catch (IOException e) {
      // nothing to do
    }
  }
}
