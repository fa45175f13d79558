package io.devicelogin.operator.flow;

import io.devicelogin.operator.idp.UnverifiedTokens;
import java.time.Duration;
import java.time.Instant;

/**
 * When a grant may next be polled, and how many polls in a row found the IdP unavailable. Kept in memory only: after
 * a restart the first poll waits one full interval, so no poll ever comes sooner than the interval.
 *
 * @param unverified tokens the IdP issued for this grant whose ID token could not be checked yet (its signing keys
 *     could not be fetched): the device code is used up, so the next "poll" checks these again instead; null otherwise
 */
public record PollSchedule(Instant nextPollAt, int failures, UnverifiedTokens unverified) {

  public PollSchedule(Instant nextPollAt, int failures) {
    this(nextPollAt, failures, null);
  }

  public static PollSchedule firstPollAfter(Instant now, Duration interval) {
    return new PollSchedule(now.plus(interval), 0);
  }
}
