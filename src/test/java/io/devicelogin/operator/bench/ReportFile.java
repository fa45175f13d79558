package io.devicelogin.operator.bench;

/**
 * The generated results go between two markers in docs/BENCHMARKS.md, so a new run replaces them and keeps the
 * hand-written text around them.
 */
final class ReportFile {

  static final String START = "<!-- bench:results:start -->";
  static final String END = "<!-- bench:results:end -->";

  private ReportFile() {}

  /** {@code existing} with the text between the markers replaced by {@code results} (markers appended if absent). */
  static String merge(String existing, String results) {
    String block = START + "\n" + results.strip() + "\n" + END;
    if (existing == null || existing.isBlank()) {
      return "# Benchmarks\n\n" + block + "\n";
    }
    int start = existing.indexOf(START);
    int end = existing.indexOf(END);
    if (start < 0 || end < start) {
      return existing.stripTrailing() + "\n\n" + block + "\n";
    }
    return existing.substring(0, start) + block + existing.substring(end + END.length());
  }
}
