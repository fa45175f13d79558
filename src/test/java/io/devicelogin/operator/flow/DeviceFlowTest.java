package io.devicelogin.operator.flow;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.idp.IssuedTokens;
import io.devicelogin.operator.idp.TokenPollResult;
import io.devicelogin.operator.idp.UnverifiedTokens;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class DeviceFlowTest {

  static final Instant NOW = Instant.parse("2025-03-01T10:00:00Z");
  static final String DEVICE_CODE = "DEVICE-CODE-s3cr3t-Gm4xQz";
  static final Duration INTERVAL = Duration.ofSeconds(5);

  static Grant grant(Duration interval, Instant expiresAt) {
    return new Grant(
        "grant-1", 3, null, "https://idp.example", "cli", DEVICE_CODE, "WDJB-MJHT", URI.create("https://idp.example/device"),
        URI.create("https://idp.example/device?user_code=WDJB-MJHT"), expiresAt, interval);
  }

  static Grant grant() {
    return grant(INTERVAL, NOW.plus(Duration.ofMinutes(10)));
  }

  @Nested
  class BeforePoll {

    @Test
    void heldTokensAreCheckedAfterTheUserCodeExpiredBecauseTheIdpUsedTheCodeUp() {
      Grant g = grant(INTERVAL, NOW.minusSeconds(1));
      UnverifiedTokens held = new UnverifiedTokens(null, "access", null, NOW.plusSeconds(300));
      assertThat(DeviceFlow.beforePoll(g, new PollSchedule(NOW.plusSeconds(4), 1, held), NOW))
          .isEqualTo(new Step.Wait(Duration.ofSeconds(4)));
      assertThat(DeviceFlow.beforePoll(g, new PollSchedule(NOW, 1, held), NOW)).isInstanceOf(Step.Poll.class);
      assertThat(DeviceFlow.beforePoll(g, new PollSchedule(NOW, 1), NOW)).as("without held tokens")
          .isInstanceOf(Step.End.class);
    }

    @Test
    void expiredExactlyAtExpiresAt() {
      Grant g = grant();
      Step step = DeviceFlow.beforePoll(g, new PollSchedule(NOW.plusSeconds(1), 0), g.expiresAt());
      assertThat(step).isInstanceOfSatisfying(Step.End.class, end -> {
        assertThat(end.phase()).isEqualTo(Phase.Expired);
        assertThat(end.reason()).isEqualTo(Reason.ExpiredToken);
        assertThat(end.message()).contains(g.expiresAt().toString()).doesNotContain(DEVICE_CODE);
      });
    }

    @Test
    void expiredAfterExpiresAtEvenIfPollIsDue() {
      Grant g = grant();
      Step step = DeviceFlow.beforePoll(g, new PollSchedule(NOW, 0), g.expiresAt().plusSeconds(30));
      assertThat(step).isInstanceOfSatisfying(Step.End.class, end -> {
        assertThat(end.phase()).isEqualTo(Phase.Expired);
        assertThat(end.reason()).isEqualTo(Reason.ExpiredToken);
      });
    }

    @Test
    void expiryWinsOverAWaitThatWouldOtherwiseFollow() {
      Grant g = grant();
      Step step = DeviceFlow.beforePoll(g, new PollSchedule(g.expiresAt().plusSeconds(60), 0), g.expiresAt());
      assertThat(step).isInstanceOf(Step.End.class);
    }

    @Test
    void oneNanosecondBeforeExpiryIsNotExpired() {
      Grant g = grant();
      Instant now = g.expiresAt().minusNanos(1);
      Step step = DeviceFlow.beforePoll(g, new PollSchedule(now, 0), now);
      assertThat(step).isInstanceOf(Step.Poll.class);
    }

    @Test
    void waitsUntilNextPollWhenItComesBeforeExpiry() {
      Grant g = grant();
      Step step = DeviceFlow.beforePoll(g, new PollSchedule(NOW.plusSeconds(4), 0), NOW);
      assertThat(step).isEqualTo(new Step.Wait(Duration.ofSeconds(4)));
    }

    @Test
    void waitsOnlyUntilExpiryWhenNextPollIsLater() {
      Grant g = grant(INTERVAL, NOW.plusSeconds(3));
      Step step = DeviceFlow.beforePoll(g, new PollSchedule(NOW.plusSeconds(20), 0), NOW);
      assertThat(step).isEqualTo(new Step.Wait(Duration.ofSeconds(3)));
    }

    @Test
    void waitsUntilNextPollWhenItEqualsExpiry() {
      Grant g = grant(INTERVAL, NOW.plusSeconds(7));
      Step step = DeviceFlow.beforePoll(g, new PollSchedule(NOW.plusSeconds(7), 0), NOW);
      assertThat(step).isEqualTo(new Step.Wait(Duration.ofSeconds(7)));
    }

    @Test
    void pollsExactlyAtNextPollAt() {
      Step step = DeviceFlow.beforePoll(grant(), new PollSchedule(NOW, 0), NOW);
      assertThat(step).isInstanceOf(Step.Poll.class);
    }

    @Test
    void pollsAfterNextPollAt() {
      Step step = DeviceFlow.beforePoll(grant(), new PollSchedule(NOW.minusSeconds(30), 2), NOW);
      assertThat(step).isInstanceOf(Step.Poll.class);
    }
  }

  @Nested
  class AfterPoll {

    @Test
    void pendingContinuesOneIntervalLaterAndResetsFailures() {
      Grant g = grant();
      Step step = DeviceFlow.afterPoll(g, new PollSchedule(NOW, 3), new TokenPollResult.Pending(), NOW);
      assertThat(step).isInstanceOfSatisfying(Step.Continue.class, c -> {
        assertThat(c.grant()).isEqualTo(g);
        assertThat(c.schedule()).isEqualTo(new PollSchedule(NOW.plus(INTERVAL), 0));
        assertThat(c.reason()).isEqualTo(Reason.AuthorizationPending);
        assertThat(c.message())
            .contains("https://idp.example/device", "WDJB-MJHT", g.expiresAt().toString())
            .doesNotContain(DEVICE_CODE);
      });
    }

    @Test
    void tokensWaitingForTheSigningKeysAreCheckedAgainWithBackOffCappedAtTheirCheckLimit() {
      Grant g = grant();
      UnverifiedTokens held = new UnverifiedTokens(null, "access", "refresh", NOW.plusSeconds(30));
      Step first = DeviceFlow.afterPoll(g, new PollSchedule(NOW, 0),
          new TokenPollResult.Unverified(held, "the IdP issued tokens, but its signing keys could not be fetched"), NOW);
      assertThat(first).isInstanceOfSatisfying(Step.Continue.class, c -> {
        assertThat(c.grant()).isEqualTo(g);
        assertThat(c.schedule()).isEqualTo(new PollSchedule(NOW.plus(INTERVAL), 1, held));
        assertThat(c.reason()).isEqualTo(Reason.IdPUnavailable);
        assertThat(c.message()).startsWith("The IdP issued tokens").contains("checked again in 5s")
            .contains(NOW.plusSeconds(30).toString()).doesNotContain("access").doesNotContain("refresh token");
      });
      // the fourth failure in a row would wait 40 s: capped at the check limit
      Step fourth = DeviceFlow.afterPoll(g, new PollSchedule(NOW, 3, held),
          new TokenPollResult.Unverified(held, "still no keys"), NOW);
      assertThat(((Step.Continue) fourth).schedule()).isEqualTo(new PollSchedule(NOW.plusSeconds(30), 4, held));
      // checked tokens: the schedule forgets them
      Step issued = DeviceFlow.afterPoll(g, new PollSchedule(NOW, 2, held), new TokenPollResult.Issued(
          new IssuedTokens("id", "access", null, NOW.plusSeconds(300), NOW, Map.of())), NOW);
      assertThat(issued).isInstanceOf(Step.Issued.class);
    }

    @Test
    void slowDownAddsFiveSecondsToTheGrantAndTheNextPoll() {
      Grant g = grant();
      Step step = DeviceFlow.afterPoll(g, new PollSchedule(NOW, 2), new TokenPollResult.SlowDown(), NOW);
      assertThat(step).isInstanceOfSatisfying(Step.Continue.class, c -> {
        assertThat(c.grant().interval()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.grant()).isEqualTo(g.withInterval(Duration.ofSeconds(10)));
        assertThat(c.schedule()).isEqualTo(new PollSchedule(NOW.plusSeconds(10), 0));
        assertThat(c.reason()).isEqualTo(Reason.AuthorizationPending);
        assertThat(c.message()).doesNotContain(DEVICE_CODE);
      });
    }

    @Test
    void twoSlowDownsAddTenSecondsAndTheIntervalStaysForLaterPendingPolls() {
      Grant g = grant();
      Step.Continue first = (Step.Continue)
          DeviceFlow.afterPoll(g, new PollSchedule(NOW, 0), new TokenPollResult.SlowDown(), NOW);
      Instant second = first.schedule().nextPollAt();
      Step.Continue afterSecond = (Step.Continue)
          DeviceFlow.afterPoll(first.grant(), first.schedule(), new TokenPollResult.SlowDown(), second);
      assertThat(afterSecond.grant().interval()).isEqualTo(Duration.ofSeconds(15));
      assertThat(afterSecond.schedule().nextPollAt()).isEqualTo(second.plusSeconds(15));

      Instant third = afterSecond.schedule().nextPollAt();
      Step.Continue pending = (Step.Continue)
          DeviceFlow.afterPoll(afterSecond.grant(), afterSecond.schedule(), new TokenPollResult.Pending(), third);
      assertThat(pending.grant().interval()).isEqualTo(Duration.ofSeconds(15));
      assertThat(pending.schedule().nextPollAt()).isEqualTo(third.plusSeconds(15));
    }

    @Test
    void unavailableBacksOffFromTheIntervalAndCountsFailures() {
      Grant g = grant();
      PollSchedule schedule = new PollSchedule(NOW, 0);
      Instant now = NOW;
      List<Long> delays = new ArrayList<>();
      for (int i = 1; i <= 8; i++) {
        Step step = DeviceFlow.afterPoll(g, schedule, new TokenPollResult.Unavailable("connection refused"), now);
        Step.Continue c = (Step.Continue) step;
        assertThat(c.reason()).isEqualTo(Reason.IdPUnavailable);
        assertThat(c.grant()).isEqualTo(g);
        assertThat(c.schedule().failures()).isEqualTo(i);
        assertThat(c.message()).contains("connection refused").doesNotContain(DEVICE_CODE);
        Duration delay = Duration.between(now, c.schedule().nextPollAt());
        assertThat(c.message()).contains(delay.toSeconds() + "s");
        delays.add(delay.toSeconds());
        schedule = c.schedule();
        now = schedule.nextPollAt();
      }
      assertThat(delays).containsExactly(5L, 10L, 20L, 40L, 80L, 120L, 120L, 120L);
    }

    @Test
    void pendingAfterUnavailableResetsTheFailureCount() {
      Step.Continue c = (Step.Continue) DeviceFlow.afterPoll(
          grant(), new PollSchedule(NOW, 4), new TokenPollResult.Pending(), NOW);
      assertThat(c.schedule().failures()).isZero();
      Step.Continue next = (Step.Continue) DeviceFlow.afterPoll(
          grant(), c.schedule(), new TokenPollResult.Unavailable("503"), NOW);
      assertThat(next.schedule()).isEqualTo(new PollSchedule(NOW.plus(INTERVAL), 1));
    }

    @Test
    void accessDeniedEndsDenied() {
      Step step = DeviceFlow.afterPoll(grant(), new PollSchedule(NOW, 0), new TokenPollResult.AccessDenied(), NOW);
      assertThat(step).isInstanceOfSatisfying(Step.End.class, end -> {
        assertThat(end.phase()).isEqualTo(Phase.Denied);
        assertThat(end.reason()).isEqualTo(Reason.AccessDenied);
        assertThat(end.message()).doesNotContain(DEVICE_CODE);
      });
    }

    @Test
    void expiredTokenEndsExpired() {
      Step step = DeviceFlow.afterPoll(grant(), new PollSchedule(NOW, 0), new TokenPollResult.ExpiredToken(), NOW);
      assertThat(step).isInstanceOfSatisfying(Step.End.class, end -> {
        assertThat(end.phase()).isEqualTo(Phase.Expired);
        assertThat(end.reason()).isEqualTo(Reason.ExpiredToken);
      });
    }

    @Test
    void invalidEndsFailedWithTheMessage() {
      Step step = DeviceFlow.afterPoll(
          grant(), new PollSchedule(NOW, 0), new TokenPollResult.Invalid("the ID token was rejected: bad signature"),
          NOW);
      assertThat(step).isInstanceOfSatisfying(Step.End.class, end -> {
        assertThat(end.phase()).isEqualTo(Phase.Failed);
        assertThat(end.reason()).isEqualTo(Reason.InvalidTokenResponse);
        assertThat(end.message())
            .startsWith("The ID token was rejected: bad signature")
            .contains("No Secret was written");
      });
    }

    @Test
    void invalidWithEmptyMessageStillEndsFailed() {
      Step step = DeviceFlow.afterPoll(grant(), new PollSchedule(NOW, 0), new TokenPollResult.Invalid(""), NOW);
      assertThat(step).isInstanceOfSatisfying(Step.End.class, end -> {
        assertThat(end.phase()).isEqualTo(Phase.Failed);
        assertThat(end.reason()).isEqualTo(Reason.InvalidTokenResponse);
      });
    }

    @Test
    void issuedCarriesTheTokens() {
      IssuedTokens tokens = new IssuedTokens(
          "id.token.jwt", "access", "refresh", NOW.plusSeconds(300), NOW, Map.of("sub", "u1"));
      Step step = DeviceFlow.afterPoll(grant(), new PollSchedule(NOW, 0), new TokenPollResult.Issued(tokens), NOW);
      assertThat(step).isEqualTo(new Step.Issued(tokens));
      assertThat(((Step.Issued) step).tokens()).isSameAs(tokens);
    }
  }

  @Nested
  class Backoff {

    /** Issue #14: a Retry-After replaces the back-off, bounded by the interval and MAX_BACKOFF. */
    @Test
    void retryAfterReplacesTheBackoffWithinBounds() {
      assertThat(DeviceFlow.retryAfter(INTERVAL, Duration.ofSeconds(30))).isEqualTo(Duration.ofSeconds(30));
      assertThat(DeviceFlow.retryAfter(INTERVAL, Duration.ZERO)).isEqualTo(INTERVAL);
      assertThat(DeviceFlow.retryAfter(INTERVAL, Duration.ofDays(2))).isEqualTo(DeviceFlow.MAX_BACKOFF);
      assertThat(DeviceFlow.retryAfter(Duration.ofMinutes(3), Duration.ofDays(2))).isEqualTo(Duration.ofMinutes(3));
      Step.Continue c = (Step.Continue) DeviceFlow.afterPoll(grant(), new PollSchedule(NOW, 3),
          new TokenPollResult.Unavailable("token endpoint answered HTTP 429", Duration.ofSeconds(42)), NOW);
      assertThat(c.schedule().nextPollAt()).isEqualTo(NOW.plusSeconds(42));
      assertThat(c.schedule().failures()).isEqualTo(4);
      assertThat(c.message()).contains("resumes in 42s");
    }

    @Test
    void doublesFromTheIntervalUpToTheCap() {
      assertThat(DeviceFlow.backoff(INTERVAL, 1)).isEqualTo(Duration.ofSeconds(5));
      assertThat(DeviceFlow.backoff(INTERVAL, 2)).isEqualTo(Duration.ofSeconds(10));
      assertThat(DeviceFlow.backoff(INTERVAL, 3)).isEqualTo(Duration.ofSeconds(20));
      assertThat(DeviceFlow.backoff(INTERVAL, 4)).isEqualTo(Duration.ofSeconds(40));
      assertThat(DeviceFlow.backoff(INTERVAL, 5)).isEqualTo(Duration.ofSeconds(80));
      assertThat(DeviceFlow.backoff(INTERVAL, 6)).isEqualTo(DeviceFlow.MAX_BACKOFF);
      assertThat(DeviceFlow.backoff(INTERVAL, 1_000)).isEqualTo(DeviceFlow.MAX_BACKOFF);
      assertThat(DeviceFlow.backoff(INTERVAL, Integer.MAX_VALUE)).isEqualTo(DeviceFlow.MAX_BACKOFF);
    }

    @Test
    void neverBelowTheInterval() {
      assertThat(DeviceFlow.backoff(INTERVAL, 0)).isEqualTo(INTERVAL);
      for (int seconds = 1; seconds <= 200; seconds += 7) {
        Duration interval = Duration.ofSeconds(seconds);
        for (int failures = 0; failures < 20; failures++) {
          Duration delay = DeviceFlow.backoff(interval, failures);
          assertThat(delay).isGreaterThanOrEqualTo(interval);
          assertThat(delay).isLessThanOrEqualTo(interval.compareTo(DeviceFlow.MAX_BACKOFF) > 0
              ? interval : DeviceFlow.MAX_BACKOFF);
        }
      }
    }

    @Test
    void isMonotonicInTheFailureCount() {
      Duration interval = Duration.ofSeconds(7);
      Duration previous = Duration.ZERO;
      for (int failures = 1; failures < 30; failures++) {
        Duration delay = DeviceFlow.backoff(interval, failures);
        assertThat(delay).isGreaterThanOrEqualTo(previous);
        previous = delay;
      }
    }

    @Test
    void anIntervalLargerThanTheCapStaysTheInterval() {
      Duration interval = DeviceFlow.MAX_BACKOFF.plusSeconds(60);
      assertThat(DeviceFlow.backoff(interval, 1)).isEqualTo(interval);
      assertThat(DeviceFlow.backoff(interval, 5)).isEqualTo(interval);
      assertThat(DeviceFlow.backoff(DeviceFlow.MAX_BACKOFF, 3)).isEqualTo(DeviceFlow.MAX_BACKOFF);
    }

    @Test
    void unavailableWithAnIntervalLargerThanTheCapWaitsTheInterval() {
      Duration interval = Duration.ofMinutes(5);
      Grant g = grant(interval, NOW.plus(Duration.ofHours(1)));
      Step.Continue c = (Step.Continue) DeviceFlow.afterPoll(
          g, new PollSchedule(NOW, 6), new TokenPollResult.Unavailable("timeout"), NOW);
      assertThat(c.schedule()).isEqualTo(new PollSchedule(NOW.plus(interval), 7));
    }
  }

  /**
   * Drives the flow like the reconciler does, with random poll results, and checks the RFC 8628 rules: no poll
   * sooner than the current interval after the previous one, and no device code in any message.
   */
  @Test
  void randomPollSequencesNeverPollFasterThanTheIntervalNorLeakTheDeviceCode() {
    Random random = new Random(8628);
    int polls = 0;
    for (int run = 0; run < 500; run++) {
      Duration startInterval = Duration.ofSeconds(1 + random.nextInt(30));
      Grant g = grant(startInterval, NOW.plusSeconds(300 + random.nextInt(3600)));
      PollSchedule schedule = PollSchedule.firstPollAfter(NOW, g.interval());
      Instant now = NOW;
      Instant lastPoll = NOW; // the grant was started at NOW: RFC 8628 counts from the authorization response
      for (int round = 0; round < 200; round++) {
        Step before = DeviceFlow.beforePoll(g, schedule, now);
        assertMessageIsClean(before);
        if (before instanceof Step.End end) {
          assertThat(end.phase()).isEqualTo(Phase.Expired);
          assertThat(now).isAfterOrEqualTo(g.expiresAt());
          break;
        }
        if (before instanceof Step.Wait wait) {
          assertThat(wait.delay()).isPositive();
          // the reconciler may be woken early by an unrelated event, or late
          now = random.nextInt(4) == 0
              ? now.plusMillis(1 + random.nextInt((int) Math.max(1, wait.delay().toMillis())))
              : now.plus(wait.delay()).plusMillis(random.nextInt(3) == 0 ? random.nextInt(2000) : 0);
          continue;
        }
        assertThat(before).isInstanceOf(Step.Poll.class);
        assertThat(Duration.between(lastPoll, now))
            .as("time since the previous poll in run %d round %d", run, round)
            .isGreaterThanOrEqualTo(g.interval());
        lastPoll = now;
        polls++;
        TokenPollResult result = randomResult(random);
        Step after = DeviceFlow.afterPoll(g, schedule, result, now);
        assertMessageIsClean(after);
        if (after instanceof Step.Continue c) {
          assertThat(c.grant().interval()).isGreaterThanOrEqualTo(g.interval());
          assertThat(c.grant().deviceCode()).isEqualTo(DEVICE_CODE);
          assertThat(Duration.between(now, c.schedule().nextPollAt())).isGreaterThanOrEqualTo(c.grant().interval());
          g = c.grant();
          schedule = c.schedule();
          continue;
        }
        break; // End or Issued: the flow is over
      }
    }
    assertThat(polls).as("the loop must actually poll").isGreaterThan(2_000);
  }

  private static TokenPollResult randomResult(Random random) {
    int r = random.nextInt(100);
    if (r < 55) {
      return new TokenPollResult.Pending();
    }
    if (r < 75) {
      return new TokenPollResult.SlowDown();
    }
    if (r < 95) {
      return new TokenPollResult.Unavailable("HTTP " + (500 + random.nextInt(5)));
    }
    return switch (random.nextInt(4)) {
      case 0 -> new TokenPollResult.AccessDenied();
      case 1 -> new TokenPollResult.ExpiredToken();
      case 2 -> new TokenPollResult.Invalid("unexpected error code");
      default -> new TokenPollResult.Issued(
          new IssuedTokens("id", "access", null, NOW.plusSeconds(300), NOW, Map.of()));
    };
  }

  private static void assertMessageIsClean(Step step) {
    String message = step instanceof Step.Continue c ? c.message() : step instanceof Step.End e ? e.message() : "";
    assertThat(message).doesNotContain(DEVICE_CODE);
    assertThat(step.toString()).doesNotContain(DEVICE_CODE);
  }
}
