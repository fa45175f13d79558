package io.devicelogin.operator.idp;

import java.net.URI;
import java.util.List;

/**
 * Everything needed to talk to one OIDC client at one IdP.
 *
 * @param issuer the OIDC issuer
 * @param clientId the OAuth client id
 * @param clientSecret the client secret of a confidential client, or null for a public client
 * @param caBundle extra PEM CA certificates for the IdP's TLS, or null
 * @param scopes scopes to request
 */
public record ProviderConfig(URI issuer, String clientId, String clientSecret, String caBundle, List<String> scopes) {

  public ProviderConfig {
    scopes = List.copyOf(scopes);
  }

  public boolean confidential() {
    return clientSecret != null;
  }

  public ProviderConfig withScopes(List<String> newScopes) {
    return new ProviderConfig(issuer, clientId, clientSecret, caBundle, newScopes);
  }

  /** Never shows the client secret. */
  @Override
  public String toString() {
    return "ProviderConfig[issuer=" + issuer + ", clientId=" + clientId + ", confidential=" + confidential()
        + ", caBundle=" + (caBundle != null) + ", scopes=" + scopes + "]";
  }
}
