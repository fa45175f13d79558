package io.devicelogin.operator.flow;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Duration strings as Kubernetes users write them: {@code 90s}, {@code 5m}, {@code 1h30m}, {@code 1.5h}, {@code 500ms}. */
public final class Durations {

  private static final Pattern WHOLE = Pattern.compile("^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$");
  private static final Pattern PART = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)(ms|s|m|h)");

  /** Longest duration accepted: longer ones are surely a mistake (and would overflow). */
  public static final Duration MAX = Duration.ofDays(366);

  private Durations() {}

  /** Parses {@code value}; throws IllegalArgumentException with a message naming the accepted forms. */
  public static Duration parse(String value) {
    if (value == null || !WHOLE.matcher(value).matches()) {
      throw new IllegalArgumentException(
          "'" + value + "' is not a duration; use a number with a unit, such as 90s, 5m, 1h30m or 500ms");
    }
    BigDecimal millis = BigDecimal.ZERO;
    Matcher part = PART.matcher(value);
    while (part.find()) {
      BigDecimal amount = new BigDecimal(part.group(1));
      long unit = switch (part.group(2)) {
        case "ms" -> 1L;
        case "s" -> 1_000L;
        case "m" -> 60_000L;
        default -> 3_600_000L;
      };
      millis = millis.add(amount.multiply(BigDecimal.valueOf(unit)));
      if (millis.compareTo(BigDecimal.valueOf(MAX.toMillis())) > 0) {
        throw new IllegalArgumentException("'" + value + "' is longer than " + MAX.toDays() + " days");
      }
    }
    return Duration.ofMillis(millis.longValue());
  }
}
