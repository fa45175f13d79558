package io.devicelogin.operator.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PercentilesTest {

  @Test
  void nearestRankOfOneToHundred() {
    Percentiles p = new Percentiles(IntStream.iterate(100, i -> i >= 1, i -> i - 1).boxed().toList());
    assertThat(p.at(50)).isEqualTo(50);
    assertThat(p.at(99)).isEqualTo(99);
    assertThat(p.at(100)).isEqualTo(100);
    assertThat(p.at(0.1)).isEqualTo(1);
    assertThat(p.max()).isEqualTo(100);
    assertThat(p.mean()).isEqualTo(50.5);
  }

  @Test
  void smallSamplesRoundUp() {
    Percentiles p = new Percentiles(List.of(3.0, 1.0, 2.0));
    assertThat(p.at(50)).isEqualTo(2);
    assertThat(p.at(99)).isEqualTo(3);
    assertThat(new Percentiles(List.of(7)).at(1)).isEqualTo(7);
  }

  @Test
  void emptySampleIsNaNAndBadPercentileIsRefused() {
    assertThat(new Percentiles(List.<Double>of()).at(50)).isNaN();
    assertThatThrownBy(() -> new Percentiles(List.of(1)).at(0)).isInstanceOf(IllegalArgumentException.class);
  }
}
