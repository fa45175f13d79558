package io.devicelogin.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/**
 * A ClusterIdentityProvider's spec: an IdentityProvider's plus which namespaces may use it (a namespaced
 * IdentityProvider serves only its own namespace, so its CRD does not offer the field).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ClusterIdentityProviderSpec extends IdentityProviderSpec {

  @JsonPropertyDescription(
      "Namespaces whose DeviceLogins may use this provider, by their labels (a standard label selector; absent: "
          + "all namespaces). A DeviceLogin in another namespace ends Failed (reason NamespaceNotAllowed) before "
          + "any request to the IdP, and a Ready one there stops being refreshed.")
  private LabelSelector namespaceSelector;

  public LabelSelector getNamespaceSelector() {
    return namespaceSelector;
  }

  public void setNamespaceSelector(LabelSelector namespaceSelector) {
    this.namespaceSelector = namespaceSelector;
  }
}
