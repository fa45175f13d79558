package io.devicelogin.operator.secret;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Pattern;

/** Turns arbitrary strings (usernames, resource names) into valid Kubernetes names and label values. */
public final class Names {

  /** Longest Secret name (DNS-1123 subdomain). */
  public static final int MAX_NAME = 253;

  /** Longest label value. */
  public static final int MAX_LABEL_VALUE = 63;

  private static final Pattern NOT_ALPHANUMERIC = Pattern.compile("[^a-z0-9]+");
  private static final Pattern EDGE_DASHES = Pattern.compile("^-+|-+$");
  private static final Pattern TRAILING_DASHES = Pattern.compile("-+$");

  private Names() {}

  /**
   * Lower-cases {@code raw}, replaces every run of characters other than a-z and 0-9 with one '-', trims '-' at both
   * ends, and keeps it within {@code maxLength} by cutting and appending a hash of the raw value, so distinct raw
   * values stay distinct. The result is a valid DNS-1123 label/subdomain and label value.
   */
  public static String dnsSafe(String raw, int maxLength) {
    String safe = EDGE_DASHES.matcher(NOT_ALPHANUMERIC.matcher(raw.toLowerCase(Locale.ROOT)).replaceAll("-"))
        .replaceAll("");
    if (safe.isEmpty()) {
      return "x-" + hash(raw);
    }
    if (safe.length() <= maxLength) {
      return safe;
    }
    String hash = hash(raw);
    String head = TRAILING_DASHES.matcher(safe.substring(0, maxLength - hash.length() - 1)).replaceAll("");
    return head + "-" + hash;
  }

  /** {@code prefix} + the dns-safe {@code raw}, within {@link #MAX_NAME}. */
  public static String prefixed(String prefix, String raw) {
    return prefix + dnsSafe(raw, MAX_NAME - prefix.length());
  }

  private static String hash(String raw) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(raw.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 5);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always available", e);
    }
  }
}
