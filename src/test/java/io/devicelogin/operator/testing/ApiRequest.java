package io.devicelogin.operator.testing;

import java.time.Instant;

/**
 * One request the mock API server received, as {@link MockCluster} records it: when, verb, path with query, the body
 * of writes (null for GET), whether it came from the test's own client ({@link MockCluster#client()}) rather than the
 * operator, and the status a fault answered it with (0: answered normally).
 */
public record ApiRequest(
    long nanos, Instant at, String method, String path, String body, boolean fromTest, int injectedStatus) {

  /** The path without the query. */
  public String bare() {
    int query = path.indexOf('?');
    return query < 0 ? path : path.substring(0, query);
  }

  /** The namespace in the path, or null for cluster-scoped requests. */
  public String namespace() {
    String[] parts = bare().split("/");
    for (int i = 0; i + 1 < parts.length; i++) {
      if (parts[i].equals("namespaces")) {
        return parts[i + 1];
      }
    }
    return null;
  }

  /** A watch request (the informers' long-lived connections). */
  public boolean isWatch() {
    return path.contains("watch=true");
  }

  /** Not a GET: a create, update, patch or delete. */
  public boolean isWrite() {
    return !"GET".equals(method);
  }

  /** The path names a Secret or the Secrets of a namespace. */
  public boolean isSecret() {
    return bare().startsWith("/api/v1/namespaces/") && bare().split("/").length >= 6
        && bare().split("/")[5].equals("secrets");
  }

  /** A write to the status subresource of the DeviceLogin {@code name}. */
  public boolean isStatusPatchOf(String name) {
    return "PATCH".equals(method) && bare().endsWith("/devicelogins/" + name + "/status");
  }

  /** A write to the DeviceLogin {@code name} itself (not its status): the finalizer patches. */
  public boolean isMainResourceWriteOf(String name) {
    return isWrite() && bare().endsWith("/devicelogins/" + name);
  }

  /** The body contains {@code text} (false for requests without a body). */
  public boolean bodyContains(String text) {
    return body != null && body.contains(text);
  }

  /** Whether a fault answered this request instead of (or after) the CRUD store. */
  public boolean injected() {
    return injectedStatus != 0;
  }

  @Override
  public String toString() {
    return method + " " + path + (injected() ? " -> injected " + injectedStatus : "");
  }
}
