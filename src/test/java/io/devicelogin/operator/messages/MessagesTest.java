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
  void capitalizeLeavesEmptyAndNullAlone() {
    assertThat(Messages.capitalize("the IdP")).isEqualTo("The IdP");
    assertThat(Messages.capitalize("")).isEmpty();
    assertThat(Messages.capitalize(null)).isNull();
  }
}
