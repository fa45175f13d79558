package io.devicelogin.operator.browser;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * A real headless Chromium for tests that play a person at a browser: Debian's {@code chromium}, driven through
 * Debian's {@code chromedriver} by Selenium.
 *
 * <p>Each instance is a new person: a fresh, empty profile directory and no cookies. Chromium starts with the flags
 * this build machine needs (headless, no sandbox since CI runs as root, no GPU, and none of Chromium's own background
 * traffic, which the closed network would refuse). {@link #close()} quits the browser, waits until chromedriver,
 * Chromium and every process they started have ended (killing any that linger), and deletes the profile.
 *
 * <p>Chromium is required, not optional: when it is missing, {@link #start()} fails with a message that says how to
 * install it, so a run without it cannot pass by skipping the browser tests.
 */
public final class HeadlessChromium implements AutoCloseable {

  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  static final List<String> FLAGS = List.of("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
      "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync");

  private static final Duration PAGE_LOAD_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration EXIT_POLL = Duration.ofMillis(25);

  private final Path profile;
  private final ChromeDriverService service;
  private final ChromeDriver driver;
  private final ProcessHandle chromedriver;

  private HeadlessChromium(Path profile, ChromeDriverService service, ChromeDriver driver, ProcessHandle chromedriver) {
    this.profile = profile;
    this.service = service;
    this.driver = driver;
    this.chromedriver = chromedriver;
  }

  /** Starts Debian's Chromium headless with a fresh profile; fails with install instructions when it is missing. */
  public static HeadlessChromium start() {
    return start(CHROMIUM, CHROMEDRIVER);
  }

  static HeadlessChromium start(Path chromium, Path chromedriverExecutable) {
    for (Path executable : List.of(chromium, chromedriverExecutable)) {
      if (!Files.isExecutable(executable)) {
        throw new IllegalStateException("The browser tests need a real headless Chromium, and " + executable
            + " is missing: install Debian's chromium and chromium-driver packages"
            + " (apt-get install chromium chromium-driver; .ci/run does this), then run the tests again");
      }
    }
    Path profile = createProfile();
    ChromeOptions options = new ChromeOptions()
        .setBinary(chromium.toFile())
        .addArguments(FLAGS)
        .addArguments("--user-data-dir=" + profile);
    options.setPageLoadTimeout(PAGE_LOAD_TIMEOUT);
    // an explicit driver executable keeps Selenium Manager (which would download drivers) out of it
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(chromedriverExecutable.toFile())
        .usingAnyFreePort()
        // Chromium's crash handlers leave the process tree and keep their database under XDG_CONFIG_HOME: inside
        // the profile they name it, so runningProcesses() finds them, and nothing is written to ~/.config
        .withEnvironment(Map.of("XDG_CONFIG_HOME", profile.toString()))
        .build();
    ChromeDriver driver = null;
    try {
      driver = new ChromeDriver(service, options);
      String portArgument = "--port=" + service.getUrl().getPort();
      ProcessHandle chromedriver = ProcessHandle.current().children()
          .filter(child -> child.info().arguments().map(List::of).orElse(List.of()).contains(portArgument))
          .findFirst()
          .orElseThrow(() -> new IllegalStateException("no child process of this JVM is chromedriver " + portArgument));
      return new HeadlessChromium(profile, service, driver, chromedriver);
    } catch (RuntimeException e) {
      if (driver != null) {
        driver.quit();
      }
      service.stop();
      deleteProfile(profile);
      throw e;
    }
  }

  /** The WebDriver of this browser, to open pages, find elements, type and click. */
  public WebDriver driver() {
    return driver;
  }

  /** The profile directory this browser was started with; deleted by {@link #close()}. */
  Path profile() {
    return profile;
  }

  /** chromedriver, Chromium and every process below them, as of now. */
  List<ProcessHandle> processes() {
    List<ProcessHandle> processes = new ArrayList<>();
    processes.add(chromedriver);
    chromedriver.descendants().forEach(processes::add);
    return processes;
  }

  /**
   * Processes still running anywhere on this machine that belong to this browser: its chromedriver and
   * descendants, and any process that names this browser's profile in its command line (Chromium helpers that
   * left the process tree, such as its crash handlers).
   */
  List<ProcessHandle> runningProcesses() {
    List<ProcessHandle> running = new ArrayList<>(processes().stream().filter(HeadlessChromium::isRunning).toList());
    String profileName = profile.toString();
    ProcessHandle.allProcesses()
        .filter(process -> process.info().arguments().stream().flatMap(Stream::of)
            .anyMatch(argument -> argument.contains(profileName)))
        .filter(process -> !running.contains(process))
        .forEach(running::add);
    return running;
  }

  /**
   * Quits Chromium and chromedriver, waits for all their processes to end (killing what is left after 10 s) and
   * deletes the profile. Use it in try-with-resources so that it runs after a failed step too.
   */
  @Override
  public void close() {
    List<ProcessHandle> started = runningProcesses();
    try {
      driver.quit();
    } finally {
      service.stop();
      List<ProcessHandle> left = new ArrayList<>(awaitExit(started));
      runningProcesses().stream().filter(process -> !left.contains(process)).forEach(left::add);
      left.forEach(ProcessHandle::destroyForcibly);
      List<ProcessHandle> unkillable = awaitExit(left);
      deleteProfile(profile);
      if (!unkillable.isEmpty()) {
        throw new IllegalStateException("Chromium processes still run after quit and kill: " + unkillable);
      }
    }
  }

  /** Waits up to 10 s until none of {@code processes} runs; returns those still running then. */
  private static List<ProcessHandle> awaitExit(List<ProcessHandle> processes) {
    Instant deadline = Instant.now().plus(EXIT_TIMEOUT);
    List<ProcessHandle> running = processes.stream().filter(HeadlessChromium::isRunning).toList();
    while (!running.isEmpty() && Instant.now().isBefore(deadline)) {
      try {
        Thread.sleep(EXIT_POLL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      running = running.stream().filter(HeadlessChromium::isRunning).toList();
    }
    return running;
  }

  /**
   * Whether {@code process} still runs. A zombie does not: it has ended and only waits to be reaped by its parent
   * or, once that is gone, by init, which on this build machine takes a second or two; {@link ProcessHandle#isAlive()}
   * counts it as alive until then.
   */
  static boolean isRunning(ProcessHandle process) {
    if (!process.isAlive()) {
      return false;
    }
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"));
      return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z'; // "pid (command) state ..."
    } catch (IOException e) {
      return process.isAlive();
    }
  }

  private static Path createProfile() {
    try {
      return Files.createTempDirectory("chromium-profile-");
    } catch (IOException e) {
      throw new UncheckedIOException("creating a Chromium profile directory", e);
    }
  }

  private static void deleteProfile(Path profile) {
    try (Stream<Path> files = Files.walk(profile)) {
      files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
    } catch (IOException e) {
      throw new UncheckedIOException("deleting the Chromium profile " + profile, e);
    }
  }
}
