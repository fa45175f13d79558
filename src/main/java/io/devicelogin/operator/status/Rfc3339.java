package io.devicelogin.operator.status;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** RFC 3339 timestamps in UTC, to the second, as Kubernetes writes them. */
public final class Rfc3339 {

  private Rfc3339() {}

  public static String format(Instant instant) {
    return instant == null ? null : instant.truncatedTo(ChronoUnit.SECONDS).toString();
  }

  public static Instant parse(String value) {
    return value == null ? null : Instant.parse(value);
  }
}
