package io.devicelogin.operator.flow;

import java.time.Duration;
import java.time.Instant;

/**
 * When a grant may next be polled, and how many polls in a row found the IdP unavailable. Kept in memory only: after
 * a restart the first poll waits one full interval, so no poll ever comes sooner than the interval.
 */
public record PollSchedule(Instant nextPollAt, int failures) {

  public static PollSchedule firstPollAfter(Instant now, Duration interval) {
    return new PollSchedule(now.plus(interval), 0);
  }
}
