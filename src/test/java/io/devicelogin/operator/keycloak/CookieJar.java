package io.devicelogin.operator.keycloak;

import java.net.URI;
import java.net.http.HttpHeaders;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Minimal per-host cookie store for {@link KeycloakBrowser}.
 *
 * <p>{@link java.net.CookieManager} refuses to send cookies marked {@code Secure} over plain http, and Keycloak
 * marks its session cookies {@code Secure} even on http. This jar keeps only name/value pairs per host and sends
 * all of them to that host, ignoring {@code Secure}, {@code Path} and expiry dates; a cookie set with
 * {@code Max-Age=0} or an empty value is removed. Good enough for one Keycloak realm, nothing more.
 */
final class CookieJar {

  private final Map<String, Map<String, String>> cookiesByHost = new LinkedHashMap<>();

  /** Stores the cookies of every {@code Set-Cookie} header in a response from {@code uri}. */
  void store(URI uri, HttpHeaders headers) {
    Map<String, String> cookies = cookiesByHost.computeIfAbsent(uri.getHost(), host -> new LinkedHashMap<>());
    for (String setCookie : headers.allValues("Set-Cookie")) {
      String[] parts = setCookie.split(";");
      int equals = parts[0].indexOf('=');
      if (equals <= 0) {
        continue;
      }
      String name = parts[0].substring(0, equals).trim();
      String value = parts[0].substring(equals + 1).trim();
      if (value.isEmpty() || isExpiredNow(parts)) {
        cookies.remove(name);
      } else {
        cookies.put(name, value);
      }
    }
  }

  /** The {@code Cookie} request header value for {@code uri}, if any cookies are stored for its host. */
  Optional<String> header(URI uri) {
    Map<String, String> cookies = cookiesByHost.getOrDefault(uri.getHost(), Map.of());
    if (cookies.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(cookies.entrySet().stream()
        .map(cookie -> cookie.getKey() + "=" + cookie.getValue())
        .collect(Collectors.joining("; ")));
  }

  private static boolean isExpiredNow(String[] attributes) {
    for (int i = 1; i < attributes.length; i++) {
      String attribute = attributes[i].trim();
      if (attribute.regionMatches(true, 0, "Max-Age=", 0, "Max-Age=".length())) {
        return attribute.substring("Max-Age=".length()).trim().matches("0|-\\d+");
      }
    }
    return false;
  }
}
