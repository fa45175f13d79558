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

  /** The live threads now, except those whose name starts with one of {@code ignoredPrefixes} (test fixtures). */
  public static ThreadCensus take(Set<String> ignoredPrefixes) {
    Map<String, Integer> counts = new TreeMap<>();
    for (Thread thread : Thread.getAllStackTraces().keySet()) {
      if (!thread.isAlive() || ignoredPrefixes.stream().anyMatch(thread.getName()::startsWith)) {
        continue;
      }
      counts.merge(thread.getName().replaceAll("\\d+", "#"), 1, Integer::sum);
    }
    return new ThreadCensus(counts);
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
