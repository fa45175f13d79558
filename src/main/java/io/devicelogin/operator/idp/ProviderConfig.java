package io.devicelogin.operator.idp;

import java.net.URI;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything needed to talk to one OIDC client at one IdP.
 *
 * @param issuer the OIDC issuer
 * @param clientId the OAuth client id
 * @param clientSecret the client secret of a confidential client, or null for a public client
 * @param caBundle extra PEM CA certificates for the IdP's TLS, or null
 * @param scopes scopes to request
 * @param tenant the namespace of an IdentityProvider (a tenant's): its endpoints are held to the {@link EgressGuard}
 *     and to the issuer's origin, and its calls share the namespace's {@link CallLimiter fair share}; null for a
 *     ClusterIdentityProvider (the admin's)
 * @param insecureHttpAllowed the provider allows http:// (spec.allowInsecureHttp), for its endpoints and for the
 *     verification URI its IdP hands out
 * @param redirectUri the redirect URI of the authorization code grant (spec.redirectUri); null for the device grant
 * @param authorizationParameters the admin's extra parameters (spec.authorizationParameters, checked by
 *     {@code flow.AuthorizationParameters}), sent on the device authorization request and in the authorization URL
 *     only, never on token, refresh or revocation requests; sorted by name, empty when none
 */
public record ProviderConfig(
    URI issuer, String clientId, String clientSecret, String caBundle, List<String> scopes, String tenant,
    boolean insecureHttpAllowed, URI redirectUri, Map<String, String> authorizationParameters) {

  public ProviderConfig {
    scopes = List.copyOf(scopes);
    authorizationParameters = authorizationParameters == null ? Map.of()
        : Collections.unmodifiableMap(new TreeMap<>(authorizationParameters));
  }

  /** A config without authorization parameters. */
  public ProviderConfig(URI issuer, String clientId, String clientSecret, String caBundle, List<String> scopes,
      String tenant, boolean insecureHttpAllowed, URI redirectUri) {
    this(issuer, clientId, clientSecret, caBundle, scopes, tenant, insecureHttpAllowed, redirectUri, Map.of());
  }

  /**
   * A ClusterIdentityProvider's config (tests and tools): not namespaced, insecure http allowed exactly when the
   * issuer is http://.
   */
  public ProviderConfig(URI issuer, String clientId, String clientSecret, String caBundle, List<String> scopes) {
    this(issuer, clientId, clientSecret, caBundle, scopes, null, "http".equalsIgnoreCase(issuer.getScheme()), null);
  }

  /** Logins through this provider use the authorization code grant (it has a redirect URI), not the device grant. */
  public boolean authorizationCode() {
    return redirectUri != null;
  }

  /** This config for the authorization code grant with {@code uri} as its redirect URI (tests and tools). */
  public ProviderConfig withRedirectUri(URI uri) {
    return new ProviderConfig(
        issuer, clientId, clientSecret, caBundle, scopes, tenant, insecureHttpAllowed, uri, authorizationParameters);
  }

  /** A tenant's IdentityProvider (not a ClusterIdentityProvider). */
  public boolean namespaced() {
    return tenant != null;
  }

  public boolean confidential() {
    return clientSecret != null;
  }

  public ProviderConfig withScopes(List<String> newScopes) {
    return new ProviderConfig(
        issuer, clientId, clientSecret, caBundle, newScopes, tenant, insecureHttpAllowed, redirectUri,
        authorizationParameters);
  }

  /** Never shows the client secret; names the authorization parameters without their (possibly long) values. */
  @Override
  public String toString() {
    return "ProviderConfig[issuer=" + issuer + ", clientId=" + clientId + ", confidential=" + confidential()
        + ", caBundle=" + (caBundle != null) + ", scopes=" + scopes + ", tenant=" + tenant
        + ", insecureHttpAllowed=" + insecureHttpAllowed + ", redirectUri=" + redirectUri
        + ", authorizationParameters=" + authorizationParameters.keySet() + "]";
  }
}
