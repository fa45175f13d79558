package io.devicelogin.operator;

import java.util.Locale;
import java.util.Map;

/**
 * LOG_FORMAT: {@code text} (default, one readable line per event) or {@code json} (one JSON object per line, logback's
 * JsonEncoder). Must be applied before the first logger is created, because logback reads its configuration then.
 */
public enum LogFormat {
  TEXT("logback.xml"),
  JSON("logback-json.xml");

  /** The system property logback reads its configuration file from. */
  static final String LOGBACK_CONFIGURATION_FILE = "logback.configurationFile";

  private final String configuration;

  LogFormat(String configuration) {
    this.configuration = configuration;
  }

  /** The logback configuration on the class path for this format. */
  public String configuration() {
    return configuration;
  }

  /** Reads LOG_FORMAT; throws IllegalArgumentException on anything but text, json or empty. */
  public static LogFormat fromEnvironment(Map<String, String> env) {
    String raw = env.getOrDefault("LOG_FORMAT", "").trim().toLowerCase(Locale.ROOT);
    return switch (raw) {
      case "", "text" -> TEXT;
      case "json" -> JSON;
      default -> throw new IllegalArgumentException("LOG_FORMAT must be text or json, got '" + raw + "'");
    };
  }

  /** Points logback at this format's configuration, unless someone chose a file with -Dlogback.configurationFile. */
  public void apply() {
    if (System.getProperty(LOGBACK_CONFIGURATION_FILE) == null) {
      System.setProperty(LOGBACK_CONFIGURATION_FILE, configuration);
    }
  }
}
