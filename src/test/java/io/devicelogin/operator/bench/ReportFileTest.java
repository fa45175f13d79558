package io.devicelogin.operator.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ReportFileTest {

  @Test
  void newFileGetsATitleAndTheMarkedResults() {
    assertThat(ReportFile.merge(null, "table\n"))
        .isEqualTo("# Benchmarks\n\n" + ReportFile.START + "\ntable\n" + ReportFile.END + "\n");
  }

  @Test
  void replacesOnlyWhatIsBetweenTheMarkers() {
    String before = "intro\n" + ReportFile.START + "\nold\n" + ReportFile.END + "\nanalysis\n";
    assertThat(ReportFile.merge(before, "new"))
        .isEqualTo("intro\n" + ReportFile.START + "\nnew\n" + ReportFile.END + "\nanalysis\n");
  }

  @Test
  void appendsTheResultsWhenThereAreNoMarkers() {
    assertThat(ReportFile.merge("hand-written\n", "new"))
        .isEqualTo("hand-written\n\n" + ReportFile.START + "\nnew\n" + ReportFile.END + "\n");
  }
}
