package io.devicelogin.operator.callback;

import java.util.function.LongSupplier;

/**
 * A token bucket shared by every delivery the callback endpoint makes, whoever sends them: each delivery may cost the
 * inbox a call to the API server, so a flood of requests to /callback turns into at most {@link #PER_SECOND} of them a
 * second (after a burst of {@link #BURST}) and the rest get 429.
 */
final class DeliveryRate {

  /** Deliveries a second, sustained: far above what people signing in produce (one each per login). */
  static final double PER_SECOND = 20;

  /** Deliveries at once after a quiet spell. */
  static final int BURST = 40;

  private final double perNano;
  private final double burst;
  private final LongSupplier nanoTime;
  private double tokens;
  private long last;

  DeliveryRate(double perSecond, int burst, LongSupplier nanoTime) {
    this.perNano = perSecond / 1e9;
    this.burst = burst;
    this.nanoTime = nanoTime;
    this.tokens = burst;
    this.last = nanoTime.getAsLong();
  }

  /** {@link #PER_SECOND} with bursts of {@link #BURST}, on the JVM's clock. */
  static DeliveryRate standard() {
    return new DeliveryRate(PER_SECOND, BURST, System::nanoTime);
  }

  /** Takes a token if one is left. */
  synchronized boolean tryTake() {
    long now = nanoTime.getAsLong();
    tokens = Math.min(burst, tokens + (now - last) * perNano);
    last = now;
    if (tokens < 1) {
      return false;
    }
    tokens--;
    return true;
  }
}
