package io.devicelogin.operator.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Samples the JVM every 100 ms while a run goes: peak heap in use, peak live threads, and CPU time per thread (kept
 * per thread id so threads that end still count, up to the last sample), split into the mock API server's threads
 * (vert.x) and all others; and the peak number of the implementation's own threads, recognised by name.
 */
final class JvmSampler implements AutoCloseable {

  private final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
  private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
  private final com.sun.management.OperatingSystemMXBean os =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private final Map<Long, Long> cpuByThread = new HashMap<>();
  private final Map<Long, Boolean> mockServerThread = new HashMap<>();
  private final long processCpuStart;
  private final Thread sampler;
  private volatile boolean running = true;
  private long peakHeap;
  private int peakThreads;
  private Map<String, Integer> threadsAtPeak = Map.of();
  private final int threadsAtStart;
  private final Pattern implementationThreads;
  private int peakImplementationThreads;

  /** @param implementationThreads names of the threads the measured implementation runs (not the mock server's) */
  JvmSampler(Pattern implementationThreads) {
    this.implementationThreads = implementationThreads;
    threadsAtStart = threads.getThreadCount();
    processCpuStart = os.getProcessCpuTime();
    threads.resetPeakThreadCount();
    sampler = new Thread(this::loop, "bench-jvm-sampler");
    sampler.setDaemon(true);
    sampler.start();
  }

  private void loop() {
    while (running) {
      sample();
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private synchronized void sample() {
    peakHeap = Math.max(peakHeap, memory.getHeapMemoryUsage().getUsed());
    long[] ids = threads.getAllThreadIds();
    ThreadInfo[] infos = threads.getThreadInfo(ids);
    int own = 0;
    for (ThreadInfo info : infos) {
      if (info != null && implementationThreads.matcher(info.getThreadName()).matches()) {
        own++;
      }
    }
    peakImplementationThreads = Math.max(peakImplementationThreads, own);
    if (ids.length > peakThreads) {
      peakThreads = ids.length;
      Map<String, Integer> byPool = new TreeMap<>();
      for (ThreadInfo info : infos) {
        if (info != null) {
          byPool.merge(info.getThreadName().replaceAll("[-#]?\\d+", "-N"), 1, Integer::sum);
        }
      }
      threadsAtPeak = byPool;
    }
    for (int i = 0; i < ids.length; i++) {
      long cpu = threads.getThreadCpuTime(ids[i]);
      if (cpu < 0 || infos[i] == null) {
        continue;
      }
      cpuByThread.merge(ids[i], cpu, Math::max);
      String name = infos[i].getThreadName();
      mockServerThread.putIfAbsent(ids[i], name.startsWith("vert.x") || name.contains("MockWebServer"));
    }
  }

  /** Stops sampling and gives what was seen. */
  synchronized Result stop(Map<Long, Long> baselineCpu) {
    running = false;
    sampler.interrupt();
    sample();
    long mock = 0;
    long other = 0;
    for (var e : cpuByThread.entrySet()) {
      long cpu = e.getValue() - baselineCpu.getOrDefault(e.getKey(), 0L);
      if (Boolean.TRUE.equals(mockServerThread.get(e.getKey()))) {
        mock += cpu;
      } else {
        other += cpu;
      }
    }
    return new Result(peakHeap, peakThreads, threads.getPeakThreadCount(), threadsAtStart,
        os.getProcessCpuTime() - processCpuStart, mock, other, threadsAtPeak, peakImplementationThreads);
  }

  /** CPU time per live thread now, to subtract what threads had used before a run. */
  static Map<Long, Long> cpuNow() {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    Map<Long, Long> cpu = new HashMap<>();
    for (long id : threads.getAllThreadIds()) {
      long t = threads.getThreadCpuTime(id);
      if (t >= 0) {
        cpu.put(id, t);
      }
    }
    return cpu;
  }

  static long liveHeapAfterGc() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  @Override
  public void close() {
    running = false;
    sampler.interrupt();
  }

  record Result(long peakHeapBytes, int peakLiveThreadsSampled, int peakLiveThreadsJvm, int threadsAtStart,
      long processCpuNanos, long mockServerCpuNanos, long otherCpuNanos, Map<String, Integer> threadsAtPeak,
      int peakImplementationThreads) implements java.io.Serializable {}
}
