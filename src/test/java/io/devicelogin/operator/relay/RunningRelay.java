package io.devicelogin.operator.relay;

import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** {@link Relay#run} on a thread of its own, its output captured; closing it interrupts the relay (Ctrl-C). */
final class RunningRelay implements AutoCloseable {

  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final CompletableFuture<Integer> exitCode = new CompletableFuture<>();
  private final Thread thread;

  private RunningRelay(String... args) {
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    thread = new Thread(() -> exitCode.complete(Relay.run(args, out)), "relay-under-test");
    thread.setDaemon(true);
    thread.start();
  }

  /** Starts the relay and waits until it listens (or has ended, for arguments it refuses). */
  static RunningRelay start(String... args) {
    RunningRelay relay = new RunningRelay(args);
    await().atMost(Duration.ofSeconds(10)).until(() -> relay.output().contains("waiting at") || relay.ended());
    return relay;
  }

  String output() {
    return bytes.toString(StandardCharsets.UTF_8);
  }

  boolean ended() {
    return exitCode.isDone();
  }

  /** The exit code, waiting at most {@code timeout} for it. */
  int exitCode(Duration timeout) throws Exception {
    return exitCode.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    thread.interrupt();
    thread.join(10_000);
  }
}
