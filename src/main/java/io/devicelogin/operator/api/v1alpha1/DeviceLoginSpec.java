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

/** What login is wanted. Changing it starts a fresh login. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class DeviceLoginSpec {

  /** What happens to the per-user Secret when the DeviceLogin is deleted. */
  public enum DeletionPolicy {
    Delete,
    Retain
  }

  @Required
  @JsonPropertyDescription("The IdentityProvider or ClusterIdentityProvider to log in with.")
  private IdentityProviderRef identityProviderRef;

  @Size(min = 1, max = 1024)
  @JsonPropertyDescription(
      "Expected value of the provider's usernameClaim. A login by anyone else ends Failed "
          + "(reason IdentityMismatch) and no Secret is written.")
  private String user;

  @Size(min = 1, max = 64)
  @ValidationRule(value = "self.exists(s, s == 'openid')", message = "scopes must include 'openid'")
  @JsonPropertyDescription("Scopes to request instead of the provider's. Must include openid.")
  private List<String> scopes;

  @Size(min = 1, max = 253)
  @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
  @JsonPropertyDescription(
      "Secret to write the tokens to, in this namespace. Default: 'oidc-' + the username, lower-cased and made a "
          + "valid DNS-1123 name.")
  private String secretName;

  @Pattern("^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$")
  @JsonPropertyDescription(
      "Refresh this long before the ID token expires, as a duration such as 90s, 5m or 1h30m. "
          + "Default: one third of the token's lifetime.")
  private String renewBefore;

  @Default("Delete")
  @JsonPropertyDescription("Delete (default) removes the token Secret with the DeviceLogin; Retain keeps it.")
  private DeletionPolicy deletionPolicy;

  public IdentityProviderRef getIdentityProviderRef() {
    return identityProviderRef;
  }

  public void setIdentityProviderRef(IdentityProviderRef identityProviderRef) {
    this.identityProviderRef = identityProviderRef;
  }

  public String getUser() {
    return user;
  }

  public void setUser(String user) {
    this.user = user;
  }

  public List<String> getScopes() {
    return scopes;
  }

  public void setScopes(List<String> scopes) {
    this.scopes = scopes;
  }

  public String getSecretName() {
    return secretName;
  }

  public void setSecretName(String secretName) {
    this.secretName = secretName;
  }

  public String getRenewBefore() {
    return renewBefore;
  }

  public void setRenewBefore(String renewBefore) {
    this.renewBefore = renewBefore;
  }

  public DeletionPolicy getDeletionPolicy() {
    return deletionPolicy;
  }

  public void setDeletionPolicy(DeletionPolicy deletionPolicy) {
    this.deletionPolicy = deletionPolicy;
  }

  public DeletionPolicy effectiveDeletionPolicy() {
    return deletionPolicy == null ? DeletionPolicy.Delete : deletionPolicy;
  }
}
