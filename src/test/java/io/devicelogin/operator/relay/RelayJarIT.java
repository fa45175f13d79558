package io.devicelogin.operator.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.oauth2.sdk.util.URLUtils;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;

/**
 * {@code java -jar target/devicelogin-relay.jar} as a person runs it: a plain JRE, no classpath, nothing else. The
 * jar is minimized to what {@link Relay} reaches, so these runs are what shows nothing it needs was left out.
 */
class RelayJarIT {

  private static final Path JAR = Path.of("target", "devicelogin-relay.jar");
  /** The jar measured 2.6 MB (compressed: Jetty 1.3, Nimbus 0.75, json-smart 0.1): room for an upgrade, not for 26. */
  private static final long MAX_JAR_BYTES = 4L * 1024 * 1024;

  private final HttpClient browser = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2))
      .build();

  @Test
  void holdsOnlyTheRelayAndWhatItUses() throws IOException {
    long size = Files.size(JAR);
    System.out.printf("devicelogin-relay.jar: %d bytes%n", size);
    assertThat(size).isLessThan(MAX_JAR_BYTES);
    List<String> names = new ArrayList<>();
    try (JarFile jar = new JarFile(JAR.toFile())) {
      jar.stream().map(ZipEntry::getName).forEach(names::add);
      assertThat(jar.getManifest().getMainAttributes().getValue("Main-Class"))
          .isEqualTo("io.devicelogin.operator.relay.Relay");
    }
    assertThat(names)
        .contains("io/devicelogin/operator/relay/Relay.class", "io/devicelogin/operator/http/HardenedServer.class",
            "io/devicelogin/operator/idp/RedirectResponse.class")
        .doesNotContain("io/devicelogin/operator/Main.class", "io/devicelogin/operator/http/HealthServer.class",
            "logback.xml")
        .noneMatch(name -> name.startsWith("io/fabric8/") || name.startsWith("ch/qos/logback/")
            || name.startsWith("io/micrometer/") || name.startsWith("io/javaoperatorsdk/") || name.startsWith("crds/"));
  }

  @Test
  void helpWorksWithAPlainJre() throws Exception {
    RelayProcess relay = RelayProcess.start("--help");
    assertThat(relay.awaitExit()).isZero();
    assertThat(relay.stdout()).isEqualTo(Relay.USAGE);
    assertThat(relay.stderr()).isEmpty();
  }

  @Test
  void relaysASignInResponseToTheCallbackAndExitsZero() throws Exception {
    int port = freePort();
    try (StubCallback operator = StubCallback.start()) {
      RelayProcess relay = RelayProcess.start("--redirect-uri", "http://localhost:" + port + "/", "--callback",
          operator.url(), "--timeout", "60s");
      await().atMost(Duration.ofSeconds(30)).until(() -> relay.stdout().contains("waiting at"));
      HttpResponse<String> page = browser.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port
              + "/?code=jar-code-4711&state=jar-state-0815&iss=https%3A%2F%2Fidp.example&extra=1"))
          .header("Cookie", "session=secret").build(), HttpResponse.BodyHandlers.ofString());

      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.body()).contains(RedirectHandler.ACCEPTED);
      assertThat(relay.awaitExit()).isEqualTo(Relay.ACCEPTED);
      assertThat(operator.received()).hasSize(1);
      assertThat(URLUtils.parseParameters(operator.received().get(0).rawQuery())).isEqualTo(Map.of(
          "code", List.of("jar-code-4711"), "state", List.of("jar-state-0815"), "iss", List.of("https://idp.example")));
      assertThat(relay.stdout()).contains("received a sign-in response for state jar-stat..., forwarded to "
          + operator.url() + ": accepted").doesNotContain("jar-code-4711");
      assertThat(relay.stderr()).as("no logging noise, no stack trace").isEmpty();
    }
  }

  @Test
  void aRefusedResponseAndABadArgumentAreNonZero() throws Exception {
    int port = freePort();
    try (StubCallback operator = StubCallback.start().answer(400)) {
      RelayProcess relay = RelayProcess.start("--redirect-uri", "http://127.0.0.1:" + port + "/cb", "--callback",
          operator.url());
      await().atMost(Duration.ofSeconds(30)).until(() -> relay.stdout().contains("waiting at"));
      assertThat(browser.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
          + "/cb?code=c&state=s")).build(), HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(400);
      assertThat(relay.awaitExit()).isEqualTo(Relay.NOT_ACCEPTED);
      assertThat(relay.stdout()).contains(": refused (HTTP 400)");
    }
    RelayProcess bad = RelayProcess.start("--redirect-uri", "http://0.0.0.0:" + port + "/", "--callback",
        "https://login.example.com/callback");
    assertThat(bad.awaitExit()).isEqualTo(Relay.BAD_ARGUMENT);
    assertThat(bad.stdout()).contains("--redirect-uri must be an http:// URL on localhost");
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return socket.getLocalPort();
    }
  }

  /** The jar in a child JVM with no classpath and no Java options from the environment; stdout and stderr apart. */
  private record RelayProcess(Process process, Path stdoutFile, Path stderrFile) {

    static RelayProcess start(String... args) throws IOException {
      Path dir = Files.createTempDirectory(Path.of("target"), "relay-process");
      List<String> command = new ArrayList<>(List.of(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx64m", "-jar",
          JAR.toAbsolutePath().toString()));
      Collections.addAll(command, args);
      ProcessBuilder builder = new ProcessBuilder(command)
          .redirectOutput(dir.resolve("stdout").toFile())
          .redirectError(dir.resolve("stderr").toFile());
      builder.environment().keySet().removeIf(name -> name.equals("CLASSPATH") || name.startsWith("JAVA_TOOL")
          || name.startsWith("JDK_JAVA") || name.startsWith("_JAVA"));
      return new RelayProcess(builder.start(), dir.resolve("stdout"), dir.resolve("stderr"));
    }

    int awaitExit() throws InterruptedException, IOException {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("the relay still runs after 30 s; output: " + stdout());
      }
      return process.exitValue();
    }

    String stdout() throws IOException {
      return Files.readString(stdoutFile, StandardCharsets.UTF_8);
    }

    String stderr() throws IOException {
      return Files.readString(stderrFile, StandardCharsets.UTF_8);
    }
  }
}
