package io.devicelogin.operator.keycloak;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * A real Keycloak server for end-to-end tests, started from an unpacked {@code keycloak-quarkus-dist}
 * with {@code kc.sh start-dev} on 127.0.0.1 and a free port.
 *
 * <p>Every start begins with an empty H2 database and imports the {@value #REALM} realm from
 * {@code src/test/resources/keycloak/devicelogin-realm.json}. Keycloak's output goes to
 * {@code target/keycloak-<port>.log}. Tests normally use the per-JVM {@link #shared()} instance
 * (for JUnit 5: {@link KeycloakExtension}); a JVM shutdown hook stops every started server.
 * Only one server per Keycloak home may run at a time, because a start wipes the home's H2 database.
 */
public final class KeycloakServer implements AutoCloseable {

  /** Realm imported at start; its clients and users are described in the realm JSON. */
  public static final String REALM = "devicelogin";
  /** Bootstrap admin of the master realm (used by {@link KeycloakAdmin}). */
  static final String ADMIN_USERNAME = "admin";
  static final String ADMIN_PASSWORD = "admin";

  private static final String REALM_RESOURCE = "/keycloak/devicelogin-realm.json";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
  private static final int LOG_TAIL_LINES = 60;

  private static final Set<Path> HOMES_IN_USE = ConcurrentHashMap.newKeySet();
  private static KeycloakServer shared;
  private static RuntimeException sharedStartFailure;

  private final Path home;
  private final int port;
  private final Path logFile;
  private final Process process;
  private final Thread shutdownHook;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private KeycloakServer(Path home, int port, Path logFile) throws IOException {
    this.home = home;
    this.port = port;
    this.logFile = logFile;
    prepareHome(home);
    this.process = launch(home, port, logFile);
    this.shutdownHook = new Thread(this::stop, "keycloak-" + port + "-shutdown");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /** Starts Keycloak from {@link #defaultHome()} and waits until the realm is served. */
  public static KeycloakServer start() {
    return start(defaultHome());
  }

  /** Starts Keycloak from {@code home} and waits until the realm is served. */
  public static KeycloakServer start(Path home) {
    Path absoluteHome = home.toAbsolutePath().normalize();
    if (!HOMES_IN_USE.add(absoluteHome)) {
      throw new IllegalStateException("A Keycloak from " + absoluteHome + " is already running in this JVM;"
          + " use KeycloakServer.shared()");
    }
    int port = freePort();
    KeycloakServer server;
    try {
      server = new KeycloakServer(absoluteHome, port, Path.of("target", "keycloak-" + port + ".log").toAbsolutePath());
    } catch (IOException | RuntimeException e) {
      HOMES_IN_USE.remove(absoluteHome);
      throw new IllegalStateException("Could not start Keycloak from " + absoluteHome, e);
    }
    try {
      server.awaitReady();
    } catch (RuntimeException e) {
      server.close();
      throw e;
    }
    return server;
  }

  /**
   * The Keycloak shared by all tests of this JVM, started on first use.
   * Do not close it; the JVM shutdown hook stops it. If it failed to start, later calls fail fast.
   */
  public static synchronized KeycloakServer shared() {
    if (sharedStartFailure != null) {
      throw new IllegalStateException("The shared Keycloak failed to start earlier", sharedStartFailure);
    }
    if (shared == null) {
      try {
        shared = start();
      } catch (RuntimeException e) {
        sharedStartFailure = e;
        throw e;
      }
    }
    return shared;
  }

  /**
   * The Keycloak distribution to run: system property {@code keycloak.home} (set by failsafe),
   * else the single {@code target/keycloak/keycloak-*} directory unpacked by the build.
   */
  public static Path defaultHome() {
    String configured = System.getProperty("keycloak.home");
    if (configured != null && !configured.isBlank()) {
      return Path.of(configured);
    }
    Path unpacked = Path.of("target", "keycloak");
    List<Path> homes = new ArrayList<>();
    if (Files.isDirectory(unpacked)) {
      try (DirectoryStream<Path> dirs = Files.newDirectoryStream(unpacked, "keycloak-*")) {
        dirs.forEach(homes::add);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    if (homes.size() != 1) {
      throw new IllegalStateException("Expected exactly one Keycloak distribution in " + unpacked.toAbsolutePath()
          + " (run 'mvn process-test-resources' or set -Dkeycloak.home), found " + homes);
    }
    return homes.get(0).toAbsolutePath();
  }

  /** {@code http://127.0.0.1:<port>}, the root of the server. */
  public URI baseUrl() {
    return URI.create("http://127.0.0.1:" + port);
  }

  /** Issuer of the {@value #REALM} realm: {@code http://127.0.0.1:<port>/realms/devicelogin}. */
  public URI issuerUrl() {
    return URI.create(baseUrl() + "/realms/" + REALM);
  }

  /** Admin REST API client for changing realm, client and user state at runtime. */
  public KeycloakAdmin admin() {
    return new KeycloakAdmin(http, baseUrl());
  }

  /** Stops the Keycloak process tree: a graceful stop first, forcibly after a few seconds. */
  @Override
  public void close() {
    stop();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException alreadyShuttingDown) {
      // the hook is running or about to run stop(), which is idempotent
    }
  }

  private static void prepareHome(Path home) throws IOException {
    if (!Files.isExecutable(home.resolve("bin/kc.sh"))) {
      throw new IllegalStateException("Not a Keycloak distribution (no executable bin/kc.sh): " + home);
    }
    deleteRecursively(home.resolve("data/h2"));
    Path importDir = Files.createDirectories(home.resolve("data/import"));
    try (InputStream realm = KeycloakServer.class.getResourceAsStream(REALM_RESOURCE)) {
      if (realm == null) {
        throw new IllegalStateException("Missing test resource " + REALM_RESOURCE);
      }
      Files.copy(realm, importDir.resolve(REALM + "-realm.json"), StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static Process launch(Path home, int port, Path logFile) throws IOException {
    Files.createDirectories(logFile.getParent());
    ProcessBuilder builder = new ProcessBuilder(
        home.resolve("bin/kc.sh").toString(), "start-dev",
        "--import-realm",
        "--http-host=127.0.0.1",
        "--http-port=" + port,
        "--log-console-color=false")
        .directory(home.toFile())
        .redirectErrorStream(true)
        .redirectOutput(logFile.toFile());
    Map<String, String> env = builder.environment();
    env.put("JAVA_HOME", System.getProperty("java.home"));
    env.put("KC_BOOTSTRAP_ADMIN_USERNAME", ADMIN_USERNAME);
    env.put("KC_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD);
    return builder.start();
  }

  private void awaitReady() {
    URI discovery = URI.create(issuerUrl() + "/.well-known/openid-configuration");
    HttpRequest request = HttpRequest.newBuilder(discovery).timeout(Duration.ofSeconds(5)).GET().build();
    Instant deadline = Instant.now().plus(START_TIMEOUT);
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        throw new IllegalStateException("Keycloak exited with code " + process.exitValue()
            + " before it was ready; log " + logFile + ":\n" + logTail());
      }
      try {
        if (http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
          return;
        }
      } catch (IOException notListeningYet) {
        // connection refused or timed out while Keycloak boots: keep polling
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("Interrupted while waiting for Keycloak", e);
      }
      pause(Duration.ofMillis(250));
    }
    throw new IllegalStateException("Keycloak did not serve " + discovery + " within " + START_TIMEOUT
        + "; log " + logFile + ":\n" + logTail());
  }

  private synchronized void stop() {
    List<ProcessHandle> tree = Stream.concat(Stream.of(process.toHandle()), process.descendants()).toList();
    tree.forEach(ProcessHandle::destroy);
    if (!awaitExit(tree)) {
      tree.forEach(ProcessHandle::destroyForcibly);
      awaitExit(tree);
    }
    HOMES_IN_USE.remove(home);
  }

  private static boolean awaitExit(List<ProcessHandle> processes) {
    Instant deadline = Instant.now().plus(STOP_TIMEOUT);
    try {
      for (ProcessHandle handle : processes) {
        long millisLeft = Math.max(0, Duration.between(Instant.now(), deadline).toMillis());
        handle.onExit().get(millisLeft, TimeUnit.MILLISECONDS);
      }
      return true;
    } catch (TimeoutException | ExecutionException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private String logTail() {
    try {
      List<String> lines = Files.readAllLines(logFile);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
    } catch (IOException e) {
      return "(log not readable: " + e + ")";
    }
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void pause(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while waiting for Keycloak", e);
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    }
  }
}
