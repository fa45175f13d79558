package io.devicelogin.operator.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.thread.Invocable;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.Scheduler;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An embedded Jetty (HTTP/1.1, no TLS) fit for untrusted clients: every connection, request and thread is bounded,
 * and no byte of a request is ever written back or logged. The probe/metrics port uses it, and so can any other
 * endpoint the operator serves.
 *
 * <ul>
 *   <li>a connection silent for {@link Limits#idleTimeout} is closed; one whose request head still trickles in after
 *       {@link Limits#headTimeout} (slowloris, which resets the idle timeout with every byte) is closed by
 *       {@link RequestHeadDeadline};
 *   <li>at most {@link Limits#maxConnections} connections; at the limit Jetty stops accepting (new connections wait
 *       in the kernel's backlog) and the idle timeout of open ones drops to {@link Limits#idleTimeoutAtLimit};
 *   <li>request line plus headers at most {@link Limits#requestHeadBytes} (431 or 414 beyond); a request with a body
 *       longer than {@link Limits#maxBodyBytes} (by default 0: any body, chunked included) gets 413 and the connection
 *       is closed. A handler that takes a body reads it with {@link #readBody}, bounded in size and time;
 *   <li>a fixed pool of {@link Limits#threads} threads named {@code <name>-N} (the acceptor and the selector are two
 *       of them) and a timer thread {@code <name>-timer}. Selector I/O never blocks on a slow client, so slow
 *       connections hold no thread. The pool's task queue is bounded by the connection limit (a connection has at
 *       most a task or two queued), not by a capacity: Jetty drops a connection whose task a full queue rejects,
 *       and in a test a queue of 64 dropped probes while 200 slowloris sockets connected;
 *   <li>errors are a fixed text per status ({@code 404 Not Found}), never the path, a header or a parser message;
 *       no {@code Server} header.
 * </ul>
 */
public final class HardenedServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(HardenedServer.class);

  /**
   * @param idleTimeout a connection with no traffic this long is closed
   * @param headTimeout a request head (request line and headers) must arrive within about this long; one still
   *     incomplete after this (plus at most half a second) is closed, and while {@code maxConnections} are open one
   *     that is still arriving after half a second to a second
   * @param maxConnections connections open at once; more wait in the kernel's accept backlog
   * @param idleTimeoutAtLimit the idle timeout while {@code maxConnections} are open
   * @param requestHeadBytes most bytes of a request line plus headers
   * @param threads the fixed size of the thread pool (the acceptor and the selector take two)
   * @param maxBodyBytes most bytes of a request body (0: no request may have one); such a body must also arrive
   *     within {@code headTimeout} of {@link #readBody} being called
   */
  public record Limits(Duration idleTimeout, Duration headTimeout, int maxConnections, Duration idleTimeoutAtLimit,
      int requestHeadBytes, int threads, int maxBodyBytes) {

    /** What the operator's endpoints use; docs/metrics.md "The HTTP server" documents them. */
    public static final Limits DEFAULT =
        new Limits(Duration.ofSeconds(5), Duration.ofSeconds(3), 512, Duration.ofSeconds(1), 8 * 1024, 4);

    /** Refusing every request body. */
    public Limits(Duration idleTimeout, Duration headTimeout, int maxConnections, Duration idleTimeoutAtLimit,
        int requestHeadBytes, int threads) {
      this(idleTimeout, headTimeout, maxConnections, idleTimeoutAtLimit, requestHeadBytes, threads, 0);
    }

    /** These limits with room for a request body of at most {@code bytes}. */
    public Limits withMaxBodyBytes(int bytes) {
      return new Limits(idleTimeout, headTimeout, maxConnections, idleTimeoutAtLimit, requestHeadBytes, threads, bytes);
    }

    /** These limits with a pool of {@code count} threads. */
    public Limits withThreads(int count) {
      return new Limits(idleTimeout, headTimeout, maxConnections, idleTimeoutAtLimit, requestHeadBytes, count,
          maxBodyBytes);
    }
  }

  private static final HttpField CLOSE = new HttpField(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE);

  private final Server server;
  private final ServerConnector connector;

  private HardenedServer(Server server, ServerConnector connector) {
    this.server = server;
    this.connector = connector;
  }

  /**
   * Serves {@code handler} on {@code port} of every interface (0 picks a free port). The handler sees only requests
   * without a body or with one of at most {@link Limits#maxBodyBytes}; a request it does not handle (returns false)
   * gets 404.
   *
   * @param name prefix of the thread names ({@code http-health} gives {@code http-health-23})
   * @throws IOException when the port cannot be bound
   */
  public static HardenedServer start(String name, int port, Limits limits, Request.Handler handler)
      throws IOException {
    return start(name, null, port, limits, handler);
  }

  /**
   * As {@link #start(String, int, Limits, Request.Handler)}, listening on {@code host} only (an address; null: every
   * interface).
   */
  public static HardenedServer start(String name, String host, int port, Limits limits, Request.Handler handler)
      throws IOException {
    QueuedThreadPool threads = new QueuedThreadPool(limits.threads(), limits.threads());
    threads.setName(name);
    threads.setDaemon(true);
    threads.setReservedThreads(0);
    Server server = new Server(threads, new ScheduledExecutorScheduler(name + "-timer", true), null);

    HttpConfiguration config = new HttpConfiguration();
    config.setRequestHeaderSize(limits.requestHeadBytes());
    config.setSendServerVersion(false);
    config.setSendXPoweredBy(false);
    // one acceptor thread: with none (the selector accepting), Jetty 12.1.14 closes the listening socket when the
    // connection limit pauses accepting, and never accepts again
    ServerConnector connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(config));
    connector.setHost(host);
    connector.setPort(port);
    connector.setIdleTimeout(limits.idleTimeout().toMillis());
    NetworkConnectionLimit connectionLimit = new NetworkConnectionLimit(limits.maxConnections(), connector);
    connectionLimit.setEndPointIdleTimeout(limits.idleTimeoutAtLimit().toMillis());
    connector.addEventListener(new RequestHeadDeadline(connector.getScheduler(), limits.headTimeout(),
        () -> connectionLimit.getNetworkConnectionCount() >= connectionLimit.getMaxNetworkConnectionCount()));
    server.addConnector(connector);
    server.addBean(connectionLimit);

    server.setErrorHandler(new FixedTextErrorHandler());
    server.setHandler(new Guard(name, limits.maxBodyBytes(), handler));
    try {
      server.start();
    } catch (Exception e) {
      stop(server);
      throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
    }
    return new HardenedServer(server, connector);
  }

  public int port() {
    return connector.getLocalPort();
  }

  @Override
  public void close() {
    stop(server);
  }

  private static void stop(Server server) {
    try {
      server.stop();
    } catch (Exception e) {
      log.warn("HTTP server did not stop cleanly: {}", e.toString());
    }
  }

  /**
   * The headers every page a browser shows carries (the callback endpoint's, the local relay's): not stored, not framed,
   * no referrer (the address holds an authorization code), no type sniffing, and {@code contentSecurityPolicy}.
   */
  public static void browserPageHeaders(Response response, String contentSecurityPolicy) {
    response.getHeaders().put("Content-Security-Policy", contentSecurityPolicy);
    response.getHeaders().put("X-Content-Type-Options", "nosniff");
    response.getHeaders().put("Referrer-Policy", "no-referrer");
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    response.getHeaders().put("X-Frame-Options", "DENY");
  }

  /** Writes {@code body} (UTF-8) with an exact Content-Length; Jetty drops the body of a HEAD response. */
  public static void respond(Response response, int status, String contentType, String body, Callback callback) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
    response.write(true, ByteBuffer.wrap(bytes), callback);
  }

  /**
   * Reads the request's body without holding a thread while it arrives, then hands it to {@code then} on a pool thread
   * (which may block). A body longer than {@link Limits#maxBodyBytes} (a chunked one is only known to be once read)
   * gets 413, one still incomplete {@link Limits#headTimeout} after this call (a slow client trickling it) 408; both
   * close the connection. If {@code then} throws, 500.
   */
  public static void readBody(Request request, Response response, Callback callback, Limits limits,
      Consumer<byte[]> then) {
    Scheduler.Task deadline = request.getComponents().getScheduler().schedule(
        () -> request.fail(new TimeoutException("request body too slow")), limits.headTimeout().toMillis(),
        TimeUnit.MILLISECONDS);
    Content.Source.asByteArrayAsync(request, limits.maxBodyBytes(), Promise.Invocable.from(
        Invocable.InvocationType.BLOCKING,
        body -> {
          deadline.cancel();
          try {
            then.accept(body);
          } catch (RuntimeException e) {
            log.warn("request failed: {}", e.toString());
            Response.writeError(request, response, callback, HttpStatus.INTERNAL_SERVER_ERROR_500);
          }
        },
        failure -> {
          deadline.cancel();
          response.getHeaders().put(CLOSE);
          Response.writeError(request, response, callback, failure instanceof TimeoutException
              ? HttpStatus.REQUEST_TIMEOUT_408 : HttpStatus.PAYLOAD_TOO_LARGE_413);
        }));
  }

  /** Refuses requests with a body over the bound, answers 404 for what the handler leaves, 500 if it throws. */
  private static final class Guard extends Handler.Abstract {

    private final String name;
    private final int maxBodyBytes;
    private final Request.Handler handler;

    Guard(String name, int maxBodyBytes, Request.Handler handler) {
      this.name = name;
      this.maxBodyBytes = maxBodyBytes;
      this.handler = handler;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
      // a chunked body (length -1) within a non-zero bound is cut by readBody
      if (request.getLength() > maxBodyBytes
          || maxBodyBytes == 0 && request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING)) {
        // the body is never read: close rather than drain it
        response.getHeaders().put(CLOSE);
        Response.writeError(request, response, callback, HttpStatus.PAYLOAD_TOO_LARGE_413);
        return true;
      }
      try {
        if (!handler.handle(request, response, callback)) {
          Response.writeError(request, response, callback, HttpStatus.NOT_FOUND_404);
        }
      } catch (Exception e) {
        // only the handler's own code can throw here: its message holds no request input
        log.warn("{}: request failed: {}", name, e.toString());
        Response.writeError(request, response, callback, HttpStatus.INTERNAL_SERVER_ERROR_500);
      }
      return true;
    }
  }

  /**
   * Every error, from a handler or from Jetty's parser (400, 414, 431...), is the status and its standard reason as
   * plain text: Jetty's own error page shows the request path and the parser's message.
   */
  private static final class FixedTextErrorHandler extends ErrorHandler {

    /** The same short text for every method (Jetty's default: a page for GET, POST and HEAD only). */
    @Override
    public boolean errorPageForMethod(String method) {
      return true;
    }

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause,
        Callback callback) {
      respond(response, code, "text/plain; charset=utf-8", code + " " + HttpStatus.getMessage(code) + "\n", callback);
    }
  }
}
