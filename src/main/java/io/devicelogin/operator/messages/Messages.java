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
   * Control characters (newlines, ANSI escapes), Unicode format characters (bidi overrides) and line separators, each
   * run replaced by one space: text with them could forge log lines or disguise itself in a terminal.
   */
  private static final Pattern UNPRINTABLE = Pattern.compile("[\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}]+");

  /** The most characters of IdP text shown in one message. */
  public static final int MAX_IDP_TEXT = 200;

  /**
   * Text from an IdP (an OAuth {@code error} or {@code error_description}, a value it sent) made safe for conditions,
   * Events and logs: control characters and newlines become spaces, token-like runs are masked (some IdPs echo the
   * code or token they refused), and the length is bounded to {@value #MAX_IDP_TEXT} characters. The one place IdP
   * text is made safe; null gives "".
   */
  public static String fromIdp(String text) {
    if (text == null) {
      return "";
    }
    String printable = UNPRINTABLE.matcher(text).replaceAll(" ").strip();
    String masked = TOKEN_LIKE.matcher(printable).replaceAll("[redacted]");
    if (masked.length() <= MAX_IDP_TEXT) {
      return masked;
    }
    int end = Character.isHighSurrogate(masked.charAt(MAX_IDP_TEXT - 1)) ? MAX_IDP_TEXT - 1 : MAX_IDP_TEXT;
    return masked.substring(0, end) + "…";
  }

  /** How a person starts a fresh login without editing the spec. */
  public static String startOverHint() {
    return "To log in again, set the annotation devicelogin.io/restart to a new value (for example the current "
        + "time) or change the spec.";
  }
}
