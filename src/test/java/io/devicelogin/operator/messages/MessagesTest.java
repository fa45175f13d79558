package io.devicelogin.operator.messages;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MessagesTest {

  @Test
  void textFromTheIdpHasTokenLikeRunsMasked() {
    String echoed = "Invalid device code GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS for client cli";
    assertThat(Messages.fromIdp(echoed)).isEqualTo("Invalid device code [redacted] for client cli")
        .doesNotContain("GmRhmhcxhwAzkoEqiMEg");
    assertThat(Messages.fromIdp("Client authentication failed")).isEqualTo("Client authentication failed");
  }

  @Test
  void textFromTheIdpIsBounded() {
    assertThat(Messages.fromIdp("word ".repeat(100))).hasSize(201).endsWith("…");
  }

  @Test
  void textFromTheIdpCannotForgeLogLinesOrHideInATerminal() {
    String hostile = "bad request\n2026-01-01 INFO forged line\r\n\u001b[31mred\u001b[0m \u202eevil\u2028x\tend";
    String safe = Messages.fromIdp(hostile);
    assertThat(safe).isEqualTo("bad request 2026-01-01 INFO forged line [31mred [0m  evil x end");
    assertThat(safe.chars()).noneMatch(c -> Character.isISOControl(c) || Character.getType(c) == Character.FORMAT);
  }

  @Test
  void tenKilobytesOfIdpTextShrinkToTheBound() {
    String huge = "line\n".repeat(2048);
    assertThat(Messages.fromIdp(huge)).hasSize(Messages.MAX_IDP_TEXT + 1).doesNotContain("\n");
    assertThat(Messages.fromIdp(null)).isEmpty();
  }

  @Test
  void aTokenLongerThanTheBoundIsMaskedBeforeTheTextIsCut() {
    String text = "x ".repeat(90) + "A".repeat(500);
    assertThat(Messages.fromIdp(text)).endsWith("[redacted]").doesNotContain("AAAA");
  }

  @Test
  void capitalizeLeavesEmptyAndNullAlone() {
    assertThat(Messages.capitalize("the IdP")).isEqualTo("The IdP");
    assertThat(Messages.capitalize("")).isEmpty();
    assertThat(Messages.capitalize(null)).isNull();
  }
}
