package io.devicelogin.operator.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class BenchmarkReportTest {

  private static Benchmark.Run run(String impl, int size, boolean fresh, int completed, Map<String, Long> requests) {
    return new Benchmark.Run(impl, size, fresh, completed, new Percentiles(List.of(100, 200)),
        new Percentiles(List.of(0.5)), 2.5, 2.5, 0, 0, 5000, 5000, new Percentiles(List.of(0.01)), 2L * completed,
        2L * completed, RequestMix.of(requests), new TreeMap<>(requests), Map.of("POST devicelogins", (long) size),
        new JvmSampler.Result(1, 1, 1, 1, 1, 1, 1, Map.of(), 1), 0, 0, 0, 1);
  }

  @Test
  void requestsPerCompletedLoginInASecondTableAndFreshRunsNamedInTheCommand() {
    String report = Benchmark.report(List.of(
        run("operator", 200, true, 200, Map.of("GET secrets", 400L, "LIST secrets", 2L, "WATCH secrets", 2L,
            "POST secrets", 400L, "PATCH devicelogins/status", 400L, "POST events", 400L)),
        run("naive", 1000, false, 500, Map.of("LIST devicelogins", 1L, "WATCH devicelogins", 1L,
            "POST secrets", 500L, "PATCH devicelogins/status", 1000L))),
        Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofSeconds(20));

    assertThat(report).contains("-Dbench.sizes=1000 -Dbench.fresh=200`");
    // all = (400 + 2 + 2 + 400 + 400 + 400) / 200; the old "all API writes" column counts Events too: 1,200 / 200
    assertThat(report).contains("| operator, fresh start | 200 | 200 | 8.02 | 2.01: 2.00 + 0.01 | 4.00 | 2.00 | 0.01 (2) |");
    assertThat(report).contains("| 4.00 | 6.00 |");
    // per completed login, not per login created
    assertThat(report).contains("| naive | 1,000 | 500 | 3.00 | 0.00: 0.00 + 0.00 | 3.00 | 0.00 | 0.00 (1) |");
    assertThat(report).contains("- naive, 1000: {LIST devicelogins=1, PATCH devicelogins/status=1000, "
        + "POST secrets=500, WATCH devicelogins=1}; benchmark: {POST devicelogins=1000}");
  }

  @Test
  void withoutAFreshRunTheCommandSaysSo() {
    assertThat(Benchmark.report(List.of(run("naive", 100, false, 100, Map.of())), Duration.ofSeconds(5),
        Duration.ofSeconds(1), Duration.ofSeconds(20))).contains("-Dbench.sizes=100 -Dbench.fresh=0`");
  }
}
