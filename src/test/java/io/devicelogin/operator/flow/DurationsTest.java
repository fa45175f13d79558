package io.devicelogin.operator.flow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {

  @Test
  void parsesTheFormsKubernetesUsersWrite() {
    assertThat(Durations.parse("90s")).isEqualTo(Duration.ofSeconds(90));
    assertThat(Durations.parse("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Durations.parse("1h30m")).isEqualTo(Duration.ofMinutes(90));
    assertThat(Durations.parse("1.5h")).isEqualTo(Duration.ofMinutes(90));
    assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Durations.parse("1m30s250ms")).isEqualTo(Duration.ofMillis(90_250));
  }

  @Test
  void refusesWhatIsNotADurationOrIsAbsurd() {
    for (String bad : new String[] {"", "90", "5 m", "-5m", "1d", "m5", "1h-30m", null}) {
      assertThatThrownBy(() -> Durations.parse(bad)).as("'%s'", bad)
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("90s, 5m, 1h30m");
    }
    assertThatThrownBy(() -> Durations.parse("99999999999999h")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("longer than 366 days");
  }
}
