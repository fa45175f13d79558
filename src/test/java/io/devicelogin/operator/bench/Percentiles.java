package io.devicelogin.operator.bench;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Collection;

/** Nearest-rank percentiles of a sample (the smallest value with at least p% of the sample at or below it). */
final class Percentiles implements Serializable {

  private final double[] sorted;

  Percentiles(Collection<? extends Number> values) {
    sorted = values.stream().mapToDouble(Number::doubleValue).sorted().toArray();
  }

  int count() {
    return sorted.length;
  }

  /** The {@code p}th percentile, 0 &lt; p &le; 100; NaN for an empty sample. */
  double at(double p) {
    if (p <= 0 || p > 100) {
      throw new IllegalArgumentException("percentile must be in (0, 100]: " + p);
    }
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int rank = (int) Math.ceil(p / 100 * sorted.length);
    return sorted[Math.max(rank, 1) - 1];
  }

  double max() {
    return sorted.length == 0 ? Double.NaN : sorted[sorted.length - 1];
  }

  double mean() {
    return sorted.length == 0 ? Double.NaN : Arrays.stream(sorted).average().orElseThrow();
  }
}
