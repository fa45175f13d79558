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
final class OperatorProcess implements AutoCloseable {

  static final Path JAR = Path.of("target", "devicelogin-operator.jar");

  private final Process process;
  private final Path output;

  private OperatorProcess(Process process, Path output) {
    this.process = process;
    this.output = output;
  }

  /** Starts the jar with KUBECONFIG pointing at a kubeconfig for {@code apiServerUrl} and the given environment. */
  static OperatorProcess start(String apiServerUrl, Map<String, String> env) {
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
              token: test-token
          contexts:
          - name: test
            context: {cluster: test, user: test, namespace: default}
          current-context: test
          """.formatted(apiServerUrl));
      Path output = dir.resolve("output.log");
      ProcessBuilder builder = new ProcessBuilder(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m", "-jar",
          JAR.toAbsolutePath().toString())
          .redirectErrorStream(true)
          .redirectOutput(output.toFile());
      builder.environment().keySet().removeIf(k -> k.startsWith("KUBERNETES_"));
      builder.environment().put("KUBECONFIG", kubeconfig.toString());
      builder.environment().putAll(env);
      return new OperatorProcess(builder.start(), output);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Waits for the process to exit; returns its exit code, or -1 if it is still running after {@code timeout}. */
  int awaitExit(Duration timeout) throws InterruptedException {
    return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
  }

  String output() {
    try {
      return Files.readString(output, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** SIGTERM, as Kubernetes stops a Pod; waits for the exit. */
  int terminate(Duration timeout) throws InterruptedException {
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
