package io.devicelogin.operator.bench;

import io.fabric8.mockwebserver.http.RecordedRequest;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sees every request the mock API server answers: counts them by verb and resource, and notes (in nanoTime) when each
 * DeviceLogin's status first carried a user code and when each token Secret was first written.
 */
final class ApiObserver implements Consumer<RecordedRequest> {

  private static final Pattern TOKEN_SECRET = Pattern.compile("\"(oidc-user-\\d+-example-com)\"");
  private static final Pattern DEVICE_LOGIN_STATUS = Pattern.compile("/devicelogins/([^/?]+)/status");

  private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();
  private final Map<String, Long> userCodePublished = new ConcurrentHashMap<>();
  private final Map<String, Long> tokenSecretWritten = new ConcurrentHashMap<>();

  @Override
  public void accept(RecordedRequest request) {
    long now = System.nanoTime();
    String method = request.getMethod();
    String path = request.getPath();
    int query = path.indexOf('?');
    String bare = query < 0 ? path : path.substring(0, query);
    String kind = kind(bare);
    counts.computeIfAbsent(method + " " + kind, k -> new LongAdder()).increment();
    if ("GET".equals(method)) {
      return;
    }
    if (kind.equals("devicelogins/status")) {
      Matcher m = DEVICE_LOGIN_STATUS.matcher(bare);
      String body = body(request);
      if (m.find() && body != null && body.contains("\"userCode\":\"")) {
        userCodePublished.putIfAbsent(m.group(1), now);
      }
    } else if (kind.equals("secrets") && ("POST".equals(method) || "PUT".equals(method))) {
      String body = body(request);
      Matcher m = body == null ? null : TOKEN_SECRET.matcher(body);
      if (m != null && m.find()) {
        tokenSecretWritten.putIfAbsent(m.group(1), now);
      }
    }
  }

  /** The body without consuming it (getUtf8Body() would drain it before the CRUD store reads it). */
  private static String body(RecordedRequest request) {
    return request.getBody() == null ? null : new String(request.getBody().getBytes(), StandardCharsets.UTF_8);
  }

  /** The resource a path is about, e.g. {@code secrets}, {@code devicelogins/status}. */
  static String kind(String path) {
    String[] parts = path.split("/");
    // /api/v1/namespaces/ns/secrets/name[/sub] or /apis/group/version/namespaces/ns/plural/name[/sub]
    int i = 0;
    while (i < parts.length && !parts[i].equals("namespaces")) {
      i++;
    }
    if (i >= parts.length) {
      return parts.length > 0 ? parts[parts.length - 1] : path;
    }
    if (i + 2 >= parts.length) {
      return "namespaces";
    }
    String plural = parts[i + 2];
    return i + 4 < parts.length ? plural + "/" + parts[i + 4] : plural;
  }

  long count(String methodAndKind) {
    LongAdder n = counts.get(methodAndKind);
    return n == null ? 0 : n.sum();
  }

  /** Requests that change something (not GET), summed over every resource whose key starts with {@code kind}. */
  long writes(String kind) {
    return counts.entrySet().stream()
        .filter(e -> !e.getKey().startsWith("GET ") && e.getKey().substring(e.getKey().indexOf(' ') + 1).equals(kind))
        .mapToLong(e -> e.getValue().sum()).sum();
  }

  Map<String, Long> counts() {
    Map<String, Long> all = new TreeMap<>();
    counts.forEach((k, v) -> all.put(k, v.sum()));
    return all;
  }

  Map<String, Long> userCodePublished() {
    return userCodePublished;
  }

  Map<String, Long> tokenSecretWritten() {
    return tokenSecretWritten;
  }
}
