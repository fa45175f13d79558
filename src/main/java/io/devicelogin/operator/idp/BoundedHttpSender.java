package io.devicelogin.operator.idp;

import com.nimbusds.oauth2.sdk.http.HTTPRequestSender;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.http.ReadOnlyHTTPRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.URL;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLSocketFactory;

/**
 * Sends one request to an IdP with the bounds Nimbus' own {@code HTTPRequest.send()} lacks: besides the connect
 * timeout and the read timeout (which only bound each single read), a <b>deadline</b> for the whole exchange — status
 * line, headers and body — so an IdP that drips its answer a byte at a time cannot hold a reconciler thread, and a
 * <b>size limit</b> of {@value #MAX_RESPONSE_BYTES} bytes on the body, so an endless or huge answer cannot fill the
 * heap. A body that ends before its {@code Content-Length} is an error, not a shorter answer.
 *
 * <p>Like Nimbus' sender, requests are buffered, not streamed: in streaming mode the JDK turns every HTTP 401 into an
 * exception without its body, and IdPs answer 401 with OAuth errors (Dex's {@code authorization_pending},
 * {@code invalid_client}). The price is the JDK's own resend: a request whose connection fails before the status line
 * (a reset, a closed kept-alive connection) is sent once more, POSTs included. That is harmless for every IdP call
 * (a second device grant of which the first is never shown, a second poll, a refresh token presented again that the
 * next attempt would present anyway, a repeated revocation), and no resend happens after a timeout or the deadline.
 *
 * <p>The deadline is enforced by one shared daemon thread ({@value #DEADLINE_THREAD}) that disconnects an exchange
 * still running when its time is up; the caller gets a {@link DeadlineExceededException}.
 *
 * <p>With an {@link EgressGuard} (a namespaced provider's request), the connection goes only to an address the guard
 * resolved and allowed, never through a JVM-wide proxy: for https the guard's socket factory connects and checks the
 * connected socket before TLS starts ({@link GuardedSslSocketFactory}); for plain http the JDK is told to use the
 * checked address as an HTTP proxy, which makes it connect to exactly that address (no second lookup) and send the
 * request with the full URL and the right {@code Host} (RFC 9112 section 3.2.2: servers accept the absolute form).
 * Either way the JDK's own name lookup never decides where a guarded request goes. Redirects are never followed.
 */
final class BoundedHttpSender implements HTTPRequestSender {

  /** The largest IdP answer read: 1 MiB (discovery documents and JWKS are a few KiB, token responses smaller). */
  static final int MAX_RESPONSE_BYTES = 1024 * 1024;

  static final String DEADLINE_THREAD = "idp-request-deadline";

  private static final ScheduledThreadPoolExecutor DEADLINES = deadlines();

  /** The answer was larger than {@link #MAX_RESPONSE_BYTES}; the rest was not read. */
  static final class ResponseTooLargeException extends IOException {
    ResponseTooLargeException() {
      super("the IdP's response exceeded " + (MAX_RESPONSE_BYTES / (1024 * 1024)) + " MiB");
    }
  }

  /** The whole exchange took longer than the deadline and was cut off. */
  static final class DeadlineExceededException extends IOException {
    DeadlineExceededException(Duration deadline) {
      super("no complete answer within " + show(deadline));
    }
  }

  /** The body ended before the length the IdP announced: the connection broke mid-answer. */
  static final class TruncatedResponseException extends IOException {
    TruncatedResponseException(long read, long announced) {
      super("the answer ended after " + read + " of the " + announced + " bytes announced");
    }
  }

  private final Duration connectTimeout;
  private final Duration readTimeout;
  private final Duration deadline;
  private final SSLSocketFactory tls;
  private final EgressGuard guard;

  /**
   * @param tls the socket factory for https URLs, or null for the JVM default; with a guard, the guard's
   *     {@link GuardedSslSocketFactory}
   * @param guard where the request may go, or null for anywhere (a ClusterIdentityProvider's request)
   */
  BoundedHttpSender(
      Duration connectTimeout, Duration readTimeout, Duration deadline, SSLSocketFactory tls, EgressGuard guard) {
    this.connectTimeout = connectTimeout;
    this.readTimeout = readTimeout;
    this.deadline = deadline;
    this.tls = tls;
    this.guard = guard;
  }

  @Override
  public HTTPResponse send(ReadOnlyHTTPRequest request) throws IOException {
    HttpURLConnection connection = open(request.getURL());
    connection.setConnectTimeout(millis(connectTimeout));
    connection.setReadTimeout(millis(readTimeout));
    connection.setInstanceFollowRedirects(false);
    connection.setUseCaches(false);
    connection.setRequestMethod(request.getMethod().name());
    for (Map.Entry<String, List<String>> header : request.getHeaderMap().entrySet()) {
      for (String value : header.getValue()) {
        connection.addRequestProperty(header.getKey(), value);
      }
    }
    byte[] body = request.getBody() == null ? null : request.getBody().getBytes(StandardCharsets.UTF_8);
    AtomicBoolean expired = new AtomicBoolean();
    ScheduledFuture<?> alarm = DEADLINES.schedule(() -> {
      expired.set(true);
      connection.disconnect();
    }, deadline.toMillis(), TimeUnit.MILLISECONDS);
    try {
      if (body != null) {
        connection.setDoOutput(true);
        try (OutputStream out = connection.getOutputStream()) {
          out.write(body);
        }
      }
      int status = connection.getResponseCode();
      if (status < 100) {
        throw new IOException("the answer is not HTTP");
      }
      long announced = connection.getContentLengthLong();
      if (announced > MAX_RESPONSE_BYTES) {
        throw new ResponseTooLargeException();
      }
      InputStream in = status >= 400 ? connection.getErrorStream() : connection.getInputStream();
      byte[] bytes = in == null ? new byte[0] : read(in, announced);
      HTTPResponse response = new HTTPResponse(status);
      response.setStatusMessage(connection.getResponseMessage());
      connection.getHeaderFields().forEach((name, values) -> {
        if (name != null && values != null && !values.isEmpty()) {
          response.setHeader(name, values.toArray(String[]::new));
        }
      });
      if (bytes.length > 0) {
        response.setBody(new String(bytes, charset(connection.getContentType())));
      }
      return response;
    } catch (IOException | RuntimeException e) {
      connection.disconnect();
      if (expired.get()) {
        throw new DeadlineExceededException(deadline);
      }
      throw e;
    } finally {
      alarm.cancel(false);
    }
  }

  private HttpURLConnection open(URL url) throws IOException {
    if (guard == null) {
      HttpURLConnection connection = (HttpURLConnection) url.openConnection();
      if (tls != null && connection instanceof HttpsURLConnection https) {
        https.setSSLSocketFactory(tls);
      }
      return connection;
    }
    if ("https".equalsIgnoreCase(url.getProtocol())) {
      if (!(tls instanceof GuardedSslSocketFactory)) {
        throw new IllegalStateException("a guarded https request needs the guard's socket factory");
      }
      HttpsURLConnection https = (HttpsURLConnection) url.openConnection(Proxy.NO_PROXY);
      https.setSSLSocketFactory(tls);
      return https;
    }
    InetAddress address = guard.allowedAddress(url.getHost());
    int port = url.getPort() < 0 ? url.getDefaultPort() : url.getPort();
    return (HttpURLConnection) url.openConnection(new Proxy(Proxy.Type.HTTP, new InetSocketAddress(address, port)));
  }

  /** The body, at most {@link #MAX_RESPONSE_BYTES}; closes the stream (returning a kept-alive connection). */
  private static byte[] read(InputStream in, long announced) throws IOException {
    try (in) {
      ByteArrayOutputStream body = new ByteArrayOutputStream(announced > 0 ? (int) announced : 1024);
      byte[] buffer = new byte[8192];
      int n;
      while ((n = in.read(buffer)) >= 0) {
        if (body.size() + n > MAX_RESPONSE_BYTES) {
          throw new ResponseTooLargeException();
        }
        body.write(buffer, 0, n);
      }
      if (announced >= 0 && body.size() < announced) {
        throw new TruncatedResponseException(body.size(), announced);
      }
      return body.toByteArray();
    }
  }

  private static Charset charset(String contentType) {
    if (contentType != null) {
      for (String parameter : contentType.split(";")) {
        String[] pair = parameter.trim().split("=", 2);
        if (pair.length == 2 && pair[0].trim().equalsIgnoreCase("charset")) {
          try {
            return Charset.forName(pair[1].trim().replace("\"", ""));
          } catch (IllegalArgumentException e) {
            return StandardCharsets.UTF_8;
          }
        }
      }
    }
    return StandardCharsets.UTF_8;
  }

  private static int millis(Duration duration) {
    return (int) Math.min(Integer.MAX_VALUE, Math.max(1, duration.toMillis()));
  }

  private static ScheduledThreadPoolExecutor deadlines() {
    ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, task -> {
      Thread thread = new Thread(task, DEADLINE_THREAD);
      thread.setDaemon(true);
      return thread;
    });
    executor.setRemoveOnCancelPolicy(true);
    return executor;
  }

  /** Short durations for messages: "800ms", "5s", "1.5s". */
  static String show(Duration duration) {
    long millis = duration.toMillis();
    if (millis < 1000) {
      return millis + "ms";
    }
    return millis % 1000 == 0
        ? millis / 1000 + "s"
        : String.format(java.util.Locale.ROOT, "%.1fs", millis / 1000.0);
  }
}
