package io.devicelogin.operator.flow;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.callback.Receipt;
import io.devicelogin.operator.idp.RedirectResponse;
import io.devicelogin.operator.idp.TokenPollResult;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CodeFlowTest {

  static final Instant NOW = Instant.parse("2026-03-01T10:00:00Z");
  static final String ISSUER = "https://idp.example/realms/corp";
  static final String VERIFIER = "verifier-s3cr3t-" + "v".repeat(40);
  static final String CODE = "CODE-s3cr3t-Gm4xQz";
  static final String STATE = CodeFlow.newState("team-a", "alice");

  static CodeGrant grant(boolean issRequired) {
    return new CodeGrant("grant-1", 2, null, ISSUER, "cli", URI.create("http://localhost:8000/"), STATE, "nonce-1",
        VERIFIER, URI.create(ISSUER + "/auth?state=" + STATE), NOW.plus(CodeFlow.STATE_LIFETIME), issRequired, null,
        false);
  }

  @Nested
  class States {

    @Test
    void aStateNamesItsLoginEvenWithDotsInTheName() {
      for (String name : new String[] {"alice", "my.login.v2", "a", "x".repeat(253), "a-b.c-d"}) {
        String state = CodeFlow.newState("team-a", name);
        assertThat(CodeFlow.target(state)).as(name).contains(new CodeFlow.Target("team-a", name));
      }
    }

    @Test
    void theRandomPartIs256BitsAndNeverRepeats() {
      Set<String> seen = new HashSet<>();
      for (int i = 0; i < 1000; i++) {
        String state = CodeFlow.newState("ns", "dl");
        assertThat(state.substring("ns.dl.".length())).matches("[A-Za-z0-9_-]{43}");
        assertThat(seen.add(state)).isTrue();
      }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ".", "..", "ns.name", "ns..RANDOM", "NS.name.RANDOM", "ns.Name.RANDOM",
        ".name.RANDOM", "ns.name.", "ns.name.RANDOM.", "ns.-name.RANDOM", "ns.name-.RANDOM", "-ns.name.RANDOM",
        "ns/x.name.RANDOM", "ns.name.SHORT", "ns.name.RANDOM=", "ns.name.RANDOMx", "ns.na me.RANDOM",
        "ns.name.RAND+M"})
    void malformedStatesNameNoLogin(String shape) {
      String random = "A".repeat(43);
      String state = shape.replace("RANDOM", random).replace("RAND+M", random.substring(0, 42) + "+")
          .replace("SHORT", random.substring(1));
      assertThat(CodeFlow.target(state)).as(state).isEmpty();
    }

    @Test
    void tooLongNamesAndNullNameNoLogin() {
      String random = "A".repeat(43);
      assertThat(CodeFlow.target(null)).isEmpty();
      assertThat(CodeFlow.target("n".repeat(64) + ".name." + random)).as("namespace over 63").isEmpty();
      assertThat(CodeFlow.target("n".repeat(63) + ".name." + random)).isPresent();
      assertThat(CodeFlow.target("ns." + "x".repeat(254) + "." + random)).as("name over 253").isEmpty();
    }
  }

  @Nested
  class Judge {

    @Test
    void aCodeWithTheGrantsStateAndIssIsAcceptedOnce() {
      CodeGrant grant = grant(true);
      CodeFlow.Verdict verdict = CodeFlow.judge(grant, new RedirectResponse.Code(CODE, STATE, ISSUER), NOW);

      assertThat(verdict).isInstanceOf(CodeFlow.Verdict.Accept.class);
      CodeFlow.Verdict.Accept accept = (CodeFlow.Verdict.Accept) verdict;
      assertThat(accept.receipt()).isEqualTo(Receipt.ACCEPTED);
      assertThat(accept.grant().code()).isEqualTo(CODE);
      assertThat(accept.grant().exchanging()).isFalse();

      CodeFlow.Verdict again = CodeFlow.judge(accept.grant(), new RedirectResponse.Code("other", STATE, ISSUER), NOW);
      assertRefused(again, Receipt.UNKNOWN_STATE, "already used");
      assertRefused(CodeFlow.judge(accept.grant().exchangeStarted().withResponse(null),
          new RedirectResponse.Code(CODE, STATE, ISSUER), NOW), Receipt.UNKNOWN_STATE, "already used");
    }

    @Test
    void anErrorResponseIsRecordedLikeACode() {
      CodeFlow.Verdict verdict = CodeFlow.judge(grant(true),
          new RedirectResponse.Error("access_denied", "no", STATE, ISSUER), NOW);
      assertThat(((CodeFlow.Verdict.Accept) verdict).receipt()).isEqualTo(Receipt.ERROR_RECORDED);
      assertThat(((CodeFlow.Verdict.Accept) verdict).grant().response()).isInstanceOf(RedirectResponse.Error.class);
    }

    @Test
    void anotherStateIsRefusedWhateverItsShape() {
      CodeGrant grant = grant(false);
      String other = CodeFlow.newState("team-a", "alice");
      assertRefused(CodeFlow.judge(grant, new RedirectResponse.Code(CODE, other, ISSUER), NOW),
          Receipt.UNKNOWN_STATE, "not the one of this login's authorization URL");
      assertRefused(CodeFlow.judge(grant, new RedirectResponse.Code(CODE, STATE.substring(1), ISSUER), NOW),
          Receipt.UNKNOWN_STATE, "not the one");
      assertRefused(CodeFlow.judge(grant, new RedirectResponse.Code(CODE, STATE + "x", ISSUER), NOW),
          Receipt.UNKNOWN_STATE, "not the one");
      assertRefused(CodeFlow.judge(grant, new RedirectResponse.Error("access_denied", null, null, ISSUER), NOW),
          Receipt.UNKNOWN_STATE, "not the one");
    }

    @Test
    void aStateIsRefusedFromItsExpiry() {
      CodeGrant grant = grant(false);
      assertThat(CodeFlow.judge(grant, new RedirectResponse.Code(CODE, STATE, null),
          grant.expiresAt().minusMillis(1))).isInstanceOf(CodeFlow.Verdict.Accept.class);
      assertRefused(CodeFlow.judge(grant, new RedirectResponse.Code(CODE, STATE, null), grant.expiresAt()),
          Receipt.UNKNOWN_STATE, "expired at " + grant.expiresAt());
    }

    @Test
    void issIsCheckedWhenSentAndRequiredWhenTheIdpSaysItSendsIt() {
      RedirectResponse.Code without = new RedirectResponse.Code(CODE, STATE, null);
      assertRefused(CodeFlow.judge(grant(true), without, NOW), Receipt.REFUSED, "has no iss parameter");
      assertThat(CodeFlow.judge(grant(false), without, NOW)).isInstanceOf(CodeFlow.Verdict.Accept.class);
      for (String wrong : new String[] {ISSUER + "/", ISSUER + "-other", "https://evil.example/realms/corp", ""}) {
        assertRefused(CodeFlow.judge(grant(false), new RedirectResponse.Code(CODE, STATE, wrong), NOW),
            Receipt.REFUSED, "names another issuer");
      }
    }

    @Test
    void unreadableResponsesAreRefusedWithTheirFixedReason() {
      assertRefused(CodeFlow.judge(grant(true), new RedirectResponse.Unreadable("it has no state parameter"), NOW),
          Receipt.UNREADABLE, "it has no state parameter");
    }

    @Test
    void refusalsNeverQuoteTheCode() {
      for (CodeFlow.Verdict verdict : new CodeFlow.Verdict[] {
          CodeFlow.judge(grant(true), new RedirectResponse.Code(CODE, STATE, null), NOW),
          CodeFlow.judge(grant(true), new RedirectResponse.Code(CODE, STATE, "https://evil.example"), NOW),
          CodeFlow.judge(grant(true), new RedirectResponse.Code(CODE, "x", ISSUER), NOW)}) {
        assertThat(((CodeFlow.Verdict.Refuse) verdict).message()).doesNotContain(CODE).doesNotContain(VERIFIER);
      }
    }

    @Test
    void theStateIsComparedInConstantTime() throws Exception {
      // timing is not observable in a unit test; the comparison is required to be MessageDigest.isEqual
      String source = Files.readString(Path.of("src/main/java/io/devicelogin/operator/flow/CodeFlow.java"));
      String judge = source.substring(source.indexOf("public static Verdict judge("));
      judge = judge.substring(0, judge.indexOf("\n  }\n"));
      assertThat(judge).contains("MessageDigest.isEqual(").doesNotContain(".equals(grant.state())")
          .doesNotContain("state.equals(");
    }

    private static void assertRefused(CodeFlow.Verdict verdict, Receipt receipt, String message) {
      assertThat(verdict).isInstanceOf(CodeFlow.Verdict.Refuse.class);
      CodeFlow.Verdict.Refuse refuse = (CodeFlow.Verdict.Refuse) verdict;
      assertThat(refuse.receipt()).isEqualTo(receipt);
      assertThat(refuse.message()).startsWith("A response was refused").contains(message);
    }
  }

  @Nested
  class Ends {

    @Test
    void accessDeniedIsDeniedAndOtherErrorsFailWithTheirDescription() {
      Step.End denied = CodeFlow.refused(new RedirectResponse.Error("access_denied", "User said no", STATE, ISSUER));
      assertThat(denied.phase()).isEqualTo(Phase.Denied);
      assertThat(denied.reason()).isEqualTo(Reason.AccessDenied);
      assertThat(denied.message()).contains("access_denied (User said no)").contains("devicelogin.io/restart");

      Step.End failed = CodeFlow.refused(new RedirectResponse.Error("invalid_scope", null, STATE, ISSUER));
      assertThat(failed.phase()).isEqualTo(Phase.Failed);
      assertThat(failed.reason()).isEqualTo(Reason.InvalidTokenResponse);
      assertThat(failed.message()).contains("invalid_scope; no tokens were issued");
    }

    @Test
    void exchangeFailuresSayWhatHappenedAndThatTheCodeIsNotSentAgain() {
      Step.End unavailable = CodeFlow.exchangeFailed(new TokenPollResult.Unavailable("token endpoint answered HTTP "
          + "503"));
      assertThat(unavailable.phase()).isEqualTo(Phase.Failed);
      assertThat(unavailable.reason()).isEqualTo(Reason.IdPUnavailable);
      assertThat(unavailable.message()).contains("HTTP 503").contains("not sent again").contains("restart");

      Step.End invalid = CodeFlow.exchangeFailed(new TokenPollResult.Invalid("the ID token was rejected: nonce"));
      assertThat(invalid.reason()).isEqualTo(Reason.InvalidTokenResponse);
      assertThat(invalid.message()).startsWith("The ID token was rejected").contains("No Secret was written");

      assertThat(CodeFlow.exchangeFailed(new TokenPollResult.AccessDenied()).phase()).isEqualTo(Phase.Denied);
      assertThat(CodeFlow.exchangeFailed(new TokenPollResult.Pending()).message()).contains("device grant answer");
    }

    @Test
    void interruptedAndExpired() {
      Step.End interrupted = CodeFlow.interrupted();
      assertThat(interrupted.reason()).isEqualTo(Reason.CodeExchangeInterrupted);
      assertThat(interrupted.message()).contains("not sent again").contains("devicelogin.io/restart");
      CodeGrant grant = grant(true);
      Step.End expired = CodeFlow.expired(grant);
      assertThat(expired.phase()).isEqualTo(Phase.Expired);
      assertThat(expired.reason()).isEqualTo(Reason.ExpiredToken);
      assertThat(expired.message()).contains(grant.expiresAt().toString());
    }

    @Test
    void theWaitingMessageNamesTheRedirectUriAndTheChannelsButNoSecret() {
      CodeGrant grant = grant(true);
      assertThat(CodeFlow.waitingMessage(grant)).contains("status.authorizationUrl").contains("http://localhost:8000/")
          .contains("devicelogin.io/authorization-response").doesNotContain(VERIFIER);
      CodeGrant answered = grant.withResponse(new RedirectResponse.Code(CODE, STATE, ISSUER)).exchangeStarted();
      assertThat(answered.toString()).doesNotContain(CODE).doesNotContain(VERIFIER).contains("exchanging=true");
      assertThat(answered.expiresAt()).isEqualTo(NOW.plus(Duration.ofMinutes(10)));
    }
  }
}
