package io.devicelogin.operator.api.v1alpha1;

import io.fabric8.kubernetes.api.model.HasMetadata;

/** What IdentityProvider and ClusterIdentityProvider have in common. */
public interface ProviderResource extends HasMetadata {

  IdentityProviderSpec getSpec();

  IdentityProviderStatus getStatus();

  void setStatus(IdentityProviderStatus status);
}
