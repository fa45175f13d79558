package io.devicelogin.operator.flow;

import io.devicelogin.operator.messages.Messages;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.idp.TokenPollResult;
import java.time.Duration;
import java.time.Instant;

/** The RFC 8628 client state machine: plain Java, no I/O, no clock of its own. */
public final class DeviceFlow {

  /** RFC 8628 section 3.5: on slow_down the interval grows by 5 seconds for this and all later polls. */
  public static final Duration SLOW_DOWN_STEP = Duration.ofSeconds(5);

  /** Longest wait between polls while the IdP is unavailable. */
  public static final Duration MAX_BACKOFF = Duration.ofMinutes(2);

  private DeviceFlow() {}

  /**
   * Before polling: has the code expired, or is it too early (then wait until the next poll or the expiry)? While the
   * schedule holds tokens that wait for a check, the code's expiry no longer matters (the IdP used it up).
   */
  public static Step beforePoll(Grant grant, PollSchedule schedule, Instant now) {
    if (schedule.unverified() != null) {
      return now.isBefore(schedule.nextPollAt())
          ? new Step.Wait(Duration.between(now, schedule.nextPollAt()))
          : new Step.Poll();
    }
    if (!now.isBefore(grant.expiresAt())) {
      return expired(grant);
    }
    if (now.isBefore(schedule.nextPollAt())) {
      Instant wakeUp = schedule.nextPollAt().isBefore(grant.expiresAt()) ? schedule.nextPollAt() : grant.expiresAt();
      return new Step.Wait(Duration.between(now, wakeUp));
    }
    return new Step.Poll();
  }

  /** After one poll of the token endpoint. */
  public static Step afterPoll(Grant grant, PollSchedule schedule, TokenPollResult result, Instant now) {
    if (result instanceof TokenPollResult.Pending) {
      return new Step.Continue(
          grant, new PollSchedule(now.plus(grant.interval()), 0), Reason.AuthorizationPending, waitingMessage(grant));
    }
    if (result instanceof TokenPollResult.SlowDown) {
      Grant slower = grant.withInterval(grant.interval().plus(SLOW_DOWN_STEP));
      return new Step.Continue(
          slower, new PollSchedule(now.plus(slower.interval()), 0), Reason.AuthorizationPending,
          waitingMessage(slower));
    }
    if (result instanceof TokenPollResult.Unavailable unavailable) {
      int failures = schedule.failures() + 1;
      Duration delay = unavailable.retryAfter() != null
          ? retryAfter(grant.interval(), unavailable.retryAfter())
          : backoff(grant.interval(), failures);
      return new Step.Continue(
          grant,
          new PollSchedule(now.plus(delay), failures),
          Reason.IdPUnavailable,
          "The IdP is unavailable (" + unavailable.message() + "); the login is kept and polling resumes in "
              + delay.toSeconds() + "s. " + waitingMessage(grant));
    }
    if (result instanceof TokenPollResult.Unverified unverified) {
      int failures = schedule.failures() + 1;
      Instant next = now.plus(backoff(grant.interval(), failures));
      if (next.isAfter(unverified.tokens().checkUntil())) {
        next = unverified.tokens().checkUntil();
      }
      return new Step.Continue(
          grant,
          new PollSchedule(next, failures, unverified.tokens()),
          Reason.IdPUnavailable,
          Messages.capitalize(unverified.message()) + ". The tokens are kept with the login's device grant (not in "
              + "its token Secret) and checked again in " + Duration.between(now, next).toSeconds()
              + "s, at the latest until " + unverified.tokens().checkUntil() + "; nothing is stored in the token "
              + "Secret before the check succeeds.");
    }
    if (result instanceof TokenPollResult.AccessDenied) {
      return new Step.End(Phase.Denied, Reason.AccessDenied, "The login was denied at the IdP. " + Messages.startOverHint());
    }
    if (result instanceof TokenPollResult.ExpiredToken) {
      return expired(grant);
    }
    if (result instanceof TokenPollResult.Invalid invalid) {
      return new Step.End(
          Phase.Failed, Reason.InvalidTokenResponse, Messages.capitalize(invalid.message()) + ". No Secret was written. " + Messages.startOverHint());
    }
    return new Step.Issued(((TokenPollResult.Issued) result).tokens());
  }

  /** Exponential back-off from the poll interval, capped; never sooner than the interval. */
  public static Duration backoff(Duration interval, int failures) {
    Duration cap = interval.compareTo(MAX_BACKOFF) > 0 ? interval : MAX_BACKOFF;
    Duration delay = interval;
    for (int i = 1; i < failures && delay.compareTo(cap) < 0; i++) {
      delay = delay.multipliedBy(2);
    }
    return delay.compareTo(cap) > 0 ? cap : delay;
  }

  /**
   * The wait a {@code Retry-After} asked for, bounded: never sooner than the poll interval (RFC 8628 section 3.5), never
   * longer than {@link #MAX_BACKOFF} (or the interval, if that is longer), so an IdP can't park a login for hours.
   */
  public static Duration retryAfter(Duration interval, Duration asked) {
    Duration cap = interval.compareTo(MAX_BACKOFF) > 0 ? interval : MAX_BACKOFF;
    return asked.compareTo(interval) < 0 ? interval : asked.compareTo(cap) > 0 ? cap : asked;
  }

  /** The end of a grant whose user code expired before anyone approved it. */
  public static Step.End expired(Grant grant) {
    return new Step.End(
        Phase.Expired,
        Reason.ExpiredToken,
        "The user code expired at " + grant.expiresAt() + " before the login was approved. " + Messages.startOverHint());
  }

  /** What the person must do, for the Ready condition and the Event. */
  public static String waitingMessage(Grant grant) {
    return "Open " + grant.verificationUri() + " and enter the code " + grant.userCode() + " before "
        + grant.expiresAt() + ".";
  }


}
