package io.devicelogin.operator.testing;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Live threads counted by name, digits folded ({@code fault-proxy-12} and {@code fault-proxy-3} are both
 * {@code fault-proxy-#}), to compare before and after a test: a thread leak shows as a name whose count grew.
 */
public final class ThreadCensus {

  private final Map<String, Integer> counts;

  private ThreadCensus(Map<String, Integer> counts) {
    this.counts = counts;
  }

  /**
   * The live threads now, except those whose name starts with one of {@code ignoredPrefixes} (test fixtures). Idle
   * pool workers (any thread pool's, parked waiting for a task — the operator's reconcile pool included) are counted
   * under {@value #IDLE_POOL_WORKERS}: a fixed pool starts a thread per task until it is full and lets idle ones end,
   * which is warm-up, not a leak, so {@link #grownSince} does not count them; a thread stuck in I/O is never idle.
   */
  public static ThreadCensus take(Set<String> ignoredPrefixes) {
    Map<String, Integer> counts = new TreeMap<>();
    for (Map.Entry<Thread, StackTraceElement[]> entry : Thread.getAllStackTraces().entrySet()) {
      Thread thread = entry.getKey();
      if (!thread.isAlive() || ignoredPrefixes.stream().anyMatch(thread.getName()::startsWith)) {
        continue;
      }
      String name = thread.getName().replaceAll("\\d+", "#");
      boolean idleWorker = java.util.Arrays.stream(entry.getValue())
          .anyMatch(frame -> frame.getClassName().equals("java.util.concurrent.ThreadPoolExecutor")
              && frame.getMethodName().equals("getTask"));
      counts.merge(idleWorker ? IDLE_POOL_WORKERS : name, 1, Integer::sum);
    }
    return new ThreadCensus(counts);
  }

  /** The name idle unnamed pool workers are counted under. */
  public static final String IDLE_POOL_WORKERS = "(idle pool workers)";

  /** Threads whose stack has a frame of a class whose name starts with one of {@code classPrefixes}. */
  public static java.util.List<String> busyIn(String... classPrefixes) {
    java.util.List<String> busy = new java.util.ArrayList<>();
    Thread.getAllStackTraces().forEach((thread, stack) -> {
      for (StackTraceElement frame : stack) {
        if (java.util.Arrays.stream(classPrefixes).anyMatch(frame.getClassName()::startsWith)) {
          busy.add(thread.getName() + " in " + frame);
          return;
        }
      }
    });
    return busy;
  }

  public int total() {
    return counts.values().stream().mapToInt(Integer::intValue).sum();
  }

  public Map<String, Integer> counts() {
    return Map.copyOf(counts);
  }

  /** The names with more threads now than in {@code before}, and how many more; empty when nothing grew. */
  public Map<String, Integer> grownSince(ThreadCensus before) {
    Map<String, Integer> grown = new TreeMap<>();
    counts.forEach((name, count) -> {
      if (name.equals(IDLE_POOL_WORKERS)) {
        return;
      }
      int earlier = before.counts.getOrDefault(name, 0);
      if (count > earlier) {
        grown.put(name, count - earlier);
      }
    });
    return grown;
  }

  @Override
  public String toString() {
    return total() + " threads " + counts;
  }
}
