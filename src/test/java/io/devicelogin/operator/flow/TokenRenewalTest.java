package io.devicelogin.operator.flow;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.idp.TokenRefreshResult;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class TokenRenewalTest {

  private static final Instant ISSUED = Instant.parse("2026-01-01T10:00:00Z");
  private static final Instant EXPIRY = ISSUED.plus(Duration.ofMinutes(30));

  @Test
  void renewalDefaultsToOneThirdOfTheLifetimeBeforeExpiry() {
    assertThat(TokenRenewal.renewalTime(ISSUED, EXPIRY, null)).isEqualTo(EXPIRY.minus(Duration.ofMinutes(10)));
  }

  @Test
  void renewBeforeIsHonouredButNeverBeforeTheTokenWasIssued() {
    assertThat(TokenRenewal.renewalTime(ISSUED, EXPIRY, Duration.ofMinutes(5)))
        .isEqualTo(EXPIRY.minus(Duration.ofMinutes(5)));
    assertThat(TokenRenewal.renewalTime(ISSUED, EXPIRY, Duration.ofHours(2))).isEqualTo(ISSUED);
    assertThat(TokenRenewal.renewalTime(EXPIRY, ISSUED, null)).as("a token that expired before it was issued")
        .isEqualTo(ISSUED);
  }

  @Test
  void decideWaitsRefreshesOrEnds() {
    Instant renewal = EXPIRY.minus(Duration.ofMinutes(10));
    assertThat(TokenRenewal.decide(ISSUED, EXPIRY, renewal, true))
        .isEqualTo(new TokenRenewal.Decision.Wait(Duration.ofMinutes(20)));
    assertThat(TokenRenewal.decide(renewal, EXPIRY, renewal, true)).isInstanceOf(TokenRenewal.Decision.Refresh.class);
    assertThat(TokenRenewal.decide(ISSUED, EXPIRY, renewal, false))
        .as("without a refresh token only the expiry matters")
        .isEqualTo(new TokenRenewal.Decision.Wait(Duration.ofMinutes(30)));

    TokenRenewal.Decision.End failed = (TokenRenewal.Decision.End) TokenRenewal.decide(EXPIRY, EXPIRY, renewal, true);
    assertThat(failed.phase()).isEqualTo(Phase.Expired);
    assertThat(failed.reason()).isEqualTo(Reason.RefreshFailed);
    TokenRenewal.Decision.End expired =
        (TokenRenewal.Decision.End) TokenRenewal.decide(EXPIRY.plusSeconds(1), EXPIRY, renewal, false);
    assertThat(expired.reason()).isEqualTo(Reason.ExpiredToken);
    assertThat(expired.message()).contains("devicelogin.io/restart");
  }

  @Test
  void retriesBackOffAndNeverPassTheExpiry() {
    Instant now = ISSUED;
    assertThat(TokenRenewal.retryAt(now, 1, EXPIRY, null)).isEqualTo(now.plusSeconds(10));
    assertThat(TokenRenewal.retryAt(now, 2, EXPIRY, null)).isEqualTo(now.plusSeconds(20));
    assertThat(TokenRenewal.retryAt(now, 4, EXPIRY, null)).isEqualTo(now.plusSeconds(80));
    assertThat(TokenRenewal.retryAt(now, 20, EXPIRY, null)).isEqualTo(now.plus(TokenRenewal.MAX_RETRY));
    assertThat(TokenRenewal.retryAt(EXPIRY.minusSeconds(3), 1, EXPIRY, null)).isEqualTo(EXPIRY);
    // Retry-After replaces the back-off, within [FIRST_RETRY, MAX_RETRY]
    assertThat(TokenRenewal.retryAt(now, 4, EXPIRY, Duration.ofSeconds(30))).isEqualTo(now.plusSeconds(30));
    assertThat(TokenRenewal.retryAt(now, 1, EXPIRY, Duration.ZERO)).isEqualTo(now.plus(TokenRenewal.FIRST_RETRY));
    assertThat(TokenRenewal.retryAt(now, 1, EXPIRY, Duration.ofDays(1))).isEqualTo(now.plus(TokenRenewal.MAX_RETRY));
  }

  @Test
  void refusedRefreshesEndExpiredWithTheCause() {
    TokenRenewal.Decision.End rejected =
        TokenRenewal.refused(new TokenRefreshResult.Rejected("the IdP refused the refresh token: invalid_grant"));
    assertThat(rejected.phase()).isEqualTo(Phase.Expired);
    assertThat(rejected.reason()).isEqualTo(Reason.RefreshFailed);
    assertThat(rejected.message()).startsWith("The IdP refused the refresh token: invalid_grant");
    TokenRenewal.Decision.End invalid =
        TokenRenewal.refused(new TokenRefreshResult.Invalid("the ID token was rejected: bad signature"));
    assertThat(invalid.message()).contains("bad signature").contains("stopped refreshing");
  }

  @Test
  void anInterruptedRefreshWaitsForTheExpiryThenEndsExpiredSayingWhy() {
    String started = "2026-01-01T10:19:58Z";
    Instant now = EXPIRY.minus(Duration.ofMinutes(9));
    assertThat(TokenRenewal.afterInterruptedRefresh(now, EXPIRY, "oidc-alice", started))
        .as("the refresh token is not presented again; the ID token stays usable until it expires")
        .isEqualTo(new TokenRenewal.Decision.Wait(Duration.ofMinutes(9)));

    String waiting = TokenRenewal.interruptedMessage("oidc-alice", started, EXPIRY);
    assertThat(waiting).contains("Secret oidc-alice").contains("interrupted").contains("started at " + started)
        .contains("not used again").contains("valid until " + EXPIRY).contains("devicelogin.io/restart");

    for (Instant at : List.of(EXPIRY, EXPIRY.plusSeconds(1))) {
      TokenRenewal.Decision.End end =
          (TokenRenewal.Decision.End) TokenRenewal.afterInterruptedRefresh(at, EXPIRY, "oidc-alice", started);
      assertThat(end.phase()).isEqualTo(Phase.Expired);
      assertThat(end.reason()).as("a reason the contract lists").isEqualTo(Reason.RefreshFailed);
      assertThat(end.message()).contains("interrupted").contains("expired at " + EXPIRY)
          .contains("devicelogin.io/restart");
    }
  }

  @Test
  void aHandEditedRefreshMarkIsNotEchoed() {
    String garbage = "x".repeat(5_000);
    assertThat(TokenRenewal.interruptedMessage("oidc-alice", garbage, EXPIRY))
        .contains("started at an unknown time").doesNotContain("xxxx").hasSizeLessThan(600);
    TokenRenewal.Decision.End end =
        (TokenRenewal.Decision.End) TokenRenewal.afterInterruptedRefresh(EXPIRY, EXPIRY, "oidc-alice", garbage);
    assertThat(end.message()).contains("unknown time").doesNotContain("xxxx");
  }
}
