package io.devicelogin.operator.api.v1alpha1;

import io.fabric8.kubernetes.api.model.ObjectMeta;

/**
 * What IdentityProvider and ClusterIdentityProvider have in common. Deliberately not a HasMetadata: that interface
 * carries fabric8's polymorphic deserializer, which would then turn these kinds into generic resources.
 */
public interface ProviderResource {

  ObjectMeta getMetadata();

  IdentityProviderSpec getSpec();

  IdentityProviderStatus getStatus();

  /** Why this operator version could not read the spec or status (see {@link TolerantResource}), or null. */
  String readProblem();
}
