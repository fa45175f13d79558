package io.devicelogin.operator;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** The operator's thread pools: a fixed number of named daemon threads, which end after a while without work. */
final class ThreadPools {

  /** Idle threads end after this long, so a quiet or closed operator holds none. */
  static final int IDLE_SECONDS = 10;

  private static final AtomicInteger POOLS = new AtomicInteger();

  private ThreadPools() {}

  /** At most {@code threads} threads named {@code name<pool>-<n>}; tasks beyond them wait in an unbounded queue. */
  static ThreadPoolExecutor fixed(String name, int threads) {
    String prefix = name + POOLS.incrementAndGet() + "-";
    AtomicInteger count = new AtomicInteger();
    ThreadPoolExecutor executor = new ThreadPoolExecutor(threads, threads, IDLE_SECONDS, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), task -> {
          Thread thread = new Thread(task, prefix + count.incrementAndGet());
          thread.setDaemon(true);
          return thread;
        });
    executor.allowCoreThreadTimeOut(true);
    return executor;
  }
}
