package io.devicelogin.operator.bench;

import io.devicelogin.operator.KubernetesClients;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.testing.MockCluster;
import io.devicelogin.operator.testing.Resources;
import io.devicelogin.operator.testing.RunningOperator;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.File;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Issue #6 benchmark (not a test): the real operator in-process against the fabric8 mock API server and an instant
 * scripted IdP that approves each login a random delay after its grant started, beside a naive thread-per-login
 * poller doing the same job. Run with {@code mvn -B -Pbench test-compile exec:java}; settings as system properties:
 * {@code bench.sizes} (100,1000), {@code bench.fresh} (200: a burst of that many right after the implementation
 * started; 0 for none), {@code bench.freshJvm} (new,warm: where, see {@link Start}), {@code bench.interval} seconds
 * (5), {@code bench.minDelay}/{@code bench.maxDelay} seconds (1/20), {@code bench.impls} (operator,naive),
 * {@code bench.threads} (the operator's reconcile threads, default as RECONCILE_THREADS), {@code bench.output}
 * (docs/BENCHMARKS.md, "-" for none).
 */
public final class Benchmark {

  private static final String NS = "bench";
  private static final String ISSUER = "http://127.0.0.1:1/realms/bench";
  private static final int CREATORS = 4;
  /** Set in the JVM a fresh run is forked into: {@code impl,size,result file}. */
  private static final String FRESH_CHILD = "bench.freshChild";
  /** System properties a forked fresh run gets besides the {@code bench.*} ones. */
  private static final List<String> FORWARDED =
      List.of("java.util.logging.config.file", "logback.configurationFile");

  /**
   * The operator's threads by name: its reconcile pool ({@code devicelogin-reconcile-*}, renamed
   * {@code ReconcilerExecutor-*} by JOSDK while it reconciles), the controllers' timers, the Kubernetes client's fixed
   * pools, the informers' resync scheduler and the /metrics server ({@code http-health-*}). Not counted: JOSDK's
   * start-up pool ({@code pool-N-thread-N}, which starts controllers and informers in parallel and whose idle threads
   * end a minute later) and the JDK HTTP clients' selector threads (one per HTTP client, not told apart from the
   * benchmark's).
   */
  static final java.util.regex.Pattern OPERATOR_THREADS = java.util.regex.Pattern.compile(
      "ReconcilerExecutor-.*|devicelogin-reconcile-.*|kubernetes-client-.*|Timer-\\d+|CachedSingleThreadScheduler-.*"
          + "|http-health.*");

  /** The naive poller's threads: one per login, and the same Kubernetes client pools. */
  static final java.util.regex.Pattern NAIVE_THREADS = java.util.regex.Pattern.compile(
      "naive-.*|kubernetes-client-.*");

  private Benchmark() {}

  /** When the burst comes, and in which JVM. */
  enum Start {
    /** Once the operator's IdentityProvider is Ready, in the benchmark's JVM (bench.sizes). */
    PROVIDER_READY("", ""),
    /**
     * As soon as the implementation's start returned, in a new JVM of its own (bench.fresh, bench.freshJvm=new): a
     * cold start of everything, the mock API server and the benchmark's client included.
     */
    FRESH_NEW_JVM(", fresh start, new JVM", "new"),
    /**
     * As soon as the implementation's start returned, in the benchmark's JVM after the size runs (bench.fresh,
     * bench.freshJvm=warm): a new operator instance, code the earlier runs loaded and compiled.
     */
    FRESH_WARM_JVM(", fresh start, warm JVM", "warm");

    final String label;
    /** Its value in bench.freshJvm. */
    final String property;

    Start(String label, String property) {
      this.label = label;
      this.property = property;
    }
  }

  /** One run's results (a run in a new JVM sends them back to the benchmark's JVM serialized). */
  record Run(String impl, int size, Start start, int completed, Percentiles createToUserCodeMs,
      Percentiles approvalToSecretRatio, double meanPollsPerLogin, double meanIdealPolls, int pollsOffByMoreThanOne,
      int earlyPolls, double minFirstPollMs, double minPollGapMs, Percentiles pollLateness, long statusWrites,
      long secretWrites, RequestMix mix, Map<String, Long> requests, Map<String, Long> benchmarkRequests,
      JvmSampler.Result jvm, long liveHeapBefore, long liveHeapAfterBurst, long retainedHeap, double wallSeconds)
      implements Serializable {

    /** The existing "all API writes" column: every write of the implementation, Events included. */
    long allWrites() {
      return mix.writesWithoutEvents() + mix.events();
    }

    String label() {
      return impl + start.label;
    }
  }

  public static void main(String[] args) throws Exception {
    List<Integer> sizes = Arrays.stream(System.getProperty("bench.sizes", "100,1000").split(","))
        .map(String::trim).filter(s -> !s.isEmpty()).map(Integer::parseInt).toList();
    int fresh = Integer.getInteger("bench.fresh", 200);
    List<String> freshJvms = Arrays.stream(System.getProperty("bench.freshJvm", "new,warm").split(","))
        .map(String::trim).toList();
    Duration interval = Duration.ofSeconds(Long.getLong("bench.interval", 5));
    Duration minDelay = Duration.ofSeconds(Long.getLong("bench.minDelay", 1));
    Duration maxDelay = Duration.ofSeconds(Long.getLong("bench.maxDelay", 20));
    List<String> impls = Arrays.stream(System.getProperty("bench.impls", "operator,naive").split(","))
        .map(String::trim).toList();
    String output = System.getProperty("bench.output", "docs/BENCHMARKS.md");
    String child = System.getProperty(FRESH_CHILD);
    if (child != null) {
      String[] task = child.split(",", 3);
      Run run = run(task[0], Integer.parseInt(task[1]), Start.FRESH_NEW_JVM, interval, minDelay, maxDelay);
      print(run, interval);
      try (ObjectOutputStream out = new ObjectOutputStream(Files.newOutputStream(Path.of(task[2])))) {
        out.writeObject(run);
      }
      System.exit(0);
    }

    long began = System.nanoTime();
    List<Run> runs = new ArrayList<>();
    if (fresh > 0 && freshJvms.contains("new")) {
      for (String impl : impls) {
        System.out.printf("%n=== %s started fresh in a new JVM, then at once %d DeviceLogins, interval %ds, approval "
            + "after %d-%ds ===%n", impl, fresh, interval.toSeconds(), minDelay.toSeconds(), maxDelay.toSeconds());
        runs.add(forkFresh(impl, fresh));
      }
    }
    for (int size : sizes) {
      for (String impl : impls) {
        System.out.printf("%n=== %s, %d DeviceLogins, interval %ds, approval after %d-%ds ===%n", impl, size,
            interval.toSeconds(), minDelay.toSeconds(), maxDelay.toSeconds());
        Run run = run(impl, size, Start.PROVIDER_READY, interval, minDelay, maxDelay);
        runs.add(run);
        print(run, interval);
      }
    }
    if (fresh > 0 && freshJvms.contains("warm")) {
      for (String impl : impls) {
        System.out.printf("%n=== %s started fresh in this (warm) JVM, then at once %d DeviceLogins, interval %ds, "
            + "approval after %d-%ds ===%n", impl, fresh, interval.toSeconds(), minDelay.toSeconds(),
            maxDelay.toSeconds());
        Run run = run(impl, fresh, Start.FRESH_WARM_JVM, interval, minDelay, maxDelay);
        runs.add(run);
        print(run, interval);
      }
    }
    System.out.printf("%nall runs took %.0f s%n", (System.nanoTime() - began) / 1e9);
    String report = report(runs, interval, minDelay, maxDelay);
    System.out.println();
    System.out.println(report);
    if (!"-".equals(output)) {
      Path file = Path.of(output);
      Files.writeString(file, ReportFile.merge(Files.exists(file) ? Files.readString(file) : null, report));
      System.out.println("written to " + output);
    }
    System.exit(0);
  }

  /**
   * Runs {@code impl} with the same settings in a new JVM ({@link Start#FRESH_NEW_JVM}), so that the burst meets an
   * implementation as cold as a newly started pod's: nothing loaded or compiled by an earlier run.
   */
  static Run forkFresh(String impl, int size) throws Exception {
    Path result = Files.createTempFile("bench-fresh-", ".ser");
    try {
      List<String> command = new ArrayList<>(List.of(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", classPath()));
      System.getProperties().stringPropertyNames().stream().sorted()
          .filter(k -> k.startsWith("bench.") || FORWARDED.contains(k))
          .forEach(k -> command.add("-D" + k + "=" + System.getProperty(k)));
      command.add("-D" + FRESH_CHILD + "=" + impl + "," + size + "," + result);
      command.add(Benchmark.class.getName());
      Process process = new ProcessBuilder(command).inheritIO().start();
      int exit = process.waitFor();
      if (exit != 0) {
        throw new IllegalStateException("the fresh run of " + impl + " ended with exit code " + exit);
      }
      try (ObjectInputStream in = new ObjectInputStream(Files.newInputStream(result))) {
        return (Run) in.readObject();
      }
    } finally {
      Files.deleteIfExists(result);
    }
  }

  /** The benchmark's class path: exec:java's class loader's (a URLClassLoader), else the JVM's. */
  private static String classPath() throws URISyntaxException {
    if (Benchmark.class.getClassLoader() instanceof URLClassLoader loader) {
      List<String> entries = new ArrayList<>();
      for (URL url : loader.getURLs()) {
        entries.add(Path.of(url.toURI()).toString());
      }
      return String.join(File.pathSeparator, entries);
    }
    return System.getProperty("java.class.path");
  }

  /**
   * One run: the implementation started, {@code size} DeviceLogins created in a burst, until every token Secret is
   * written. At {@link Start#PROVIDER_READY} the burst waits for the operator's IdentityProvider to be Ready; fresh,
   * it comes as soon as the implementation's start returned.
   */
  static Run run(String impl, int size, Start when, Duration interval, Duration minDelay, Duration maxDelay)
      throws Exception {
    long liveHeapBefore = JvmSampler.liveHeapAfterGc();
    ApiObserver api = new ApiObserver();
    BenchIdp idp = new BenchIdp(interval, minDelay, maxDelay);
    Map<String, Long> created = new ConcurrentHashMap<>();
    long start;
    JvmSampler.Result jvm;
    long liveHeapAfterBurst;
    long liveWithImplementation = 0;
    long retainedHeap;
    try (MockCluster cluster = MockCluster.start(api)) {
      // the cluster's own client marks its requests: they are the benchmark's, not the implementation's
      KubernetesClient client = cluster.client();
      client.resource(Resources.anyUser(Resources.identityProvider(NS, "corp", ISSUER, "cli"))).create();
      AutoCloseable subject;
      if (impl.equals("operator")) {
        subject = RunningOperator.start(cluster, metrics -> idp,
            settings -> settings.withReconcileThreads(Integer.getInteger("bench.threads", settings.reconcileThreads())));
        if (when == Start.PROVIDER_READY) {
          waitFor(Duration.ofSeconds(30), () -> providerReady(client), "IdentityProvider Ready");
        }
      } else if (impl.equals("naive")) {
        subject = new NaivePoller(cluster.server().createClient(KubernetesClients::bounded), idp,
            new ProviderConfig(URI.create(ISSUER), "cli", null, null, List.of()), NS);
      } else {
        throw new IllegalArgumentException("unknown implementation " + impl);
      }
      try {
        Map<Long, Long> cpuBefore = JvmSampler.cpuNow();
        JvmSampler sampler = new JvmSampler(impl.equals("operator") ? OPERATOR_THREADS : NAIVE_THREADS);
        start = System.nanoTime();
        java.util.concurrent.atomic.AtomicInteger creatorNumber = new java.util.concurrent.atomic.AtomicInteger();
        ExecutorService creators = Executors.newFixedThreadPool(
            CREATORS, task -> new Thread(task, "bench-creator-" + creatorNumber.incrementAndGet()));
        for (int i = 1; i <= size; i++) {
          String name = "login-" + i;
          creators.execute(() -> {
            created.put(name, System.nanoTime());
            client.resource(Resources.deviceLogin(NS, name, "corp")).create();
          });
        }
        creators.shutdown();
        creators.awaitTermination(10, TimeUnit.MINUTES);
        System.out.printf("burst of %d creates took %.1fs%n", size, (System.nanoTime() - start) / 1e9);
        Duration limit = maxDelay.plus(interval.multipliedBy(3)).plusSeconds(10 + size / 20);
        waitFor(limit, () -> api.userCodePublished().size() >= size, "all user codes published");
        System.out.printf("all user codes published after %.1fs%n", (System.nanoTime() - start) / 1e9);
        liveHeapAfterBurst = JvmSampler.liveHeapAfterGc();
        waitFor(limit, () -> api.tokenSecretWritten().size() >= size, "all token Secrets written");
        System.out.printf("all token Secrets written after %.1fs%n", (System.nanoTime() - start) / 1e9);
        // let the last status writes and clean-ups land
        Thread.sleep(Math.max(2000, interval.toMillis()));
        jvm = sampler.stop(cpuBefore);
        if (api.tokenSecretWritten().size() < size) {
          client.resources(DeviceLogin.class).inNamespace(NS).list().getItems().stream().limit(2)
              .forEach(dl -> System.out.println("status of " + dl.getMetadata().getName() + ": "
                  + io.fabric8.kubernetes.client.utils.Serialization.asJson(dl.getStatus())));
        }
        liveWithImplementation = JvmSampler.liveHeapAfterGc();
      } finally {
        subject.close();
      }
      // What the implementation itself keeps: the same JVM and cluster state, with and without it.
      subject = null;
      retainedHeap = liveWithImplementation - JvmSampler.liveHeapAfterGc();
      System.out.printf("heap retained by the %s: %d MB%n", impl, mb(retainedHeap));
    }
    double wall = (System.nanoTime() - start) / 1e9;
    return analyse(impl, size, when, interval, api, idp, created, jvm, liveHeapBefore, liveHeapAfterBurst,
        retainedHeap, wall);
  }

  static Run analyse(String impl, int size, Start start, Duration interval, ApiObserver api, BenchIdp idp,
      Map<String, Long> created, JvmSampler.Result jvm, long liveHeapBefore, long liveHeapAfterBurst,
      long retainedHeap, double wall) {
    long intervalNanos = interval.toNanos();
    List<Double> createToUserCode = new ArrayList<>();
    created.forEach((name, t) -> {
      Long published = api.userCodePublished().get(name);
      if (published != null) {
        createToUserCode.add((published - t) / 1e6);
      }
    });
    List<Double> approvalToSecret = new ArrayList<>();
    List<Double> lateness = new ArrayList<>();
    api.tokenSecretWritten().forEach((secret, t) -> {
      BenchIdp.GrantRecord grant = idp.bySecretName(secret);
      if (grant != null) {
        approvalToSecret.add((double) (t - grant.approvedNanos) / intervalNanos);
      }
    });
    long polls = 0;
    long ideal = 0;
    int offByMore = 0;
    int early = 0;
    double minFirst = Double.MAX_VALUE;
    double minGap = Double.MAX_VALUE;
    int grants = 0;
    for (BenchIdp.GrantRecord grant : idp.grants()) {
      List<Long> times;
      synchronized (grant) {
        times = List.copyOf(grant.pollNanos);
      }
      if (!grant.issued) {
        continue;
      }
      grants++;
      long idealPolls = Math.max(1, (grant.approvedNanos - grant.startedNanos + intervalNanos - 1) / intervalNanos);
      polls += times.size();
      ideal += idealPolls;
      if (Math.abs(times.size() - idealPolls) > 1) {
        offByMore++;
      }
      long previous = grant.startedNanos;
      for (int i = 0; i < times.size(); i++) {
        long gap = times.get(i) - previous;
        lateness.add((double) (gap - intervalNanos) / intervalNanos);
        if (gap < intervalNanos) {
          early++;
        }
        if (i == 0) {
          minFirst = Math.min(minFirst, gap / 1e6);
        } else {
          minGap = Math.min(minGap, gap / 1e6);
        }
        previous = times.get(i);
      }
    }
    long statusWrites = api.writes("devicelogins/status");
    long secretWrites = api.count("POST secrets") + api.count("PUT secrets") + api.count("PATCH secrets");
    minFirst = minFirst == Double.MAX_VALUE ? Double.NaN : minFirst;
    minGap = minGap == Double.MAX_VALUE ? Double.NaN : minGap;
    Map<String, Long> requests = api.counts();
    return new Run(impl, size, start, api.tokenSecretWritten().size(), new Percentiles(createToUserCode),
        new Percentiles(approvalToSecret), grants == 0 ? 0 : (double) polls / grants,
        grants == 0 ? 0 : (double) ideal / grants, offByMore, early, minFirst, minGap, new Percentiles(lateness),
        statusWrites, secretWrites, RequestMix.of(requests), requests, api.benchmarkCounts(), jvm, liveHeapBefore,
        liveHeapAfterBurst, retainedHeap, wall);
  }

  private static boolean providerReady(KubernetesClient client) {
    IdentityProvider provider = client.resources(IdentityProvider.class).inNamespace(NS).withName("corp").get();
    return provider != null && provider.getStatus() != null && provider.getStatus().getConditions().stream()
        .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  private static void waitFor(Duration limit, java.util.function.BooleanSupplier done, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        System.out.println("WARNING: gave up waiting for " + what + " after " + limit.toSeconds() + "s");
        return;
      }
      Thread.sleep(50);
    }
  }

  static void print(Run r, Duration interval) {
    System.out.printf(Locale.ROOT, "completed %d/%d in %.1fs%n", r.completed(), r.size(), r.wallSeconds());
    System.out.printf(Locale.ROOT, "create -> status.userCode: p50 %.0f ms, p99 %.0f ms, max %.0f ms%n",
        r.createToUserCodeMs().at(50), r.createToUserCodeMs().at(99), r.createToUserCodeMs().max());
    System.out.printf(Locale.ROOT, "approval -> Secret written (x interval): p50 %.2f, p99 %.2f, max %.2f%n",
        r.approvalToSecretRatio().at(50), r.approvalToSecretRatio().at(99), r.approvalToSecretRatio().max());
    System.out.printf(Locale.ROOT, "polls per login %.2f (ideal %.2f), off by more than one: %d, early polls: %d "
        + "(min first-poll delay %.1f ms, min gap %.1f ms)%n", r.meanPollsPerLogin(), r.meanIdealPolls(),
        r.pollsOffByMoreThanOne(), r.earlyPolls(), r.minFirstPollMs(), r.minPollGapMs());
    System.out.printf(Locale.ROOT, "poll lateness behind the interval (x interval): p50 %.2f, p99 %.2f, max %.2f%n",
        r.pollLateness().at(50), r.pollLateness().at(99), r.pollLateness().max());
    System.out.printf(Locale.ROOT, "API writes per completed login: status %.2f + Secret %.2f = %.2f; all writes %.2f%n",
        per(r.statusWrites(), r), per(r.secretWrites(), r), per(r.statusWrites() + r.secretWrites(), r),
        per(r.allWrites(), r));
    RequestMix mix = r.mix();
    System.out.printf(Locale.ROOT, "API requests per completed login: %.2f = reads %.2f (GET %.2f + LIST %.2f) + "
        + "writes without Events %.2f + Events %.2f + watch starts %.2f (%d)%n", per(mix.all(), r),
        per(mix.reads(), r), per(mix.gets(), r), per(mix.lists(), r), per(mix.writesWithoutEvents(), r),
        per(mix.events(), r), per(mix.watches(), r), mix.watches());
    System.out.println("requests: " + r.requests() + "; the benchmark's own: " + r.benchmarkRequests());
    System.out.println("live threads at the sampled peak, by name: " + r.jvm().threadsAtPeak());
    JvmSampler.Result j = r.jvm();
    System.out.printf(Locale.ROOT, "peak heap used %d MB (live before %d MB, live after burst %d MB); live threads "
        + "peak %d (at start %d), of them the implementation's %d; CPU %.1fs per 1,000 logins (mock API server %.1fs, "
        + "rest %.1fs)%n",
        mb(j.peakHeapBytes()), mb(r.liveHeapBefore()), mb(r.liveHeapAfterBurst()), j.peakLiveThreadsJvm(),
        j.threadsAtStart(), j.peakImplementationThreads(), cpuPer1000(j.processCpuNanos(), r), cpuPer1000(j.mockServerCpuNanos(), r),
        cpuPer1000(j.otherCpuNanos(), r));
  }

  private static double per(long count, Run r) {
    return r.completed() == 0 ? Double.NaN : (double) count / r.completed();
  }

  private static long mb(long bytes) {
    return bytes / (1024 * 1024);
  }

  private static double cpuPer1000(long nanos, Run r) {
    return nanos / 1e9 / r.size() * 1000;
  }

  /** The settings that produced {@code runs}, as the benchmark's system properties. */
  static String settings(List<Run> runs) {
    String sizes = String.join(",", runs.stream().filter(r -> r.start() == Start.PROVIDER_READY)
        .map(r -> String.valueOf(r.size())).distinct().toList());
    List<Run> fresh = runs.stream().filter(r -> r.start() != Start.PROVIDER_READY).toList();
    if (fresh.isEmpty()) {
      return "-Dbench.sizes=" + sizes + " -Dbench.fresh=0";
    }
    return "-Dbench.sizes=" + sizes + " -Dbench.fresh=" + fresh.get(0).size() + " -Dbench.freshJvm="
        + String.join(",", fresh.stream().map(r -> r.start().property).distinct().toList());
  }

  static String report(List<Run> runs, Duration interval, Duration minDelay, Duration maxDelay) {
    StringBuilder s = new StringBuilder();
    s.append("Generated by `mvn -B -Pbench test-compile exec:java ").append(settings(runs))
        .append("` (see README, \"Benchmark\") on ").append(LocalDate.now()).append(".\n\n");
    s.append("Machine: ").append(Runtime.getRuntime().availableProcessors()).append(" cores (")
        .append(cpuModel()).append("), Java ").append(System.getProperty("java.version")).append(", max heap ")
        .append(mb(Runtime.getRuntime().maxMemory())).append(" MB, ").append(System.getProperty("os.name"))
        .append(' ').append(System.getProperty("os.arch")).append(".\n\n");
    s.append("DeviceLogins created in a burst (").append(CREATORS).append(" client threads); IdP interval ")
        .append(interval.toSeconds()).append(" s; each login approved ").append(minDelay.toSeconds()).append("–")
        .append(maxDelay.toSeconds()).append(" s (uniform) after its grant started. Everything runs in one JVM "
            + "(the Maven JVM, exec:java): the mock API server, the operator or naive poller, and the benchmark; "
            + "the operator's burst starts once its IdentityProvider is Ready. \"Fresh start\": the burst created as "
            + "soon as the implementation's start returned (no wait for the IdentityProvider), either in a new JVM of "
            + "its own (everything cold, the mock API server and the benchmark's client too) or in the benchmark's "
            + "JVM after the runs above (a new operator instance, code already loaded and compiled).\n\n");
    s.append("| implementation | logins | completed | create→userCode p50 / p99 (ms) | approval→Secret p50 / p99 "
        + "(× interval) | polls per login (ideal) | polls off ideal by >1 | early polls | poll lateness p99 / max "
        + "(× interval) | status + Secret writes per login | all API writes per login | peak heap used (MB) | live "
        + "heap after burst (before) (MB) | heap retained by the implementation at the end (MB) | peak live threads: implementation's (all in the JVM) | CPU s per 1,000 "
        + "logins: total (mock server threads / other Java threads) |\n");
    s.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Run r : runs) {
      JvmSampler.Result j = r.jvm();
      s.append(String.format(Locale.ROOT,
          "| %s | %,d | %,d | %.0f / %.0f | %.2f / %.2f | %.2f (%.2f) | %d | %d | %.2f / %.2f | %.2f | %.2f | %d | "
              + "%d (%d) | %d | %d (%d) | %.1f (%.1f / %.1f) |%n",
          r.label(), r.size(), r.completed(), r.createToUserCodeMs().at(50), r.createToUserCodeMs().at(99),
          r.approvalToSecretRatio().at(50), r.approvalToSecretRatio().at(99), r.meanPollsPerLogin(),
          r.meanIdealPolls(), r.pollsOffByMoreThanOne(), r.earlyPolls(), r.pollLateness().at(99),
          r.pollLateness().max(), per(r.statusWrites() + r.secretWrites(), r),
          per(r.allWrites(), r), mb(j.peakHeapBytes()), mb(r.liveHeapAfterBurst()), mb(r.liveHeapBefore()),
          mb(r.retainedHeap()), j.peakImplementationThreads(), j.peakLiveThreadsJvm(),
          cpuPer1000(j.processCpuNanos(), r), cpuPer1000(j.mockServerCpuNanos(), r),
          cpuPer1000(j.otherCpuNanos(), r)));
    }
    s.append("\nAPI requests per completed login, all the implementation made (reads: GET of one object and LIST; "
        + "writes: POST, PUT, PATCH, DELETE; watch starts are per run, shown as a count too):\n\n");
    s.append("| implementation | logins | completed | all requests per login | reads per login: GET + LIST | "
        + "writes without Events per login | Events per login | watch starts per login (in the run) |\n");
    s.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Run r : runs) {
      RequestMix mix = r.mix();
      s.append(String.format(Locale.ROOT, "| %s | %,d | %,d | %.2f | %.2f: %.2f + %.2f | %.2f | %.2f | %.2f (%d) |%n",
          r.label(), r.size(), r.completed(), per(mix.all(), r), per(mix.reads(), r), per(mix.gets(), r),
          per(mix.lists(), r), per(mix.writesWithoutEvents(), r), per(mix.events(), r), per(mix.watches(), r),
          mix.watches()));
    }
    s.append("\nAPI requests per run (verb and resource, as the mock server saw them; GET is one object, LIST a "
        + "collection, WATCH a watch start), the implementation's and, after \"benchmark:\", the benchmark's own "
        + "(CRDs, IdentityProvider, DeviceLogins, waiting for the provider), which no column counts:\n\n");
    for (Run r : runs) {
      s.append("- ").append(r.label()).append(", ").append(r.size()).append(": ").append(r.requests())
          .append("; benchmark: ").append(r.benchmarkRequests()).append('\n');
    }
    s.append("\nLive threads at the sampled peak, by name (digits replaced by N):\n\n");
    for (Run r : runs) {
      s.append("- ").append(r.label()).append(", ").append(r.size()).append(": ").append(r.jvm().threadsAtPeak())
          .append('\n');
    }
    return s.toString();
  }

  private static String cpuModel() {
    try {
      return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
          .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown CPU");
    } catch (IOException | RuntimeException e) {
      return ManagementFactory.getOperatingSystemMXBean().getArch();
    }
  }
}
