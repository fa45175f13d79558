package io.devicelogin.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.ArrayList;
import java.util.List;

/** Observed state of an IdentityProvider or ClusterIdentityProvider. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class IdentityProviderStatus {

  @JsonPropertyDescription(
      "Ready is True when discovery worked and the IdP offers the provider's grant (a device authorization "
          + "endpoint, or for AuthorizationCode an authorization endpoint and PKCE S256); otherwise its reason and "
          + "message say what to fix.")
  private List<Condition> conditions = new ArrayList<>();

  @JsonPropertyDescription("Device authorization endpoint from the discovery document.")
  private String deviceAuthorizationEndpoint;

  @JsonPropertyDescription("Authorization endpoint from the discovery document (grant AuthorizationCode).")
  private String authorizationEndpoint;

  @JsonPropertyDescription("Token endpoint from the discovery document.")
  private String tokenEndpoint;

  @JsonPropertyDescription("metadata.generation this status describes.")
  private Long observedGeneration;

  public List<Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<Condition> conditions) {
    this.conditions = conditions;
  }

  public String getAuthorizationEndpoint() {
    return authorizationEndpoint;
  }

  public void setAuthorizationEndpoint(String authorizationEndpoint) {
    this.authorizationEndpoint = authorizationEndpoint;
  }

  public String getDeviceAuthorizationEndpoint() {
    return deviceAuthorizationEndpoint;
  }

  public void setDeviceAuthorizationEndpoint(String deviceAuthorizationEndpoint) {
    this.deviceAuthorizationEndpoint = deviceAuthorizationEndpoint;
  }

  public String getTokenEndpoint() {
    return tokenEndpoint;
  }

  public void setTokenEndpoint(String tokenEndpoint) {
    this.tokenEndpoint = tokenEndpoint;
  }

  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long observedGeneration) {
    this.observedGeneration = observedGeneration;
  }
}
