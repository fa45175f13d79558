package io.devicelogin.operator.callback;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.idp.RedirectResponse;
import io.devicelogin.operator.metrics.OperatorMetrics;
import io.devicelogin.operator.testing.LogCapture;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The callback endpoint over real HTTP (raw sockets on 127.0.0.1), with a recording inbox: what each route delivers,
 * what the page and headers say, and that nothing a request carries comes back in a page, a header, a log line or a
 * metric.
 */
class CallbackServerTest {

  /** Put into hostile requests; must never come back. */
  private static final String MARKER = "zq7Xk3marker";
  private static final String CODE = "SplxlOBeZQQYbYS6WxSbIA" + MARKER;
  private static final String STATE = "af0ifjsldkj" + MARKER;

  /** The inbox's receipt for a response (by default what a well-behaved inbox would say). */
  private final AtomicReference<Function<RedirectResponse, Receipt>> answer = new AtomicReference<>(response ->
      response instanceof RedirectResponse.Code ? Receipt.ACCEPTED
          : response instanceof RedirectResponse.Error ? Receipt.ERROR_RECORDED : Receipt.UNREADABLE);
  private final List<RedirectResponse> delivered = new CopyOnWriteArrayList<>();
  private final AtomicLong nanos = new AtomicLong();
  private PrometheusMeterRegistry registry;
  private CallbackServer server;

  @BeforeEach
  void start() throws IOException {
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ResponseInbox inbox = response -> {
      delivered.add(response);
      return answer.get().apply(response);
    };
    server = CallbackServer.start(0, inbox, new OperatorMetrics(registry), new DeliveryRate(2, 3, nanos::get));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  // ---- the routes

  @Test
  void aRedirectWithACodeIsDeliveredAndAnsweredWithTheFixedPage() throws IOException {
    RawHttp.Reply reply = get("/callback?code=" + CODE + "&state=" + STATE + "&iss="
        + URLEncoder.encode("https://idp.example/realms/x", StandardCharsets.UTF_8));

    assertThat(delivered).containsExactly(
        new RedirectResponse.Code(CODE, STATE, "https://idp.example/realms/x"));
    assertThat(reply.status()).isEqualTo(200);
    assertThat(reply.header("content-type")).isEqualTo("text/html; charset=utf-8");
    assertThat(reply.body()).contains("<p>" + Receipt.ACCEPTED.page() + "</p>").doesNotContain("<form");
    assertGuarded(reply);
    assertThat(scrape()).contains("devicelogin_callback_requests_total{outcome=\"accepted\"} 1.0");
  }

  @Test
  void anErrorRedirectIsDeliveredSanitisedAndNothingOfItIsReflected() throws IOException {
    RawHttp.Reply reply = get("/callback?error=access_denied&error_description="
        + URLEncoder.encode("<img src=x onerror=alert(1)>" + MARKER, StandardCharsets.UTF_8)
        + "&state=" + URLEncoder.encode("<script>alert('" + MARKER + "')</script>", StandardCharsets.UTF_8));

    assertThat(delivered).singleElement().isInstanceOfSatisfying(RedirectResponse.Error.class, error -> {
      assertThat(error.denied()).isTrue();
      assertThat(error.state()).isEqualTo("<script>alert('" + MARKER + "')</script>");
    });
    assertThat(reply.status()).isEqualTo(200);
    assertThat(reply.body()).contains(Receipt.ERROR_RECORDED.page()).doesNotContain("script", "onerror", "<img");
    assertGuarded(reply);
  }

  @Test
  void everyReceiptHasItsStatusAndFixedTextAndNeverRepeatsTheRequest() throws IOException {
    for (Receipt receipt : Receipt.values()) {
      answer.set(response -> receipt);
      nanos.addAndGet(1_000_000_000L);
      RawHttp.Reply reply = get("/callback?code=" + CODE + "&state=" + STATE);
      int expected = receipt.accepted() ? 200 : receipt == Receipt.UNAVAILABLE ? 503 : 400;
      assertThat(reply.status()).as(receipt.name()).isEqualTo(expected);
      assertThat(reply.body()).as(receipt.name()).isEqualTo(CallbackServer.page("<p>" + receipt.page() + "</p>"));
      assertGuarded(reply);
      assertThat(scrape()).contains(
          "devicelogin_callback_requests_total{outcome=\"" + receipt.name().toLowerCase() + "\"} 1.0");
    }
  }

  @Test
  void theReceiptTextsAndTheRateLimitTextHoldNoMarkup() {
    // they go into a <p> as they are
    for (Receipt receipt : Receipt.values()) {
      assertThat(receipt.page()).as(receipt.name()).doesNotContainPattern("[<>&]");
    }
    assertThat(CallbackServer.RATE_LIMITED).doesNotContainPattern("[<>&]");
  }

  @Test
  void withoutAQueryTheEndpointShowsThePasteFormThatPostsBackToItself() throws IOException {
    RawHttp.Reply form = get("/callback");
    assertThat(form.status()).isEqualTo(200);
    assertThat(form.header("content-type")).isEqualTo("text/html; charset=utf-8");
    // no action: the form posts to the page's own address, which form-action 'self' allows (behind any path prefix)
    assertThat(form.body()).contains("<form method=\"post\">", "name=\"redirect_url\"").doesNotContain("action=");
    assertGuarded(form);
    assertThat(get("/callback?").body()).isEqualTo(form.body());
    assertThat(delivered).isEmpty();

    RawHttp.Reply head = send("HEAD /callback HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertThat(head.status()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
    assertGuarded(head);
    assertThat(scrape()).contains("devicelogin_callback_requests_total{outcome=\"form\"} 3.0");
  }

  @Test
  void headWithAQueryDeliversLikeGetWithoutAPage() throws IOException {
    RawHttp.Reply head = send("HEAD /callback?code=" + CODE + "&state=" + STATE
        + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertThat(head.status()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
    assertThat(delivered).containsExactly(new RedirectResponse.Code(CODE, STATE, null));
  }

  @Test
  void thePastedUrlIsDelivered() throws IOException {
    String url = "http://localhost:8000/?state=" + STATE + "&session_state=x&code=" + CODE;
    RawHttp.Reply reply = post("application/x-www-form-urlencoded", "redirect_url=" + encode(url));
    assertThat(reply.status()).isEqualTo(200);
    assertThat(reply.body()).contains(Receipt.ACCEPTED.page()).doesNotContain(MARKER);
    assertGuarded(reply);

    // a browser may send a charset; a chunked body within the bound is read as well
    nanos.addAndGet(1_000_000_000L);
    String body = "redirect_url=" + encode(url);
    RawHttp.Reply chunked = send("POST /callback HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + "Content-Type: application/x-www-form-urlencoded; charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n"
        + Integer.toHexString(body.length()) + "\r\n" + body + "\r\n0\r\n\r\n");
    assertThat(chunked.status()).isEqualTo(200);
    assertThat(delivered).containsExactly(
        new RedirectResponse.Code(CODE, STATE, null), new RedirectResponse.Code(CODE, STATE, null));
  }

  @Test
  void aFormThatIsNotOneRedirectUrlIsUnreadable() throws IOException {
    String url = encode("http://localhost:8000/?code=" + CODE + "&state=" + STATE);
    String[][] forms = {
        {"text/plain", "redirect_url=" + url},
        {"application/json", "{\"redirect_url\":\"" + url + "\"}"},
        {"application/x-www-form-urlencoded", "redirect_url=" + url + "&redirect_url=" + url},
        {"application/x-www-form-urlencoded", "url=" + url},
        {"application/x-www-form-urlencoded", "redirect_url=" + encode("<script>" + MARKER + "</script>")},
        {"application/x-www-form-urlencoded", "redirect_url=%zz%" + MARKER},
    };
    for (String[] form : forms) {
      nanos.addAndGet(1_000_000_000L);
      RawHttp.Reply reply = post(form[0], form[1]);
      assertThat(reply.status()).as(form[0] + " " + form[1]).isEqualTo(400);
      assertThat(reply.body()).contains(Receipt.UNREADABLE.page());
      assertThat(reply.raw()).doesNotContain(MARKER);
    }
    assertThat(delivered).hasSize(forms.length).allSatisfy(r ->
        assertThat(r).isInstanceOf(RedirectResponse.Unreadable.class));
  }

  @Test
  void aParameterGivenTwiceIsUnreadable() throws IOException {
    RawHttp.Reply reply = get("/callback?code=" + CODE + "&state=" + STATE + "&code=attacker");
    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.body()).contains(Receipt.UNREADABLE.page()).doesNotContain(MARKER, "attacker");
    assertThat(delivered).singleElement().isInstanceOf(RedirectResponse.Unreadable.class);
  }

  @Test
  void brokenEncodingAndJunkInTheQueryAreRefusedWithoutAnError() throws IOException {
    // a state without a code (Nimbus reads that as a response_type=none success) and a code it cannot decode
    for (String query : new String[] {"state=" + STATE, "code=%zz" + MARKER + "&state=" + STATE,
        "code=" + CODE + "&state=%" + MARKER,
        "%" + MARKER, "=&=&&state=" + STATE, "code&state"}) {
      nanos.addAndGet(1_000_000_000L);
      RawHttp.Reply reply = get("/callback?" + query);
      assertThat(reply.status()).as(query).isEqualTo(400);
      assertThat(reply.raw()).as(query).doesNotContain(MARKER);
    }
    assertThat(delivered).allSatisfy(r -> assertThat(r).isInstanceOf(RedirectResponse.Unreadable.class));
  }

  @Test
  void otherMethodsAre405AndOtherPaths404() throws IOException {
    for (String method : new String[] {"PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"}) {
      RawHttp.Reply reply = send(method + " /callback?code=" + CODE + "&state=" + STATE + " HTTP/1.1\r\nHost: x\r\n"
          + "Content-Length: 0\r\nConnection: close\r\n\r\n");
      assertThat(reply.status()).as(method).isIn(400, 405);
      assertThat(reply.raw()).as(method).doesNotContain(MARKER);
    }
    RawHttp.Reply put = send("PUT /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assertThat(put.header("allow")).isEqualTo("GET, HEAD, POST");
    assertGuarded(put);
    for (String path : new String[] {"/", "/callback/", "/callbackx", "/callback/x", "/healthz", "/metrics"}) {
      assertThat(get(path + "?code=" + CODE + "&state=" + STATE).status()).as(path).isEqualTo(404);
    }
    assertThat(delivered).isEmpty();
    assertThat(scrape()).contains("devicelogin_callback_requests_total{outcome=\"bad_method\"}");
  }

  // ---- limits

  @Test
  void anOversizedQueryOrBodyIsRefusedBeforeTheInbox() throws IOException {
    RawHttp.Reply longQuery = get("/callback?code=" + CODE + "&state=" + "s".repeat(9 * 1024));
    assertThat(longQuery.status()).isIn(414, 431);
    assertThat(longQuery.raw()).doesNotContain(MARKER);

    String big = "redirect_url=" + "a".repeat(CallbackServer.MAX_BODY_BYTES);
    RawHttp.Reply declared = post("application/x-www-form-urlencoded", big);
    assertThat(declared.status()).isEqualTo(413);
    assertThat(declared.header("connection")).isEqualTo("close");
    RawHttp.Reply claimed = send("POST /callback HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
        + "\r\nContent-Length: 1000000000\r\n\r\nredirect_url=" + MARKER);
    assertThat(claimed.status()).isEqualTo(413);

    // chunked: only known once read past the bound
    String chunk = "a".repeat(4096);
    StringBuilder chunked = new StringBuilder("POST /callback HTTP/1.1\r\nHost: x\r\n"
        + "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "d\r\nredirect_url=\r\n");
    for (int i = 0; i < 4; i++) {
      chunked.append(Integer.toHexString(chunk.length())).append("\r\n").append(chunk).append("\r\n");
    }
    chunked.append("0\r\n\r\n");
    RawHttp.Reply tooLong = send(chunked.toString());
    assertThat(tooLong.status()).isEqualTo(413);
    assertThat(tooLong.header("connection")).isEqualTo("close");
    assertThat(delivered).isEmpty();
  }

  @Test
  void deliveriesBeyondTheRateGet429ThenTheEndpointRecovers() throws IOException {
    // the bucket of this test: 3 at once, then 2 a second, on a clock the test moves
    for (int i = 0; i < 3; i++) {
      assertThat(get("/callback?code=" + CODE + "&state=" + STATE).status()).isEqualTo(200);
    }
    RawHttp.Reply limited = get("/callback?code=" + CODE + "&state=" + STATE);
    assertThat(limited.status()).isEqualTo(429);
    assertThat(limited.header("retry-after")).isEqualTo("1");
    assertThat(limited.body()).isEqualTo(CallbackServer.page("<p>" + CallbackServer.RATE_LIMITED + "</p>"));
    assertGuarded(limited);
    assertThat(post("application/x-www-form-urlencoded", "redirect_url=x").status()).as("the form too")
        .isEqualTo(429);
    assertThat(get("/callback").status()).as("the form page is no delivery").isEqualTo(200);
    assertThat(delivered).hasSize(3);

    nanos.addAndGet(500_000_000L);
    assertThat(get("/callback?code=" + CODE + "&state=" + STATE).status()).isEqualTo(200);
    assertThat(get("/callback?code=" + CODE + "&state=" + STATE).status()).isEqualTo(429);
    assertThat(delivered).hasSize(4);
    assertThat(scrape()).contains("devicelogin_callback_requests_total{outcome=\"rate_limited\"} 3.0");
  }

  @Test
  void theStandardRateIs20ASecondAfterABurstOf40() {
    AtomicLong clock = new AtomicLong();
    DeliveryRate rate = new DeliveryRate(DeliveryRate.PER_SECOND, DeliveryRate.BURST, clock::get);
    int taken = 0;
    while (rate.tryTake()) {
      taken++;
    }
    assertThat(taken).isEqualTo(40);
    clock.addAndGet(1_000_000_000L);
    taken = 0;
    while (rate.tryTake()) {
      taken++;
    }
    assertThat(taken).isEqualTo(20);
    clock.addAndGet(3_600_000_000_000L);
    taken = 0;
    while (rate.tryTake()) {
      taken++;
    }
    assertThat(taken).as("never more than the burst").isEqualTo(40);
  }

  // ---- what is logged and published

  @Test
  void logsAndMetricsCarryTheReceiptButNothingOfTheRequest() throws IOException {
    try (LogCapture logs = LogCapture.attach()) {
      get("/callback?code=" + CODE + "&state=" + STATE);
      nanos.addAndGet(1_000_000_000L);
      get("/callback?error=" + MARKER + "&error_description=" + MARKER + "&state=" + STATE);
      nanos.addAndGet(1_000_000_000L);
      post("application/x-www-form-urlencoded", "redirect_url=" + encode("http://x/?code=" + CODE));
      assertThat(logs.text()).contains("Callback: ACCEPTED from 127.0.0.1", "Callback: ERROR_RECORDED",
          "Callback: UNREADABLE").doesNotContain(MARKER, "SplxlOBeZQQYbYS6WxSbIA");
    }
    assertThat(scrape()).doesNotContain(MARKER);
  }

  // ---- helpers

  private void assertGuarded(RawHttp.Reply reply) {
    assertThat(reply.header("content-security-policy")).isEqualTo(
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    assertThat(reply.header("x-content-type-options")).isEqualTo("nosniff");
    assertThat(reply.header("referrer-policy")).isEqualTo("no-referrer");
    // Jetty's error pages (405) say must-revalidate,no-cache,no-store
    assertThat(reply.header("cache-control")).contains("no-store");
    assertThat(reply.header("x-frame-options")).isEqualTo("DENY");
    assertThat(reply.header("server")).isNull();
    assertThat(reply.raw()).doesNotContain(MARKER).doesNotContainIgnoringCase("jetty");
  }

  private String scrape() {
    return registry.scrape();
  }

  private static String encode(String text) {
    return URLEncoder.encode(text, StandardCharsets.UTF_8);
  }

  private RawHttp.Reply get(String target) throws IOException {
    return send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  }

  private RawHttp.Reply post(String contentType, String body) throws IOException {
    return send("POST /callback HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: " + contentType
        + "\r\nContent-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body);
  }

  private RawHttp.Reply send(String request) throws IOException {
    return RawHttp.send(server.port(), request);
  }
}
