package io.devicelogin.operator.testidp;

import com.nimbusds.oauth2.sdk.device.DeviceAuthorizationGrantError;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/**
 * One device authorization grant started at a {@link FakeIdp}: what was handed out, how the client
 * polled, and the script for the answers to its token polls.
 *
 * <p>A poll is answered by, in this order:
 *
 * <ol>
 *   <li>{@code slow_down}, if it came sooner than {@link #currentInterval()} after the previous
 *       poll and {@link FakeIdp#enforceSlowDown(boolean)} is on (too-early polls are always
 *       counted, see {@link #tooEarlyPolls()});
 *   <li>the next one-shot outcome queued by {@link #onNextPoll}, {@link #slowDown()} or {@link
 *       #respondWith};
 *   <li>{@code invalid_grant} once tokens were issued for the device code;
 *   <li>{@code expired_token} once the device code expired ({@code expires_in} passed);
 *   <li>the standing outcome: {@code authorization_pending} (400, or 401 after {@link
 *       #pendingAs401()}) until {@link #approve}, {@link #deny()} or {@link #expire()} replace it.
 * </ol>
 *
 * <p>Thread-safe.
 */
public final class Login {

  /** RFC 8628 section 3.5: every {@code slow_down} adds 5 seconds to the polling interval. */
  private static final Duration SLOW_DOWN_INCREMENT = Duration.ofSeconds(5);

  private final String deviceCode;
  private final String userCode;
  private final String clientId;
  private final String scope;
  private final Instant startedAt;
  private final Instant expiresAt;
  private final Duration interval;

  private final Deque<Outcome> nextPolls = new ArrayDeque<>();
  private final List<Instant> pollTimes = new ArrayList<>();
  private final List<IssuedTokens> issuedTokens = new ArrayList<>();
  private Outcome standing = Outcome.pending();
  private Claims user;
  private boolean exchanged;
  private long lastPollNanos;
  private int tooEarlyPolls;
  private int slowDowns;

  Login(
      String deviceCode,
      String userCode,
      String clientId,
      String scope,
      Instant startedAt,
      Duration lifetime,
      Duration interval) {
    this.deviceCode = deviceCode;
    this.userCode = userCode;
    this.clientId = clientId;
    this.scope = scope;
    this.startedAt = startedAt;
    this.expiresAt = startedAt.plus(lifetime);
    this.interval = interval;
  }

  /** The user code, e.g. {@code BCDF-GHJK}. */
  public String userCode() {
    return userCode;
  }

  /** The device code; handy to assert that it never shows up where it must not. */
  public String deviceCode() {
    return deviceCode;
  }

  /** The client that started the grant. */
  public String clientId() {
    return clientId;
  }

  /** The {@code scope} parameter of the device authorization request, {@code null} if absent. */
  public String scope() {
    return scope;
  }

  /** When the device authorization request was answered. */
  public Instant startedAt() {
    return startedAt;
  }

  /** When the device code expires. */
  public Instant expiresAt() {
    return expiresAt;
  }

  /** The polling interval now: the one handed out plus 5 seconds per {@code slow_down} sent. */
  public synchronized Duration currentInterval() {
    return interval.plus(SLOW_DOWN_INCREMENT.multipliedBy(slowDowns));
  }

  /** How many token polls came in for this device code. */
  public synchronized int pollCount() {
    return pollTimes.size();
  }

  /** When the token polls came in, oldest first. */
  public synchronized List<Instant> pollTimes() {
    return List.copyOf(pollTimes);
  }

  /** How many polls came sooner than {@link #currentInterval()} after the previous one. */
  public synchronized int tooEarlyPolls() {
    return tooEarlyPolls;
  }

  /** Every token response issued for this grant, the device code exchange and refreshes, oldest first. */
  public synchronized List<IssuedTokens> issuedTokens() {
    return List.copyOf(issuedTokens);
  }

  /** The user approves: the next poll gets tokens for {@code user}, with the given defects. */
  public synchronized Login approve(Claims user, TokenVariant... variants) {
    this.user = user;
    standing = Outcome.tokens(user, variants);
    return this;
  }

  /** The user declines: polls get {@code access_denied}. */
  public synchronized Login deny() {
    standing = Outcome.denied();
    return this;
  }

  /** The device code expires now: polls get {@code expired_token}. */
  public synchronized Login expire() {
    standing = Outcome.expired();
    return this;
  }

  /** While pending, answer {@code authorization_pending} with HTTP 401, as Dex does. */
  public synchronized Login pendingAs401() {
    standing = Outcome.pendingAs401();
    return this;
  }

  /** Queue one {@code slow_down}. */
  public Login slowDown() {
    return onNextPoll(Outcome.slowDown());
  }

  /** Queue one arbitrary HTTP response. */
  public Login respondWith(int status, String contentType, String body) {
    return onNextPoll(Outcome.raw(status, contentType, body));
  }

  /**
   * Queue one-shot outcomes, one per poll, served before the standing outcome. {@link
   * Outcome#tokens(TokenVariant...)} without claims needs {@link #approve} to have named the user.
   */
  public synchronized Login onNextPoll(Outcome... outcomes) {
    for (Outcome outcome : outcomes) {
      if (outcome instanceof Outcome.Tokens tokens && tokens.claims() == null && user == null) {
        throw new IllegalStateException("tokens for whom? Pass Claims or approve(...) first");
      }
    }
    nextPolls.addAll(Arrays.asList(outcomes));
    return this;
  }

  /**
   * Records a poll arriving at {@code at} ({@code nanoTime} from {@link System#nanoTime()}) and
   * decides its answer; a {@link Outcome.Tokens} answer marks the device code as exchanged.
   */
  synchronized Outcome poll(Instant at, long nanoTime, boolean enforceSlowDown) {
    boolean tooEarly = !pollTimes.isEmpty() && nanoTime - lastPollNanos < currentInterval().toNanos();
    pollTimes.add(at);
    lastPollNanos = nanoTime;
    if (tooEarly) {
      tooEarlyPolls++;
    }
    Outcome outcome;
    if (tooEarly && enforceSlowDown) {
      outcome = Outcome.slowDown();
    } else if (!nextPolls.isEmpty()) {
      outcome = nextPolls.remove();
    } else if (exchanged) {
      outcome = Outcome.invalidGrant();
    } else if (at.isAfter(expiresAt)) {
      outcome = Outcome.expired();
    } else {
      outcome = standing;
    }
    if (outcome instanceof Outcome.Error error
        && error.error().getCode().equals(DeviceAuthorizationGrantError.SLOW_DOWN.getCode())) {
      slowDowns++;
    }
    if (outcome instanceof Outcome.Tokens) {
      exchanged = true;
    }
    return outcome;
  }

  /** The user named by {@link #approve} or by the latest tokens issued. */
  synchronized Claims user() {
    return user;
  }

  synchronized void issued(Claims user, IssuedTokens tokens) {
    this.user = user;
    issuedTokens.add(tokens);
  }

  @Override
  public String toString() {
    return "Login[userCode=" + userCode + ", clientId=" + clientId + "]";
  }
}
