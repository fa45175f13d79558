package io.devicelogin.operator.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Faults of the mock API server: the next {@code times} requests a rule matches are answered with an error status (a
 * Kubernetes {@code Status} body), either instead of the CRUD store ({@link Mode#REFUSE}: nothing changes) or after
 * it ({@link Mode#LOSE_RESPONSE}: the change is made, but the client sees the error, like a response lost on the
 * way back). Rules are checked before the expectations of {@code server().expect()}; the first matching rule with
 * failures left answers. Thread-safe.
 */
public final class ApiFaults {

  /** What the server does with a request it fails. */
  public enum Mode {
    /** Answer the error without touching the store. */
    REFUSE,
    /** Apply the request to the store, then answer the error instead of its response. */
    LOSE_RESPONSE,
    /**
     * For watch requests: accept the watch, send one ERROR event carrying a Status with this code (410: "too old
     * resource version", which makes informers list again) and close it, as a real API server does.
     */
    WATCH_ERROR_EVENT
  }

  /** One rule: which requests, what status, how many more times. */
  public static final class Fault {
    private final String description;
    private final Predicate<ApiRequest> matches;
    private final int status;
    private final Mode mode;
    private final AtomicInteger left;
    private final AtomicInteger injected = new AtomicInteger();
    private volatile long firstNanos;
    private volatile long lastNanos;

    private Fault(String description, Predicate<ApiRequest> matches, int status, Mode mode, int times) {
      this.description = description;
      this.matches = matches;
      this.status = status;
      this.mode = mode;
      this.left = new AtomicInteger(times);
    }

    /** Takes one failure if this rule matches and has failures left. */
    boolean take(ApiRequest request) {
      if (left.get() <= 0 || !matches.test(request)) {
        return false;
      }
      if (left.getAndDecrement() <= 0) {
        left.incrementAndGet();
        return false;
      }
      if (injected.getAndIncrement() == 0) {
        firstNanos = request.nanos();
      }
      lastNanos = request.nanos();
      return true;
    }

    public int status() {
      return status;
    }

    public Mode mode() {
      return mode;
    }

    /** How many requests this rule failed so far. */
    public int injected() {
      return injected.get();
    }

    /** Whether every failure was injected. */
    public boolean exhausted() {
      return left.get() <= 0;
    }

    /** System.nanoTime of the first and the last failed request (0 before the first). */
    public long firstNanos() {
      return firstNanos;
    }

    public long lastNanos() {
      return lastNanos;
    }

    /** The reason of the Kubernetes Status answered. */
    String reason() {
      return switch (status) {
        case 409 -> "Conflict";
        case 410 -> "Gone";
        case 429 -> "TooManyRequests";
        case 500 -> "InternalError";
        case 503 -> "ServiceUnavailable";
        case 504 -> "Timeout";
        default -> "Failure";
      };
    }

    @Override
    public String toString() {
      return description + " (" + status + " x " + (injected.get() + Math.max(0, left.get())) + ", " + mode + ")";
    }
  }

  private final List<Fault> faults = new CopyOnWriteArrayList<>();

  /** Fails the next {@code times} requests matching {@code matches} with {@code status}, leaving the store alone. */
  public Fault fail(String description, Predicate<ApiRequest> matches, int status, int times) {
    return add(description, matches, status, Mode.REFUSE, times);
  }

  public Fault add(String description, Predicate<ApiRequest> matches, int status, Mode mode, int times) {
    Fault fault = new Fault(description, matches, status, mode, times);
    faults.add(fault);
    return fault;
  }

  /** Removes one rule (its remaining failures are not injected). */
  public void remove(Fault fault) {
    faults.remove(fault);
  }

  /** Removes every rule. */
  public void clear() {
    faults.clear();
  }

  /** The rule that fails this request, if any (taking one of its failures). */
  Fault take(ApiRequest request) {
    for (Fault fault : faults) {
      if (fault.take(request)) {
        return fault;
      }
    }
    return null;
  }
}
