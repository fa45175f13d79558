package io.devicelogin.operator.messages;

import java.util.regex.Pattern;

/** Wording shared by the messages people read in conditions and Events. */
public final class Messages {

  /** Long unbroken runs of token characters: what a code or token an IdP echoes back looks like. */
  private static final Pattern TOKEN_LIKE = Pattern.compile("[A-Za-z0-9_\\-.~+/=]{24,}");

  private Messages() {}

  public static String capitalize(String message) {
    return message == null || message.isEmpty()
        ? message
        : Character.toUpperCase(message.charAt(0)) + message.substring(1);
  }

  /**
   * Text from an IdP (an OAuth {@code error_description}) made safe to show: token-like runs are masked, since some
   * IdPs echo the code or token they refused, and the length is bounded.
   */
  public static String fromIdp(String text) {
    String masked = TOKEN_LIKE.matcher(text).replaceAll("[redacted]");
    return masked.length() > 200 ? masked.substring(0, 200) + "…" : masked;
  }

  /** How a person starts a fresh login without editing the spec. */
  public static String startOverHint() {
    return "To log in again, set the annotation devicelogin.io/restart to a new value (for example the current "
        + "time) or change the spec.";
  }
}
