package io.devicelogin.operator.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.oauth2.sdk.util.URLUtils;
import com.sun.net.httpserver.HttpServer;
import io.devicelogin.operator.browser.HeadlessChromium;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;

/**
 * The relay with a real browser: Chromium follows an IdP's redirect to the relay (so its Host and Sec-Fetch headers
 * pass the relay's checks), and a web page's hidden request to the relay is not forwarded.
 */
class RelayBrowserIT {

  @Test
  void aBrowserSentByTheIdpIsRelayedAndAPagesHiddenRequestIsNot() throws Exception {
    int port = freePort();
    String redirect = "http://localhost:" + port + "/";
    HttpServer web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    // the IdP after sign-in: a 302 to the redirect URI with the response
    web.createContext("/authorize", exchange -> {
      exchange.getResponseHeaders().add("Location", redirect + "?code=browser-code&state=browser-state"
          + "&iss=https%3A%2F%2Fidp.example&session_state=other");
      exchange.sendResponseHeaders(302, -1);
      exchange.close();
    });
    // any page the person visits meanwhile
    web.createContext("/hostile", exchange -> {
      byte[] page = ("<img src=\"" + redirect + "?code=hostile-code&state=hostile-1\">"
          + "<script>fetch('" + redirect + "?code=hostile-code&state=hostile-2', {mode: 'no-cors'})</script>"
          + "<p id=\"done\">loaded</p>").getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "text/html; charset=utf-8");
      exchange.sendResponseHeaders(200, page.length);
      exchange.getResponseBody().write(page);
      exchange.close();
    });
    web.start();
    String webUrl = "http://127.0.0.1:" + web.getAddress().getPort();
    try (StubCallback operator = StubCallback.start();
        RunningRelay relay = RunningRelay.start("--redirect-uri", redirect, "--callback", operator.url(),
            "--timeout", "60s");
        HeadlessChromium chromium = HeadlessChromium.start()) {
      chromium.driver().get(webUrl + "/hostile");
      await().atMost(Duration.ofSeconds(10)).until(
          () -> relay.output().lines().filter(line -> line.contains("made in the background")).count() == 2);
      assertThat(operator.received()).isEmpty();
      assertThat(relay.ended()).isFalse();

      chromium.driver().get(webUrl + "/authorize");
      assertThat(chromium.driver().getCurrentUrl()).startsWith(redirect + "?code=browser-code");
      assertThat(chromium.driver().findElement(By.tagName("p")).getText()).isEqualTo(RedirectHandler.ACCEPTED);
      assertThat(relay.exitCode(Duration.ofSeconds(10))).isEqualTo(Relay.ACCEPTED);
      assertThat(operator.received()).hasSize(1);
      assertThat(URLUtils.parseParameters(operator.received().get(0).rawQuery())).isEqualTo(Map.of(
          "code", List.of("browser-code"), "state", List.of("browser-state"), "iss", List.of("https://idp.example")));
      assertThat(relay.output()).doesNotContain("browser-code").doesNotContain("hostile-code");
    } finally {
      web.stop(0);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return socket.getLocalPort();
    }
  }
}
