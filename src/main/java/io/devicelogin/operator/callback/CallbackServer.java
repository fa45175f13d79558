package io.devicelogin.operator.callback;

import com.nimbusds.oauth2.sdk.util.URLUtils;
import io.devicelogin.operator.http.HardenedServer;
import io.devicelogin.operator.idp.RedirectResponse;
import io.devicelogin.operator.metrics.OperatorMetrics;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.MimeTypes;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator's callback endpoint (CALLBACK_PORT) on a {@link HardenedServer}: where an IdP's redirect after an
 * authorization code login arrives, straight from the browser, from a local relay, or pasted into a form. It exchanges
 * nothing: it reads the response with {@link RedirectResponse} and hands it to the {@link ResponseInbox}, then shows
 * the {@link Receipt}'s fixed text.
 *
 * <ul>
 *   <li>{@code GET /callback?code=…&state=…[&iss=…]} or {@code ?error=…&state=…}: delivers the query; 200 when the
 *       inbox took it, 503 when it could not now, else 400;
 *   <li>{@code GET /callback} without a query: a form with one field {@code redirect_url};
 *   <li>{@code POST /callback}, {@code application/x-www-form-urlencoded} with {@code redirect_url} exactly once:
 *       delivers that URL's query. The body is at most {@link #MAX_BODY_BYTES} (413 beyond) and must arrive within
 *       the request head's deadline (408 after);
 *   <li>HEAD as GET without the page; other methods 405; other paths 404.
 * </ul>
 *
 * Every request is hostile: no byte of it reaches a page, a header, a log line or a metric label (pages are fixed
 * texts; a delivery logs its receipt and the client's address); deliveries from all clients together are limited by
 * {@link DeliveryRate} (429 beyond); every page forbids scripts, framing, caching and sending a Referer (the URL
 * carries a code).
 */
public final class CallbackServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(CallbackServer.class);

  /** The only path served. */
  public static final String PATH = "/callback";

  /** Longest form body: a pasted URL ({@link RedirectResponse#MAX_URL_CHARS}) and the form's own encoding. */
  static final int MAX_BODY_BYTES = RedirectResponse.MAX_URL_CHARS + 1024;

  /** The server's defaults with room for the form and 8 threads (6 serve requests; a delivery may wait on the API). */
  static final HardenedServer.Limits LIMITS =
      HardenedServer.Limits.DEFAULT.withMaxBodyBytes(MAX_BODY_BYTES).withThreads(8);

  /** The form's one field: the URL the browser was sent to. */
  static final String FIELD = "redirect_url";

  static final String CONTENT_SECURITY_POLICY =
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

  static final String RATE_LIMITED =
      "Too many sign-in responses are arriving right now. Wait a moment, then try again.";

  private static final String HTML = "text/html; charset=utf-8";

  private static final String FORM = page(
      "<p>Paste the full address your browser was sent to after signing in (it starts with the redirect address and "
          + "holds <code>code</code> and <code>state</code>).</p>\n"
          + "<form method=\"post\">\n"
          + "<textarea name=\"" + FIELD + "\" rows=\"6\" required autocomplete=\"off\" spellcheck=\"false\" "
          + "maxlength=\"" + RedirectResponse.MAX_URL_CHARS + "\" aria-label=\"Address\"></textarea>\n"
          + "<p><button type=\"submit\">Finish signing in</button></p>\n"
          + "</form>");

  private final HardenedServer server;

  private CallbackServer(HardenedServer server) {
    this.server = server;
  }

  /**
   * Serves /callback on {@code port} (0 picks a free one) with the standard {@link DeliveryRate}.
   *
   * @throws IOException when the port cannot be bound
   */
  public static CallbackServer start(int port, ResponseInbox inbox, OperatorMetrics metrics) throws IOException {
    return start(port, inbox, metrics, DeliveryRate.standard());
  }

  static CallbackServer start(int port, ResponseInbox inbox, OperatorMetrics metrics, DeliveryRate rate)
      throws IOException {
    Delivery delivery = new Delivery(inbox, metrics, rate);
    return new CallbackServer(HardenedServer.start("http-callback", port, LIMITS, (request, response, callback) -> {
      if (!PATH.equals(request.getHttpURI().getPath())) {
        return false;
      }
      guard(response);
      String method = request.getMethod();
      if (HttpMethod.GET.is(method) || HttpMethod.HEAD.is(method)) {
        String query = request.getHttpURI().getQuery();
        if (query == null || query.isEmpty()) {
          metrics.callbackRequest("form");
          HardenedServer.respond(response, HttpStatus.OK_200, HTML, FORM, callback);
        } else {
          delivery.deliver(RedirectResponse.fromQuery(query), request, response, callback);
        }
      } else if (HttpMethod.POST.is(method)) {
        HardenedServer.readBody(request, response, callback, LIMITS,
            body -> delivery.deliver(fromForm(request, body), request, response, callback));
      } else {
        metrics.callbackRequest("bad_method");
        response.getHeaders().put(HttpHeader.ALLOW, "GET, HEAD, POST");
        Response.writeError(request, response, callback, HttpStatus.METHOD_NOT_ALLOWED_405);
      }
      return true;
    }));
  }

  /** What the paste form sent: its {@value #FIELD}, read as a redirect URL. */
  private static RedirectResponse fromForm(Request request, byte[] body) {
    String contentType = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
    if (contentType == null || !MimeTypes.Type.FORM_ENCODED.is(
        MimeTypes.getContentTypeWithoutCharset(contentType).trim().toLowerCase(Locale.ROOT))) {
      return new RedirectResponse.Unreadable("the form was not sent as application/x-www-form-urlencoded");
    }
    List<String> urls = URLUtils.parseParameters(new String(body, StandardCharsets.UTF_8)).get(FIELD);
    if (urls == null || urls.size() != 1) {
      return new RedirectResponse.Unreadable("the form must carry " + FIELD + " exactly once");
    }
    return RedirectResponse.fromUrl(urls.get(0));
  }

  /** Headers every answer of this endpoint carries. */
  private static void guard(Response response) {
    HardenedServer.browserPageHeaders(response, CONTENT_SECURITY_POLICY);
  }

  /** A whole page around {@code body}, which must be a fixed text (nothing from a request). */
  static String page(String body) {
    return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        + "<title>DeviceLogin sign-in</title>\n"
        + "<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em;line-height:1.4}"
        + "textarea{width:100%;box-sizing:border-box;font-family:monospace}</style>\n"
        + "</head>\n<body>\n<h1>DeviceLogin sign-in</h1>\n" + body + "\n</body>\n</html>\n";
  }

  public int port() {
    return server.port();
  }

  @Override
  public void close() {
    server.close();
  }

  /** Hands a response to the inbox, within the rate, and answers with the receipt's page. */
  private record Delivery(ResponseInbox inbox, OperatorMetrics metrics, DeliveryRate rate) {

    void deliver(RedirectResponse redirect, Request request, Response response, Callback callback) {
      if (!rate.tryTake()) {
        metrics.callbackRequest("rate_limited");
        response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
        HardenedServer.respond(response, HttpStatus.TOO_MANY_REQUESTS_429, HTML, page("<p>" + RATE_LIMITED + "</p>"),
            callback);
        return;
      }
      Receipt receipt = inbox.deliver(redirect);
      metrics.callbackRequest(receipt.name().toLowerCase(Locale.ROOT));
      log.info("Callback: {} from {}", receipt, Request.getRemoteAddr(request));
      int status = receipt.accepted() ? HttpStatus.OK_200
          : receipt == Receipt.UNAVAILABLE ? HttpStatus.SERVICE_UNAVAILABLE_503 : HttpStatus.BAD_REQUEST_400;
      HardenedServer.respond(response, status, HTML, page("<p>" + receipt.page() + "</p>"), callback);
    }
  }
}
