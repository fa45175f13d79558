package io.devicelogin.operator.jar;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** {@code java -jar target/devicelogin-operator.jar} as a child process, with its output in a file. */
public final class OperatorProcess implements AutoCloseable {

  public static final Path JAR = Path.of("target", "devicelogin-operator.jar");

  private final Process process;
  private final Path output;

  private OperatorProcess(Process process, Path output) {
    this.process = process;
    this.output = output;
  }

  /** Starts the jar with KUBECONFIG pointing at a kubeconfig for {@code apiServerUrl} and the given environment. */
  public static OperatorProcess start(String apiServerUrl, Map<String, String> env) {
    return start(apiServerUrl, "test-token", env);
  }

  /**
   * As {@link #start(String, Map)}, authenticating with the bearer token {@code token}, so the API server can tell this
   * process's requests from others'.
   */
  public static OperatorProcess start(String apiServerUrl, String token, Map<String, String> env) {
    try {
      Path dir = Files.createTempDirectory(Path.of("target"), "operator-process");
      Path kubeconfig = dir.resolve("kubeconfig");
      Files.writeString(kubeconfig, """
          apiVersion: v1
          kind: Config
          clusters:
          - name: test
            cluster:
              server: %s
          users:
          - name: test
            user:
              token: %s
          contexts:
          - name: test
            context: {cluster: test, user: test, namespace: default}
          current-context: test
          """.formatted(apiServerUrl, token));
      Path output = dir.resolve("output.log");
      ProcessBuilder builder = new ProcessBuilder(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m", "-jar",
          JAR.toAbsolutePath().toString())
          .redirectErrorStream(true)
          .redirectOutput(output.toFile());
      builder.environment().keySet().removeIf(k -> k.startsWith("KUBERNETES_"));
      builder.environment().put("KUBECONFIG", kubeconfig.toString());
      // IdPs in tests run on 127.0.0.1, which IDP_DENIED_CIDRS denies by default; a test may set it again
      builder.environment().put("IDP_DENIED_CIDRS", "");
      // the callback endpoint on a free port: two processes of a test (or a busy 8081 on the machine) never collide
      builder.environment().put("CALLBACK_PORT", "0");
      builder.environment().putAll(env);
      return new OperatorProcess(builder.start(), output);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Waits for the process to exit; returns its exit code, or -1 if it is still running after {@code timeout}. */
  public int awaitExit(Duration timeout) throws InterruptedException {
    return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
  }

  public String output() {
    try {
      return Files.readString(output, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** SIGKILL (on Linux): no shutdown hook runs, nothing is flushed or closed; waits until the process is gone. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("operator process " + process.pid() + " still running 30 s after SIGKILL");
    }
  }

  /** SIGTERM, as Kubernetes stops a Pod; waits for the exit. */
  public int terminate(Duration timeout) throws InterruptedException {
    process.destroy();
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      return -1;
    }
    return process.exitValue();
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
