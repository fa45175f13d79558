package io.devicelogin.operator.browser;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.NoSuchElementException;
import org.openqa.selenium.WebDriver;

/** The real headless Chromium against a page on loopback: it works like a person's browser and leaves nothing. */
class HeadlessChromiumIT {

  private static final String PAGE = """
      <!doctype html><html><head><title>greeter</title></head><body>
      <input id="name"><button id="greet">Greet</button>
      <p id="greeting"></p>
      <script>
        document.getElementById('greet').addEventListener('click', () => {
          document.getElementById('greeting').textContent = 'Hello, ' + document.getElementById('name').value;
        });
      </script>
      </body></html>""";

  private HttpServer server;
  private final Map<String, String> lastHeaders = new ConcurrentHashMap<>();

  @BeforeEach
  void serve() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", exchange -> {
      if (exchange.getRequestURI().getPath().equals("/favicon.ico")) {
        exchange.sendResponseHeaders(404, -1);
        exchange.close();
        return;
      }
      lastHeaders.put("User-Agent", String.valueOf(exchange.getRequestHeaders().getFirst("User-Agent")));
      lastHeaders.put("Cookie", String.valueOf(exchange.getRequestHeaders().getFirst("Cookie")));
      if (exchange.getRequestURI().getPath().equals("/set-cookie")) {
        exchange.getResponseHeaders().add("Set-Cookie", "person=first; Path=/");
      }
      respond(exchange, PAGE);
    });
    server.start();
  }

  @AfterEach
  void stopServing() {
    server.stop(0);
  }

  @Test
  void runsAHeadlessChromiumWithThisMachinesFlagsThatTypesClicksAndRunsScriptsThenLeavesNoProcess() {
    List<ProcessHandle> started;
    Path profile;
    try (HeadlessChromium browser = HeadlessChromium.start()) {
      profile = browser.profile();
      WebDriver driver = browser.driver();
      driver.get(url("/"));
      driver.findElement(By.id("name")).sendKeys("Alice");
      driver.findElement(By.id("greet")).click();

      assertThat(driver.findElement(By.id("greeting")).getText()).isEqualTo("Hello, Alice");
      assertThat(lastHeaders.get("User-Agent")).contains("HeadlessChrome/");
      started = browser.processes();
      ProcessHandle chromium = started.stream()
          .filter(process -> arguments(process).contains("--user-data-dir=" + profile))
          .findFirst().orElseThrow(() -> new AssertionError("no Chromium process with the profile: " + started));
      assertThat(chromium.info().command()).hasValueSatisfying(command -> assertThat(command).endsWith("chromium"));
      assertThat(arguments(chromium)).containsAll(HeadlessChromium.FLAGS);
      assertThat(profile.getFileName().toString()).startsWith("chromium-profile-");
      assertThat(started).as("chromedriver, Chromium and its helpers").hasSizeGreaterThanOrEqualTo(3);
    }

    assertThat(started).as("every process the browser started has ended").noneMatch(HeadlessChromium::isRunning);
    assertThat(processesNaming(profile)).as("no process anywhere, crash handlers included, uses the profile")
        .noneMatch(HeadlessChromium::isRunning);
    assertThat(profile).doesNotExist();
    // the ended helpers were Chromium's children, so init reaps them (slowly here); then no trace of them is left
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(started).noneMatch(ProcessHandle::isAlive));
  }

  @Test
  void aFailedStepInsideTryWithResourcesStillEndsEveryProcess() {
    List<ProcessHandle> started = new ArrayList<>();
    Path[] profile = new Path[1];

    assertThatThrownBy(() -> {
      try (HeadlessChromium browser = HeadlessChromium.start()) {
        profile[0] = browser.profile();
        browser.driver().get(url("/"));
        started.addAll(browser.processes());
        browser.driver().findElement(By.id("no-such-element"));
      }
    }).isInstanceOf(NoSuchElementException.class);

    assertThat(started).hasSizeGreaterThanOrEqualTo(3).noneMatch(HeadlessChromium::isRunning);
    assertThat(processesNaming(profile[0])).noneMatch(HeadlessChromium::isRunning);
    assertThat(profile[0]).doesNotExist();
  }

  @Test
  void eachBrowserIsANewPersonWithoutTheCookiesOfTheLastOne() {
    try (HeadlessChromium first = HeadlessChromium.start()) {
      first.driver().get(url("/set-cookie"));
      first.driver().get(url("/"));
      assertThat(lastHeaders.get("Cookie")).isEqualTo("person=first");
    }
    try (HeadlessChromium second = HeadlessChromium.start()) {
      second.driver().get(url("/"));
      assertThat(lastHeaders.get("Cookie")).isEqualTo("null");
    }
  }

  @Test
  void withoutChromiumStartFailsSayingWhatToInstall() {
    Path missing = Path.of("/nonexistent/chromium");

    assertThatThrownBy(() -> HeadlessChromium.start(missing, HeadlessChromium.CHROMEDRIVER))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(missing.toString())
        .hasMessageContaining("apt-get install chromium chromium-driver");
    assertThatThrownBy(() -> HeadlessChromium.start(HeadlessChromium.CHROMIUM, Path.of("/nonexistent/chromedriver")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("/nonexistent/chromedriver")
        .hasMessageContaining("apt-get install chromium chromium-driver");
  }

  private String url(String path) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + path;
  }

  private static List<String> arguments(ProcessHandle process) {
    return process.info().arguments().map(List::of).orElse(List.of());
  }

  private static List<ProcessHandle> processesNaming(Path profile) {
    return ProcessHandle.allProcesses()
        .filter(process -> arguments(process).stream().anyMatch(argument -> argument.contains(profile.toString())))
        .toList();
  }

  private static void respond(HttpExchange exchange, String html) throws IOException {
    byte[] body = html.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
    exchange.sendResponseHeaders(200, body.length);
    exchange.getResponseBody().write(body);
    exchange.close();
  }
}
