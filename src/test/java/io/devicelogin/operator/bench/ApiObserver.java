package io.devicelogin.operator.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.devicelogin.operator.testing.MockCluster;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sees every request the mock API server answers: counts them by Kubernetes verb and resource ({@link #key}), the
 * implementation's apart from the benchmark's own (its client, {@link MockCluster#client()}, marks its requests),
 * and notes (in nanoTime) when each DeviceLogin's status first carried a user code and when each token Secret was
 * first written.
 */
final class ApiObserver implements Consumer<RecordedRequest> {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern TOKEN_SECRET = Pattern.compile("oidc-user-\\d+-example-com");
  private static final Pattern DEVICE_LOGIN_STATUS = Pattern.compile("/devicelogins/([^/?]+)/status");
  /** The verbs that only read: one object, a collection, and the start of a watch. */
  static final Set<String> READ_VERBS = Set.of("GET", "LIST", "WATCH");

  private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> benchmarkCounts = new ConcurrentHashMap<>();
  private final Map<String, Long> userCodePublished = new ConcurrentHashMap<>();
  private final Map<String, Long> tokenSecretWritten = new ConcurrentHashMap<>();

  @Override
  public void accept(RecordedRequest request) {
    long now = System.nanoTime();
    String method = request.getMethod();
    String path = request.getPath();
    String key = key(method, path);
    boolean benchmark = request.getHeader(MockCluster.TEST_CLIENT_HEADER) != null;
    (benchmark ? benchmarkCounts : counts).computeIfAbsent(key, k -> new LongAdder()).increment();
    if (benchmark || "GET".equals(method)) {
      return;
    }
    String bare = bare(path);
    String kind = kind(bare);
    if (kind.equals("devicelogins/status")) {
      Matcher m = DEVICE_LOGIN_STATUS.matcher(bare);
      String body = body(request);
      if (m.find() && body != null && body.contains("\"userCode\":\"")) {
        userCodePublished.putIfAbsent(m.group(1), now);
      }
    } else if (kind.equals("secrets")) {
      String secret = tokenSecretWritten(method, bare, () -> body(request));
      if (secret != null) {
        tokenSecretWritten.putIfAbsent(secret, now);
      }
    }
  }

  /**
   * The name of the token Secret ({@code oidc-user-N-example-com}) a request to {@code secrets} creates (POST: the
   * name in the body's metadata) or replaces (PUT: the name in the path), else null — whatever other Secret (a grant
   * Secret) mentions that name.
   */
  static String tokenSecretWritten(String method, String bare, Supplier<String> body) {
    String name;
    if ("PUT".equals(method)) {
      name = bare.substring(bare.lastIndexOf('/') + 1);
    } else if ("POST".equals(method)) {
      String json = body.get();
      if (json == null) {
        return null;
      }
      try {
        name = JSON.readTree(json).path("metadata").path("name").asText(null);
      } catch (IOException e) {
        return null;
      }
    } else {
      return null;
    }
    return name != null && TOKEN_SECRET.matcher(name).matches() ? name : null;
  }

  /** The body without consuming it (getUtf8Body() would drain it before the CRUD store reads it). */
  private static String body(RecordedRequest request) {
    return request.getBody() == null ? null : new String(request.getBody().getBytes(), StandardCharsets.UTF_8);
  }

  private static String bare(String path) {
    int query = path.indexOf('?');
    return query < 0 ? path : path.substring(0, query);
  }

  /**
   * The Kubernetes verb and resource of a request, e.g. {@code GET secrets}, {@code LIST devicelogins},
   * {@code WATCH secrets}, {@code PATCH devicelogins/status}: a GET is {@code WATCH} with {@code watch=true} (or
   * {@code 1}) in its query, {@code GET} when the path names one object, {@code LIST} when it names a collection;
   * other methods keep their name.
   */
  static String key(String method, String path) {
    String bare = bare(path);
    String verb = method;
    if ("GET".equals(method)) {
      verb = isWatch(path) ? "WATCH" : names(bare) ? "GET" : "LIST";
    }
    return verb + " " + kind(bare);
  }

  private static boolean isWatch(String path) {
    int query = path.indexOf('?');
    if (query < 0) {
      return false;
    }
    for (String parameter : path.substring(query + 1).split("&")) {
      if (parameter.equals("watch=true") || parameter.equals("watch=1")) {
        return true;
      }
    }
    return false;
  }

  /**
   * The segments after the API group and version ({@code /api/v1/...}, {@code /apis/group/version/...}), without a
   * leading {@code namespaces/<ns>} of namespaced resources: resource, name, subresource; null for other paths.
   */
  private static String[] resourcePath(String bare) {
    String[] parts = bare.split("/");
    int from;
    if (parts.length >= 3 && parts[1].equals("api")) {
      from = 3;
    } else if (parts.length >= 4 && parts[1].equals("apis")) {
      from = 4;
    } else {
      return null;
    }
    if (parts.length > from + 2 && parts[from].equals("namespaces")) {
      from += 2;
    }
    String[] rest = new String[parts.length - from];
    System.arraycopy(parts, from, rest, 0, rest.length);
    return rest;
  }

  /** Whether the path names one object (or its subresource) rather than a collection. */
  private static boolean names(String bare) {
    String[] rest = resourcePath(bare);
    return rest != null && rest.length >= 2;
  }

  /** The resource a path is about, e.g. {@code secrets}, {@code devicelogins/status}; other paths as they are. */
  static String kind(String path) {
    String[] rest = resourcePath(bare(path));
    if (rest == null || rest.length == 0) {
      return path;
    }
    return rest.length >= 3 ? rest[0] + "/" + rest[2] : rest[0];
  }

  long count(String key) {
    LongAdder n = counts.get(key);
    return n == null ? 0 : n.sum();
  }

  /** Requests that change something (not a read), to {@code kind} exactly (e.g. {@code devicelogins/status}). */
  long writes(String kind) {
    return counts.entrySet().stream()
        .filter(e -> !READ_VERBS.contains(verb(e.getKey())) && resource(e.getKey()).equals(kind))
        .mapToLong(e -> e.getValue().sum()).sum();
  }

  /** The implementation's requests by verb and resource. */
  Map<String, Long> counts() {
    return sums(counts);
  }

  /** The benchmark's own requests (creating the DeviceLogins, the IdentityProvider, the CRDs; waiting for Ready). */
  Map<String, Long> benchmarkCounts() {
    return sums(benchmarkCounts);
  }

  private static Map<String, Long> sums(Map<String, LongAdder> counts) {
    Map<String, Long> all = new TreeMap<>();
    counts.forEach((k, v) -> all.put(k, v.sum()));
    return all;
  }

  /** The verb of a {@link #key}: GET, LIST, WATCH, POST, PUT, PATCH or DELETE. */
  static String verb(String key) {
    return key.substring(0, key.indexOf(' '));
  }

  /** The resource of a {@link #key}, e.g. {@code devicelogins/status}. */
  static String resource(String key) {
    return key.substring(key.indexOf(' ') + 1);
  }

  Map<String, Long> userCodePublished() {
    return userCodePublished;
  }

  Map<String, Long> tokenSecretWritten() {
    return tokenSecretWritten;
  }
}
