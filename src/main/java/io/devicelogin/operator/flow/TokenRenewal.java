package io.devicelogin.operator.flow;

import io.devicelogin.operator.messages.Messages;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.idp.TokenRefreshResult;
import java.time.Duration;
import java.time.Instant;

/**
 * When to refresh a login's tokens and what a refresh attempt means (the cert-manager renew-before-expiry pattern):
 * plain Java, no I/O, no clock of its own.
 */
public final class TokenRenewal {

  /** First delay before retrying a refresh the IdP could not answer; doubles up to {@link #MAX_RETRY}. */
  public static final Duration FIRST_RETRY = Duration.ofSeconds(10);

  public static final Duration MAX_RETRY = Duration.ofMinutes(5);

  private TokenRenewal() {}

  /** What to do now with a Ready login. */
  public sealed interface Decision {
    /** Nothing until {@code delay} has passed. */
    record Wait(Duration delay) implements Decision {}

    /** Refresh now. */
    record Refresh() implements Decision {}

    /** The login is over. */
    record End(Phase phase, Reason reason, String message) implements Decision {}
  }

  /**
   * The renewal time: {@code renewBefore} before the ID token expires, by default one third of its lifetime; never
   * before it was issued.
   */
  public static Instant renewalTime(Instant issuedAt, Instant expiry, Duration renewBefore) {
    Duration lifetime = Duration.between(issuedAt, expiry);
    if (lifetime.isNegative()) {
      lifetime = Duration.ZERO;
    }
    Duration before = renewBefore != null ? renewBefore : lifetime.dividedBy(3);
    return expiry.minus(before.compareTo(lifetime) > 0 ? lifetime : before);
  }

  /**
   * @param nextAttempt when the next refresh may happen: the renewal time, or a retry time after a failure
   * @param refreshable whether a refresh can renew the ID token (there is a refresh token and the IdP issues new ID
   *     tokens on refresh)
   */
  public static Decision decide(Instant now, Instant expiry, Instant nextAttempt, boolean refreshable) {
    if (!now.isBefore(expiry)) {
      return new Decision.End(
          Phase.Expired,
          refreshable ? Reason.RefreshFailed : Reason.ExpiredToken,
          "The ID token expired at " + expiry + (refreshable ? " before a refresh succeeded" : "")
              + ". " + Messages.startOverHint());
    }
    if (!refreshable) {
      return new Decision.Wait(Duration.between(now, expiry));
    }
    if (now.isBefore(nextAttempt)) {
      return new Decision.Wait(Duration.between(now, nextAttempt));
    }
    return new Decision.Refresh();
  }

  /**
   * When to try again after {@code failures} refreshes in a row the IdP could not answer: never after expiry. A
   * {@code Retry-After} (non-null {@code retryAfter}) replaces the back-off, bounded to [{@link #FIRST_RETRY},
   * {@link #MAX_RETRY}].
   */
  public static Instant retryAt(Instant now, int failures, Instant expiry, Duration retryAfter) {
    Duration delay = FIRST_RETRY;
    if (retryAfter != null) {
      delay = retryAfter.compareTo(FIRST_RETRY) < 0 ? FIRST_RETRY : retryAfter;
    }
    for (int i = 1; retryAfter == null && i < failures && delay.compareTo(MAX_RETRY) < 0; i++) {
      delay = delay.multipliedBy(2);
    }
    Instant retry = now.plus(delay.compareTo(MAX_RETRY) > 0 ? MAX_RETRY : delay);
    return retry.isAfter(expiry) ? expiry : retry;
  }

  /** The end for a refresh the IdP refused for good, or answered with tokens that must not be used. */
  public static Decision.End refused(TokenRefreshResult result) {
    String message = result instanceof TokenRefreshResult.Rejected rejected
        ? rejected.message()
        : ((TokenRefreshResult.Invalid) result).message();
    return new Decision.End(
        Phase.Expired, Reason.RefreshFailed,
        Messages.capitalize(message) + "; the operator stopped refreshing. " + Messages.startOverHint());
  }

  /**
   * What to do with a login whose token Secret says a refresh was started that no one finished (the operator stopped
   * between sending the refresh token and storing the answer; another process started it). The IdP may already have
   * rotated the refresh token, and presenting it again is a reuse for which some IdPs revoke the whole session, so it is
   * not presented again: wait while the ID token is valid, then end Expired (RefreshFailed).
   */
  public static Decision afterInterruptedRefresh(Instant now, Instant expiry, String secretName, String startedAt) {
    if (!now.isBefore(expiry)) {
      return new Decision.End(Phase.Expired, Reason.RefreshFailed,
          interruption(secretName, startedAt) + " The ID token expired at " + expiry + ". " + Messages.startOverHint());
    }
    return new Decision.Wait(Duration.between(now, expiry));
  }

  /** The Ready condition's message while the login waits for the ID token's expiry after an interrupted refresh. */
  public static String interruptedMessage(String secretName, String startedAt, Instant expiry) {
    return interruption(secretName, startedAt) + " The tokens in the Secret stay valid until " + expiry
        + "; then the login ends. " + Messages.startOverHint();
  }

  private static String interruption(String secretName, String startedAt) {
    String when;
    try {
      when = "at " + Instant.parse(startedAt);
    } catch (java.time.format.DateTimeParseException | NullPointerException e) {
      when = "at an unknown time"; // the annotation was changed by hand: never echo it
    }
    return "A refresh of the tokens in Secret " + secretName + " was interrupted (started " + when
        + ", the operator stopped before it stored the answer). The IdP may already have replaced the refresh token, "
        + "and presenting it again could make the IdP revoke the whole session, so it is not used again.";
  }
}
