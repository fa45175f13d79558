package io.devicelogin.operator.testing;

import java.lang.management.ManagementFactory;

/** The JVM's live heap, for tests that measure what the operator retains. */
public final class LiveHeap {

  private LiveHeap() {}

  /** Heap in use after garbage collection: the least of three collections, 100 ms apart (bytes). */
  public static long bytes() throws InterruptedException {
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(100);
      used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
    }
    return used;
  }
}
