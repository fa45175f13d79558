package io.devicelogin.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/** Names the IdentityProvider (same namespace) or ClusterIdentityProvider a DeviceLogin uses. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class IdentityProviderRef {

  /** The kinds a DeviceLogin may name. */
  public enum Kind {
    IdentityProvider,
    ClusterIdentityProvider
  }

  @Required
  @Size(min = 1, max = 253)
  @JsonPropertyDescription("Name of the IdentityProvider (in the DeviceLogin's namespace) or ClusterIdentityProvider.")
  private String name;

  @Default("IdentityProvider")
  @JsonPropertyDescription("IdentityProvider (default) or ClusterIdentityProvider.")
  private Kind kind;

  public IdentityProviderRef() {}

  public IdentityProviderRef(String name, Kind kind) {
    this.name = name;
    this.kind = kind;
  }

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public Kind getKind() {
    return kind;
  }

  public void setKind(Kind kind) {
    this.kind = kind;
  }

  public Kind effectiveKind() {
    return kind == null ? Kind.IdentityProvider : kind;
  }
}
