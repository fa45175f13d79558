package io.devicelogin.operator.testidp;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One HTTP request a {@link FakeIdp} received, secrets included (this is a test fixture).
 *
 * @param time when it arrived
 * @param method the HTTP method
 * @param path the URL path
 * @param form the form parameters of a POST, empty for other requests
 * @param authorization the {@code Authorization} header, {@code null} if absent
 */
public record RecordedRequest(
    Instant time, String method, String path, Map<String, List<String>> form, String authorization) {

  public RecordedRequest {
    form = Map.copyOf(form);
  }

  /** The first value of a form parameter, {@code null} if absent. */
  public String param(String name) {
    List<String> values = form.get(name);
    return values == null || values.isEmpty() ? null : values.get(0);
  }
}
