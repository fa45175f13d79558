package io.devicelogin.operator.relay;

import io.devicelogin.operator.idp.RedirectUris;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The relay's command line, checked: where it listens (the loopback redirect URI) and where it forwards (the
 * operator's callback).
 *
 * @param redirectUri the provider's {@code redirectUri}, e.g. {@code http://localhost:8000/}
 * @param bindAddress the loopback address the relay listens on ({@code 127.0.0.1} or {@code ::1})
 * @param port the redirect URI's port
 * @param path the redirect URI's raw path ({@code /} when it has none)
 * @param host the redirect URI's host, lower case ({@code localhost}, {@code 127.0.0.1} or {@code [::1]})
 * @param callback the operator's callback endpoint
 * @param timeout how long the relay waits for a sign-in response before it gives up
 */
record RelayArguments(URI redirectUri, String bindAddress, int port, String path, String host, URI callback,
    Duration timeout) {

  /** The state's lifetime (API.md: {@code expiresAt}, default 10 minutes): no response can be used after it. */
  static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);

  private static final Pattern DURATION = Pattern.compile("([1-9][0-9]{0,4})([smh])");

  /** A command line the relay cannot run with; the message says what to change. */
  static final class Invalid extends Exception {
    Invalid(String message) {
      super(message);
    }
  }

  static RelayArguments parse(String[] args) throws Invalid {
    String redirectUri = null;
    String callback = null;
    String timeout = null;
    boolean insecureHttp = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--redirect-uri" -> redirectUri = value(args, ++i, "--redirect-uri");
        case "--callback" -> callback = value(args, ++i, "--callback");
        case "--timeout" -> timeout = value(args, ++i, "--timeout");
        case "--insecure-http" -> insecureHttp = true;
        default -> throw new Invalid("unknown argument '" + args[i] + "'");
      }
    }
    if (redirectUri == null || callback == null) {
      throw new Invalid("--redirect-uri and --callback are required");
    }
    URI redirect = redirectUri(redirectUri);
    String host = redirect.getHost().toLowerCase(Locale.ROOT);
    int port = redirect.getPort() == -1 ? 80 : redirect.getPort();
    String path = redirect.getRawPath().isEmpty() ? "/" : redirect.getRawPath();
    return new RelayArguments(redirect, host.equals("[::1]") ? "::1" : "127.0.0.1", port, path, host,
        callback(callback, insecureHttp), timeout == null ? DEFAULT_TIMEOUT : duration(timeout));
  }

  /**
   * Whether a request's {@code Host} header names the redirect URI's host and port, as a browser sends it (without
   * the port when it is 80). Another name is a web page that points its own name at this machine (DNS rebinding).
   */
  boolean isRedirectHost(String hostHeader) {
    return hostHeader != null && (hostHeader.equalsIgnoreCase(host + ":" + port)
        || port == 80 && hostHeader.equalsIgnoreCase(host));
  }

  private static String value(String[] args, int i, String option) throws Invalid {
    if (i >= args.length) {
      throw new Invalid(option + " needs a value");
    }
    return args[i];
  }

  /** An http URL on {@code localhost}, {@code 127.0.0.1} or {@code [::1]}, without a query or fragment. */
  private static URI redirectUri(String text) throws Invalid {
    String rule = "--redirect-uri must be an http:// URL on localhost, 127.0.0.1 or [::1] without a query, e.g. "
        + "http://localhost:8000/ (the relay listens only on this machine's loopback address), got '" + text + "'";
    URI uri = uri(text, rule);
    if (!"http".equalsIgnoreCase(uri.getScheme()) || !RedirectUris.loopback(uri)
        || uri.getRawUserInfo() != null || uri.getRawQuery() != null || uri.getRawFragment() != null
        || uri.getPort() == 0 || uri.getPort() > 65535) {
      throw new Invalid(rule);
    }
    return uri;
  }

  /**
   * An https URL, or http when its host is this machine or {@code insecureHttp}: the authorization code crosses the
   * network in it. No query (the relay adds one), fragment or user info.
   */
  private static URI callback(String text, boolean insecureHttp) throws Invalid {
    String rule = "--callback must be the operator's callback URL without a query, e.g. "
        + "https://login.example.com/callback, got '" + text + "'";
    URI uri = uri(text, rule);
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("https") && !scheme.equals("http") || uri.getHost() == null || uri.getRawUserInfo() != null
        || uri.getRawQuery() != null || uri.getRawFragment() != null) {
      throw new Invalid(rule);
    }
    if (scheme.equals("http") && !RedirectUris.loopback(uri) && !insecureHttp) {
      throw new Invalid("--callback must be https:// (the authorization code would cross the network in clear text); "
          + "http:// is allowed for localhost, 127.0.0.1 and [::1], or anywhere with --insecure-http");
    }
    return uri;
  }

  private static URI uri(String text, String rule) throws Invalid {
    try {
      return new URI(text);
    } catch (URISyntaxException e) {
      throw new Invalid(rule);
    }
  }

  /** {@code 90s}, {@code 10m}, {@code 1h}: as {@code --timeout} takes it. */
  static String describe(Duration duration) {
    long seconds = duration.toSeconds();
    return seconds % 3600 == 0 ? seconds / 3600 + "h" : seconds % 60 == 0 ? seconds / 60 + "m" : seconds + "s";
  }

  private static Duration duration(String text) throws Invalid {
    Matcher matcher = DURATION.matcher(text);
    if (!matcher.matches()) {
      throw new Invalid("--timeout must be a number and a unit, s, m or h (e.g. 90s, 10m, 1h), got '" + text + "'");
    }
    long amount = Long.parseLong(matcher.group(1));
    return switch (matcher.group(2)) {
      case "s" -> Duration.ofSeconds(amount);
      case "m" -> Duration.ofMinutes(amount);
      default -> Duration.ofHours(amount);
    };
  }
}
