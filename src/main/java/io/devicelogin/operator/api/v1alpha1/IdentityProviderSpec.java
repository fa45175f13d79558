package io.devicelogin.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/** One OIDC client at one identity provider; shared by IdentityProvider and ClusterIdentityProvider. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class IdentityProviderSpec {

  public static final List<String> DEFAULT_SCOPES = List.of("openid", "profile", "email", "offline_access");

  @Required
  @Size(min = 1, max = 2048)
  @Pattern("^https?://[^\\s?#]+$")
  @JsonPropertyDescription(
      "OIDC issuer URL. Endpoints are discovered from <issuerUrl>/.well-known/openid-configuration. "
          + "Must be https:// unless allowInsecureHttp is true, without a query (?) or fragment (#).")
  private String issuerUrl;

  @Required
  @Size(min = 1, max = 512)
  @JsonPropertyDescription("OAuth 2.0 client id registered at the IdP with the device authorization grant enabled.")
  private String clientId;

  @JsonPropertyDescription(
      "Secret holding the client secret of a confidential client. Looked up in the provider's namespace "
          + "(ClusterIdentityProvider: the operator's namespace). Omit for a public client.")
  private SecretKeyReference clientSecretRef;

  @Default("[\"openid\",\"profile\",\"email\",\"offline_access\"]")
  @Size(max = 64)
  @ValidationRule(value = "self.exists(s, s == 'openid')", message = "scopes must include 'openid'")
  @JsonPropertyDescription("Scopes requested in the device authorization request. Must include openid.")
  private List<String> scopes;

  @Default("email")
  @Size(min = 1, max = 256)
  @JsonPropertyDescription("ID token claim that names the user: the Secret name and spec.user are compared with it.")
  private String usernameClaim;

  @Default("groups")
  @Size(min = 1, max = 256)
  @JsonPropertyDescription("ID token claim that lists the user's groups.")
  private String groupsClaim;

  @Size(max = 256)
  @JsonPropertyDescription(
      "If set, a login whose groups share none of these ends Failed (reason GroupNotAllowed) and no Secret is written.")
  private List<String> allowedGroups;

  @Size(max = 65536)
  @JsonPropertyDescription("PEM-encoded CA certificates trusted, in addition to the system ones, for the IdP's TLS.")
  private String caBundle;

  @Default("false")
  @JsonPropertyDescription("Allow an http:// issuer. Only for local development: tokens travel unencrypted.")
  private Boolean allowInsecureHttp;

  public String getIssuerUrl() {
    return issuerUrl;
  }

  public void setIssuerUrl(String issuerUrl) {
    this.issuerUrl = issuerUrl;
  }

  public String getClientId() {
    return clientId;
  }

  public void setClientId(String clientId) {
    this.clientId = clientId;
  }

  public SecretKeyReference getClientSecretRef() {
    return clientSecretRef;
  }

  public void setClientSecretRef(SecretKeyReference clientSecretRef) {
    this.clientSecretRef = clientSecretRef;
  }

  public List<String> getScopes() {
    return scopes;
  }

  public void setScopes(List<String> scopes) {
    this.scopes = scopes;
  }

  public String getUsernameClaim() {
    return usernameClaim;
  }

  public void setUsernameClaim(String usernameClaim) {
    this.usernameClaim = usernameClaim;
  }

  public String getGroupsClaim() {
    return groupsClaim;
  }

  public void setGroupsClaim(String groupsClaim) {
    this.groupsClaim = groupsClaim;
  }

  public List<String> getAllowedGroups() {
    return allowedGroups;
  }

  public void setAllowedGroups(List<String> allowedGroups) {
    this.allowedGroups = allowedGroups;
  }

  public String getCaBundle() {
    return caBundle;
  }

  public void setCaBundle(String caBundle) {
    this.caBundle = caBundle;
  }

  public Boolean getAllowInsecureHttp() {
    return allowInsecureHttp;
  }

  public void setAllowInsecureHttp(Boolean allowInsecureHttp) {
    this.allowInsecureHttp = allowInsecureHttp;
  }

  /** Scopes with the contract's default applied (the API server applies it too; objects built in code may not). */
  public List<String> effectiveScopes() {
    return scopes == null || scopes.isEmpty() ? DEFAULT_SCOPES : scopes;
  }

  public String effectiveUsernameClaim() {
    return usernameClaim == null || usernameClaim.isBlank() ? "email" : usernameClaim;
  }

  public String effectiveGroupsClaim() {
    return groupsClaim == null || groupsClaim.isBlank() ? "groups" : groupsClaim;
  }

  public boolean insecureHttpAllowed() {
    return Boolean.TRUE.equals(allowInsecureHttp);
  }
}
