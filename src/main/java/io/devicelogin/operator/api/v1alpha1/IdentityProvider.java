package io.devicelogin.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** An OIDC client at an identity provider, usable by DeviceLogins in the same namespace. */
@JsonDeserialize(using = IdentityProvider.Reader.class)
@Group(Constants.GROUP)
@Version(Constants.VERSION)
@ShortNames("idp")
@AdditionalPrinterColumn(name = "Issuer", jsonPath = ".spec.issuerUrl", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Client", jsonPath = ".spec.clientId", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Grant", jsonPath = ".spec.grant", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
    name = "Ready",
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].status",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
    name = "Reason",
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].reason",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class IdentityProvider extends TolerantResource<IdentityProviderSpec, IdentityProviderStatus>
    implements Namespaced, ProviderResource {

  @Override
  protected IdentityProviderStatus initStatus() {
    return new IdentityProviderStatus();
  }

  @Override
  @JsonPropertyDescription("The OIDC client at the IdP.")
  public IdentityProviderSpec getSpec() {
    return super.getSpec();
  }

  @Override
  @JsonPropertyDescription("Whether the provider can be used, and the endpoints discovery found.")
  public IdentityProviderStatus getStatus() {
    return super.getStatus();
  }

  /** Reads a IdentityProvider part by part (see {@link TolerantResource}). */
  public static final class Reader extends TolerantResource.Reader<IdentityProvider, IdentityProviderSpec, IdentityProviderStatus> {
    public Reader() {
      super(IdentityProvider.class, IdentityProvider::new, IdentityProviderSpec.class, IdentityProviderStatus.class);
    }
  }
}
