package io.devicelogin.operator.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.bench.Benchmark.Start;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class BenchmarkReportTest {

  private static Benchmark.Run run(String impl, int size, Start start, int completed, Map<String, Long> requests) {
    return new Benchmark.Run(impl, size, start, completed, new Percentiles(List.of(100, 200)),
        new Percentiles(List.of(0.5)), 2.5, 2.5, 0, 0, 5000, 5000, new Percentiles(List.of(0.01)), 2L * completed,
        2L * completed, RequestMix.of(requests), new TreeMap<>(requests), Map.of("POST devicelogins", (long) size),
        new JvmSampler.Result(1, 1, 1, 1, 1, 1, 1, Map.of(), 1), 0, 0, 0, 1);
  }

  private static String report(Benchmark.Run... runs) {
    return Benchmark.report(List.of(runs), Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofSeconds(20));
  }

  @Test
  void requestsPerCompletedLoginInASecondTable() {
    String report = report(
        run("operator", 200, Start.FRESH_NEW_JVM, 200, Map.of("GET secrets", 400L, "LIST secrets", 2L,
            "WATCH secrets", 2L, "POST secrets", 400L, "PATCH devicelogins/status", 400L, "POST events", 400L)),
        run("naive", 1000, Start.PROVIDER_READY, 500, Map.of("LIST devicelogins", 1L, "WATCH devicelogins", 1L,
            "POST secrets", 500L, "PATCH devicelogins/status", 1000L)));

    // all = (400 + 2 + 2 + 400 + 400 + 400) / 200
    assertThat(report).contains(
        "| operator, fresh start, new JVM | 200 | 200 | 8.02 | 2.01: 2.00 + 0.01 | 4.00 | 2.00 | 0.01 (2) |");
    // the first table's columns keep their meaning: status + Secret writes, and all writes with the Events
    assertThat(report).contains("| 4.00 | 6.00 |");
    // per completed login, not per login created
    assertThat(report).contains("| naive | 1,000 | 500 | 3.00 | 0.00: 0.00 + 0.00 | 3.00 | 0.00 | 0.00 (1) |");
    assertThat(report).contains("- naive, 1000: {LIST devicelogins=1, PATCH devicelogins/status=1000, "
        + "POST secrets=500, WATCH devicelogins=1}; benchmark: {POST devicelogins=1000}");
  }

  @Test
  void theHeaderNamesTheSettingsThatRan() {
    assertThat(Benchmark.settings(List.of(run("operator", 200, Start.FRESH_NEW_JVM, 200, Map.of()),
        run("operator", 100, Start.PROVIDER_READY, 100, Map.of()),
        run("operator", 1000, Start.PROVIDER_READY, 100, Map.of()),
        run("naive", 1000, Start.PROVIDER_READY, 100, Map.of()),
        run("operator", 200, Start.FRESH_WARM_JVM, 200, Map.of()))))
        .isEqualTo("-Dbench.sizes=100,1000 -Dbench.fresh=200 -Dbench.freshJvm=new,warm");
    assertThat(report(run("naive", 100, Start.PROVIDER_READY, 100, Map.of())))
        .contains("`mvn -B -Pbench test-compile exec:java -Dbench.sizes=100 -Dbench.fresh=0`");
  }
}
