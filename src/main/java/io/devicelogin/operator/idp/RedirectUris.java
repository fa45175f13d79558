package io.devicelogin.operator.idp;

import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Set;

/** The rules for a provider's {@code redirectUri} (RFC 9700 section 2.1: exact, no fragment; RFC 8252 loopback). */
public final class RedirectUris {

  /** Hosts an {@code http://} redirect URI may name without allowInsecureHttp: the person's own machine. */
  private static final Set<String> LOOPBACK = Set.of("localhost", "127.0.0.1", "[::1]");

  private RedirectUris() {}

  /** What is wrong with {@code redirectUri} for the provider's condition, or null when the operator may send it. */
  public static String problem(String redirectUri, boolean insecureHttpAllowed) {
    if (redirectUri == null || redirectUri.isBlank()) {
      return "spec.grant AuthorizationCode needs spec.redirectUri: the redirect URI registered for the client at the "
          + "IdP, such as http://localhost:8000/";
    }
    if (redirectUri.length() > IdentityProviderSpec.MAX_REDIRECT_URI_CHARS) {
      return "spec.redirectUri is longer than " + IdentityProviderSpec.MAX_REDIRECT_URI_CHARS + " characters";
    }
    URI uri;
    try {
      uri = new URI(redirectUri);
    } catch (URISyntaxException e) {
      return "spec.redirectUri is not a valid URL: " + e.getReason();
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("https") || scheme.equals("http")) || uri.getHost() == null) {
      return "spec.redirectUri must be an absolute http(s) URL with a host";
    }
    if (uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
      return "spec.redirectUri must not have a fragment ('#') or user info ('@')";
    }
    if (scheme.equals("http") && !loopback(uri) && !insecureHttpAllowed) {
      return "spec.redirectUri uses http:// for a host other than localhost, 127.0.0.1 or [::1]: the authorization "
          + "code would travel unencrypted; use https:// or, for local development only, spec.allowInsecureHttp";
    }
    return null;
  }

  /** Whether the URI names the person's own machine (where the local relay listens). */
  public static boolean loopback(URI uri) {
    return uri.getHost() != null && LOOPBACK.contains(uri.getHost().toLowerCase(Locale.ROOT));
  }
}
