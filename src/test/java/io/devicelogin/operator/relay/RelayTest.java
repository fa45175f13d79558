package io.devicelogin.operator.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.oauth2.sdk.util.URLUtils;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The relay in-process, against a recording stand-in for the operator's callback ({@link StubCallback}), driven the
 * way a browser (or a hostile web page in it) would drive it.
 */
class RelayTest {

  /** Put into every part of a request that must not be forwarded. */
  private static final String MARKER = "zq7Xk3marker";
  private static final String CODE = "SplxlOBeZQQYbYS6WxSbIA-code";
  private static final String STATE = "af0ifjsldkjStateValue";

  private final HttpClient browser = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .followRedirects(HttpClient.Redirect.NEVER)
      .connectTimeout(Duration.ofSeconds(2))
      .build();

  // ---- forwarding

  @Test
  void forwardsExactlyCodeStateAndIssAndNothingElseOfTheRequest() throws Exception {
    int port = freePort();
    try (StubCallback operator = StubCallback.start();
        RunningRelay relay = RunningRelay.start(arguments(port, operator))) {
      HttpResponse<String> page = browse(port, "/?code=" + CODE + "&state=" + STATE
          + "&iss=https%3A%2F%2Fidp.example%2Frealms%2Fa&session_state=" + MARKER + "&extra=" + MARKER,
          "Cookie", "session=" + MARKER, "Authorization", "Bearer " + MARKER, "X-Forwarded-For", MARKER,
          "Referer", "https://idp.example/" + MARKER, "Sec-Fetch-Mode", "navigate");

      assertThat(relay.exitCode(Duration.ofSeconds(10))).isEqualTo(Relay.ACCEPTED);
      assertThat(operator.received()).hasSize(1);
      StubCallback.Received forwarded = operator.received().get(0);
      assertThat(forwarded.method()).isEqualTo("GET");
      assertThat(forwarded.path()).isEqualTo("/callback");
      assertThat(URLUtils.parseParameters(forwarded.rawQuery())).isEqualTo(Map.of(
          "code", List.of(CODE), "state", List.of(STATE), "iss", List.of("https://idp.example/realms/a")));
      assertThat(forwarded.headers().keySet()).isSubsetOf("host", "user-agent", "content-length", "connection");
      assertThat(forwarded.headers().get("user-agent")).containsExactly("devicelogin-relay");
      assertThat(forwarded.headers().toString()).doesNotContain(MARKER);

      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.body()).contains(RedirectHandler.ACCEPTED).doesNotContain(CODE).doesNotContain(STATE);
      assertBrowserPageHeaders(page);
      assertThat(relay.output())
          .contains("received a sign-in response for state af0ifjsl..., forwarded to " + operator.url()
              + ": accepted")
          .doesNotContain(CODE)
          .doesNotContain(STATE)
          .doesNotContain(MARKER);
    }
  }

  @Test
  void withoutIssOnlyCodeAndStateAreForwardedAndValuesAreReEncoded() throws Exception {
    int port = freePort();
    try (StubCallback operator = StubCallback.start();
        RunningRelay relay = RunningRelay.start(arguments(port, operator))) {
      browse(port, "/?state=a%26b%3Dc+d%2F%7E&code=x%3Fy%23z");
      assertThat(relay.exitCode(Duration.ofSeconds(10))).isEqualTo(Relay.ACCEPTED);
      assertThat(URLUtils.parseParameters(operator.received().get(0).rawQuery()))
          .isEqualTo(Map.of("code", List.of("x?y#z"), "state", List.of("a&b=c d/~")));
    }
  }

  @Test
  void aRefusedResponseEndsTheRelayWithExitCodeOne() throws Exception {
    int port = freePort();
    try (StubCallback operator = StubCallback.start().answer(400);
        RunningRelay relay = RunningRelay.start(arguments(port, operator))) {
      HttpResponse<String> page = browse(port, "/?code=" + CODE + "&state=" + STATE);
      assertThat(relay.exitCode(Duration.ofSeconds(10))).isEqualTo(Relay.NOT_ACCEPTED);
      assertThat(page.statusCode()).isEqualTo(400);
      assertThat(page.body()).contains(RedirectHandler.REFUSED);
      assertBrowserPageHeaders(page);
      assertThat(relay.output()).contains(": refused (HTTP 400)").doesNotContain(CODE);
    }
  }

  @Test
  void anOperatorThatCannotTakeItNowIsRetriedByReloadingThePage() throws Exception {
    int port = freePort();
    try (StubCallback operator = StubCallback.start().answer(503);
        RunningRelay relay = RunningRelay.start(arguments(port, operator))) {
      String redirect = "/?code=" + CODE + "&state=" + STATE;
      HttpResponse<String> first = browse(port, redirect);
      assertThat(first.statusCode()).isEqualTo(502);
      assertThat(first.body()).contains(RedirectHandler.UNAVAILABLE);
      assertThat(relay.ended()).isFalse();
      operator.answer(429);
      assertThat(browse(port, redirect).statusCode()).isEqualTo(502);
      assertThat(relay.ended()).isFalse();

      operator.answer(200);
      assertThat(browse(port, redirect).statusCode()).isEqualTo(200);
      assertThat(relay.exitCode(Duration.ofSeconds(10))).isEqualTo(Relay.ACCEPTED);
      assertThat(operator.received()).hasSize(3);
      assertThat(relay.output()).contains("the operator could not take it (HTTP 503)")
          .contains("the operator could not take it (HTTP 429)").doesNotContain(CODE);
    }
  }

  @Test
  void anUnreachableCallbackIsReportedWithoutTheCodeAndTheRelayKeepsWaiting() throws Exception {
    int port = freePort();
    String callback = "http://127.0.0.1:" + freePort() + "/callback";
    try (RunningRelay relay = RunningRelay.start("--redirect-uri", "http://localhost:" + port + "/", "--callback",
        callback, "--timeout", "3s")) {
      HttpResponse<String> page = browse(port, "/?code=" + CODE + "&state=" + STATE);
      assertThat(page.statusCode()).isEqualTo(502);
      assertThat(relay.output()).contains("forwarded to " + callback + ": the operator could not take it (could not "
          + "connect); reload the page").doesNotContain(CODE);
      assertThat(relay.exitCode(Duration.ofSeconds(10))).isEqualTo(Relay.NOT_ACCEPTED);
      assertThat(relay.output()).contains("gave up, no sign-in response arrived within 3s").doesNotContain(CODE);
    }
  }

  @Test
  void anIdpErrorIsShownSanitisedAndNothingIsForwarded() throws Exception {
    int port = freePort();
    try (StubCallback operator = StubCallback.start();
        RunningRelay relay = RunningRelay.start(arguments(port, operator))) {
      HttpResponse<String> page = browse(port, "/?error=access_denied&error_description=User+declined+%3Cscript%3E"
          + "%1B%5B2J" + MARKER + "&state=" + STATE);
      assertThat(relay.exitCode(Duration.ofSeconds(10))).isEqualTo(Relay.NOT_ACCEPTED);
      assertThat(operator.received()).isEmpty();
      assertThat(page.statusCode()).isEqualTo(400);
      assertThat(page.body()).contains(RedirectHandler.IDP_ERROR.formatted(" (access_denied)"))
          .doesNotContain("<script>").doesNotContain(MARKER);
      assertBrowserPageHeaders(page);
      assertThat(relay.output())
          .contains("the identity provider sent an error instead of a sign-in response: access_denied (User declined "
              + "<script>[2J" + MARKER + "); nothing was forwarded")
          .doesNotContain("\u001b");
    }
  }

  @Test
  void anErrorCodeOutsideRfc6749sCharactersIsNotShownOnThePage() throws Exception {
    int port = freePort();
    try (StubCallback operator = StubCallback.start();
        RunningRelay relay = RunningRelay.start(arguments(port, operator))) {
      HttpResponse<String> page = browse(port, "/?error=%3Ch1%3ECall+" + MARKER + "%3C%2Fh1%3E&state=" + STATE);
      assertThat(relay.exitCode(Duration.ofSeconds(10))).isEqualTo(Relay.NOT_ACCEPTED);
      assertThat(page.body()).contains(RedirectHandler.IDP_ERROR.formatted("")).doesNotContain(MARKER)
          .doesNotContain("<h1>");
      assertThat(operator.received()).isEmpty();
    }
  }

  @Test
  void requestsThatAreNotASignInResponseAreAnsweredAndIgnored() throws Exception {
    int port = freePort();
    try (StubCallback operator = StubCallback.start();
        RunningRelay relay = RunningRelay.start(arguments(port, operator))) {
      // no code (Nimbus reads a bare state as a success without one), no state, a parameter twice, no query
      for (String query : List.of("/?state=" + STATE, "/?code=" + CODE, "/?code=a&code=b&state=" + STATE,
          "/?access_token=" + MARKER + "&token_type=Bearer&state=" + STATE, "/")) {
        HttpResponse<String> page = browse(port, query);
        assertThat(page.statusCode()).as(query).isEqualTo(400);
        assertThat(page.body()).contains(RedirectHandler.UNREADABLE);
      }
      assertThat(browse(port, "/favicon.ico").statusCode()).isEqualTo(404);
      assertThat(browse(port, "/other?code=" + CODE + "&state=" + STATE).statusCode()).isEqualTo(404);
      HttpResponse<String> post = browser.send(HttpRequest.newBuilder(
              URI.create("http://localhost:" + port + "/?code=" + CODE + "&state=" + STATE))
          .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(post.statusCode()).isEqualTo(405);
      assertThat(post.headers().firstValue("allow")).contains("GET");
      assertThat(browser.send(HttpRequest.newBuilder(
              URI.create("http://localhost:" + port + "/?code=" + CODE + "&state=" + STATE))
          .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding())
          .statusCode()).isEqualTo(405);
      assertThat(operator.received()).isEmpty();
      assertThat(relay.ended()).isFalse();
      assertThat(relay.output()).contains("that is not a sign-in response (it has no state parameter)")
          .doesNotContain(CODE).doesNotContain(MARKER);

      assertThat(browse(port, "/?code=" + CODE + "&state=" + STATE).statusCode()).isEqualTo(200);
      assertThat(relay.exitCode(Duration.ofSeconds(10))).isEqualTo(Relay.ACCEPTED);
      assertThat(operator.received()).hasSize(1);
    }
  }

  @Test
  void aWebPagesBackgroundRequestIsNotForwarded() throws Exception {
    int port = freePort();
    try (StubCallback operator = StubCallback.start();
        RunningRelay relay = RunningRelay.start(arguments(port, operator))) {
      // <img src="http://localhost:8000/?code=…&state=…"> or fetch() on any page the person visits
      for (String mode : List.of("no-cors", "cors", "same-origin")) {
        assertThat(browse(port, "/?code=" + CODE + "&state=" + STATE, "Sec-Fetch-Mode", mode).statusCode())
            .isEqualTo(403);
      }
      assertThat(operator.received()).isEmpty();
      assertThat(relay.ended()).isFalse();
    }
  }

  @Test
  void aRequestForAnotherHostNameIsNotForwarded() throws Exception {
    int port = freePort();
    try (StubCallback operator = StubCallback.start();
        RunningRelay relay = RunningRelay.start(arguments(port, operator))) {
      // DNS rebinding: evil.example resolves to 127.0.0.1, and its page sends the browser to the relay
      String answer = rawRequest(port, "GET /?code=" + CODE + "&state=" + STATE + " HTTP/1.1\r\nHost: evil.example:"
          + port + "\r\nConnection: close\r\n\r\n");
      assertThat(answer).startsWith("HTTP/1.1 421 ");
      assertThat(rawRequest(port, "GET /?code=" + CODE + "&state=" + STATE + " HTTP/1.1\r\nHost: 127.0.0.1:" + port
          + "\r\nConnection: close\r\n\r\n")).startsWith("HTTP/1.1 421 ");
      assertThat(operator.received()).isEmpty();
      assertThat(relay.ended()).isFalse();
    }
  }

  @Test
  void theStateShownOnTheTerminalIsEightSafeCharacters() throws Exception {
    int port = freePort();
    try (StubCallback operator = StubCallback.start();
        RunningRelay relay = RunningRelay.start(arguments(port, operator))) {
      // control characters are not a state RFC 6749 allows: not forwarded, and nothing of them printed
      browse(port, "/?code=" + CODE + "&state=ab%1B%5B2J%07" + MARKER);
      assertThat(operator.received()).isEmpty();
      assertThat(relay.output()).doesNotContain("\u001b").doesNotContain("\u0007").doesNotContain(MARKER);
      browse(port, "/?code=" + CODE + "&state=ab%3C%5B2J%7C" + MARKER);
      assertThat(relay.exitCode(Duration.ofSeconds(10))).isEqualTo(Relay.ACCEPTED);
      assertThat(relay.output()).contains("for state ab??2J?z...").doesNotContain(MARKER);
    }
  }

  @Test
  void aSecondResponseArrivingWhileTheFirstIsForwardedIsNotForwardedOnceTheRelayHasFinished() throws Exception {
    int port = freePort();
    try (StubCallback operator = StubCallback.start().delay(Duration.ofSeconds(1));
        RunningRelay relay = RunningRelay.start(arguments(port, operator))) {
      CompletableFuture<HttpResponse<String>> first = browser.sendAsync(HttpRequest.newBuilder(
          URI.create("http://localhost:" + port + "/?code=" + CODE + "&state=" + STATE)).build(),
          HttpResponse.BodyHandlers.ofString());
      await().atMost(Duration.ofSeconds(5)).until(() -> operator.received().size() == 1);
      CompletableFuture<HttpResponse<String>> second = browser.sendAsync(HttpRequest.newBuilder(
          URI.create("http://localhost:" + port + "/?code=" + MARKER + "&state=" + MARKER)).build(),
          HttpResponse.BodyHandlers.ofString());

      assertThat(first.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      assertThat(relay.exitCode(Duration.ofSeconds(10))).isEqualTo(Relay.ACCEPTED);
      // it waited for the first; then it got "finished", or the relay closed its connection first
      try {
        HttpResponse<String> finished = second.get(10, TimeUnit.SECONDS);
        assertThat(finished.statusCode()).isEqualTo(410);
        assertThat(finished.body()).contains(RedirectHandler.FINISHED);
      } catch (ExecutionException e) {
        assertThat(e.getCause()).isInstanceOf(IOException.class);
      }
      assertThat(operator.received()).hasSize(1);
    }
  }

  @Test
  void afterTheLastPageTheRelayStopsListening() throws Exception {
    int port = freePort();
    try (StubCallback operator = StubCallback.start();
        RunningRelay relay = RunningRelay.start(arguments(port, operator))) {
      browse(port, "/?code=" + CODE + "&state=" + STATE);
      assertThat(relay.exitCode(Duration.ofSeconds(10))).isEqualTo(Relay.ACCEPTED);
      assertThatThrownBy(() -> browse(port, "/?code=" + CODE + "&state=" + STATE)).isInstanceOf(ConnectException.class);
      assertThat(operator.received()).hasSize(1);
    }
  }

  // ---- where it listens

  @Test
  void listensOnlyOnTheLoopbackAddress() throws Exception {
    Optional<InetAddress> external = nonLoopbackAddress();
    int port = freePort();
    try (StubCallback operator = StubCallback.start();
        RunningRelay relay = RunningRelay.start(arguments(port, operator))) {
      assertThat(relay.output()).contains("waiting at http://localhost:" + port + "/ (only on 127.0.0.1)");
      try (Socket loopback = new Socket()) {
        loopback.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 2000);
      }
      assumeThat(external).as("a non-loopback address on this machine").isPresent();
      assertThatThrownBy(() -> {
        try (Socket socket = new Socket()) {
          socket.connect(new InetSocketAddress(external.get(), port), 2000);
        }
      }).isInstanceOf(ConnectException.class);
    }
  }

  @Test
  void anIpv6LoopbackRedirectUriListensOnIpv6LoopbackOnly() throws Exception {
    assumeThat(canListenOn("::1")).as("IPv6 loopback available").isTrue();
    int port = freePort();
    try (StubCallback operator = StubCallback.start();
        RunningRelay relay = RunningRelay.start("--redirect-uri", "http://[::1]:" + port + "/cb", "--callback",
            operator.url(), "--timeout", "30s")) {
      assertThatThrownBy(() -> {
        try (Socket socket = new Socket()) {
          socket.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 2000);
        }
      }).isInstanceOf(ConnectException.class);
      HttpResponse<String> page = browser.send(HttpRequest.newBuilder(
          URI.create("http://[::1]:" + port + "/cb?code=" + CODE + "&state=" + STATE)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(relay.exitCode(Duration.ofSeconds(10))).isEqualTo(Relay.ACCEPTED);
    }
  }

  @Test
  void aPortInUseIsOneClearLine() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
        RunningRelay relay = RunningRelay.start("--redirect-uri", "http://localhost:" + taken.getLocalPort() + "/",
            "--callback", "https://login.example.com/callback")) {
      assertThat(relay.exitCode(Duration.ofSeconds(10))).isEqualTo(Relay.NOT_ACCEPTED);
      assertThat(relay.output()).startsWith("devicelogin-relay: cannot listen on http://localhost:"
          + taken.getLocalPort() + "/").contains("is another program using port " + taken.getLocalPort());
    }
  }

  // ---- arguments

  @Test
  void aRedirectUriOffTheLoopbackOrNotPlainHttpIsRefusedWithExitCodeTwo() throws Exception {
    for (String redirect : List.of("http://0.0.0.0:8000/", "http://192.168.1.10:8000/", "http://example.com:8000/",
        "https://localhost:8000/", "http://localhost:8000/?x=1", "http://user@localhost:8000/", "localhost:8000",
        "http://127.0.0.2:8000/", "http://localhost.example.com:8000/", "http://localhost:0/", "http://localhost:70000/", "http://[::1")) {
      try (RunningRelay relay = RunningRelay.start("--redirect-uri", redirect, "--callback",
          "https://login.example.com/callback")) {
        assertThat(relay.exitCode(Duration.ofSeconds(5))).as(redirect).isEqualTo(Relay.BAD_ARGUMENT);
        assertThat(relay.output()).as(redirect).startsWith("devicelogin-relay: --redirect-uri must be an http:// URL "
            + "on localhost, 127.0.0.1 or [::1]");
      }
    }
  }

  @Test
  void aCallbackInClearTextToAnotherMachineNeedsInsecureHttp() throws Exception {
    int port = freePort();
    try (RunningRelay relay = RunningRelay.start("--redirect-uri", "http://localhost:" + port + "/", "--callback",
        "http://login.example.com/callback")) {
      assertThat(relay.exitCode(Duration.ofSeconds(5))).isEqualTo(Relay.BAD_ARGUMENT);
      assertThat(relay.output()).contains("--callback must be https://").contains("--insecure-http");
    }
    try (RunningRelay relay = RunningRelay.start("--redirect-uri", "http://localhost:" + port + "/", "--callback",
        "http://login.example.com/callback", "--insecure-http", "--timeout", "1s")) {
      assertThat(relay.exitCode(Duration.ofSeconds(10))).as("runs, then gives up").isEqualTo(Relay.NOT_ACCEPTED);
      assertThat(relay.output()).contains("to forward it to http://login.example.com/callback").contains("gave up");
    }
    for (String callback : List.of("https://login.example.com/callback?x=1", "https://u:p@login.example.com/cb",
        "ftp://login.example.com/callback", "/callback", "https://login.example.com/callback#f")) {
      try (RunningRelay relay = RunningRelay.start("--redirect-uri", "http://localhost:" + port + "/", "--callback",
          callback)) {
        assertThat(relay.exitCode(Duration.ofSeconds(5))).as(callback).isEqualTo(Relay.BAD_ARGUMENT);
        assertThat(relay.output()).as(callback).contains("--callback must be the operator's callback URL");
      }
    }
  }

  @Test
  void otherBadArgumentsAreRefusedWithExitCodeTwo() throws Exception {
    Map<List<String>, String> cases = Map.of(
        List.of("--callback", "https://login.example.com/callback"), "--redirect-uri and --callback are required",
        List.of("--redirect-uri", "http://localhost:8000/", "--callback"), "--callback needs a value",
        List.of("--redirect-uri", "http://localhost:8000/", "--callback", "https://l.example/cb", "--timeout", "10"),
        "--timeout must be a number and a unit",
        List.of("--redirect-uri", "http://localhost:8000/", "--callback", "https://l.example/cb", "--timeout", "0s"),
        "--timeout must be a number and a unit",
        List.of("--redirect-uri", "http://localhost:8000/", "--callback", "https://l.example/cb", "--verbose"),
        "unknown argument '--verbose'");
    for (Map.Entry<List<String>, String> bad : cases.entrySet()) {
      try (RunningRelay relay = RunningRelay.start(bad.getKey().toArray(String[]::new))) {
        assertThat(relay.exitCode(Duration.ofSeconds(5))).as(bad.getKey().toString()).isEqualTo(Relay.BAD_ARGUMENT);
        assertThat(relay.output()).as(bad.getKey().toString()).contains(bad.getValue()).contains("(see --help)");
      }
    }
  }

  @Test
  void helpPrintsTheUsage() throws Exception {
    try (RunningRelay relay = RunningRelay.start("--help")) {
      assertThat(relay.exitCode(Duration.ofSeconds(5))).isZero();
      assertThat(relay.output()).isEqualTo(Relay.USAGE);
    }
  }

  @Test
  void givesUpAfterTheTimeout() throws Exception {
    int port = freePort();
    long start = System.nanoTime();
    try (StubCallback operator = StubCallback.start();
        RunningRelay relay = RunningRelay.start("--redirect-uri", "http://localhost:" + port + "/", "--callback",
            operator.url(), "--timeout", "2s")) {
      assertThat(relay.output()).contains("giving up in 2s");
      assertThat(relay.exitCode(Duration.ofSeconds(10))).isEqualTo(Relay.NOT_ACCEPTED);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofSeconds(2), Duration.ofSeconds(8));
      assertThat(relay.output()).contains("gave up, no sign-in response arrived within 2s");
      assertThat(operator.received()).isEmpty();
      await().atMost(Duration.ofSeconds(5)).until(() -> canListenOn("127.0.0.1", port));
    }
  }

  // ---- helpers

  private static String[] arguments(int port, StubCallback operator) {
    return new String[] {"--redirect-uri", "http://localhost:" + port + "/", "--callback", operator.url(),
        "--timeout", "30s"};
  }

  private HttpResponse<String> browse(int port, String pathAndQuery, String... headers)
      throws IOException, InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://localhost:" + port + pathAndQuery));
    if (headers.length > 0) {
      request.headers(headers);
    }
    return browser.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static void assertBrowserPageHeaders(HttpResponse<String> page) {
    assertThat(page.headers().firstValue("content-type")).contains("text/html; charset=utf-8");
    assertThat(page.headers().firstValue("cache-control")).contains("no-store");
    assertThat(page.headers().firstValue("referrer-policy")).contains("no-referrer");
    assertThat(page.headers().firstValue("content-security-policy")).contains("default-src 'none'");
    assertThat(page.headers().firstValue("x-content-type-options")).contains("nosniff");
    assertThat(page.headers().firstValue("server")).isEmpty();
  }

  private static String rawRequest(int port, String request) throws IOException {
    try (Socket socket = new Socket(InetAddress.getByName("127.0.0.1"), port)) {
      socket.setSoTimeout(5000);
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return socket.getLocalPort();
    }
  }

  private static boolean canListenOn(String address) {
    return canListenOn(address, 0);
  }

  private static boolean canListenOn(String address, int port) {
    try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getByName(address))) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** An address of this machine other than loopback (and link-local, which needs a scope), if it has one. */
  private static Optional<InetAddress> nonLoopbackAddress() throws SocketException {
    return NetworkInterface.networkInterfaces()
        .filter(RelayTest::isUp)
        .flatMap(NetworkInterface::inetAddresses)
        .filter(address -> !address.isLoopbackAddress() && !address.isLinkLocalAddress())
        .findFirst();
  }

  private static boolean isUp(NetworkInterface networkInterface) {
    try {
      return networkInterface.isUp();
    } catch (SocketException e) {
      return false;
    }
  }
}
