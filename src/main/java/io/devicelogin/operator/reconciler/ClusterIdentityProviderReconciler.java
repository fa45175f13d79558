package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProvider;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import java.time.Clock;

/** Reconciles cluster-scoped ClusterIdentityProviders. */
@ControllerConfiguration(name = "clusteridentityprovider")
public class ClusterIdentityProviderReconciler extends ProviderReconciler<ClusterIdentityProvider> {

  public ClusterIdentityProviderReconciler(ProviderResolver resolver, Clock clock) {
    super(resolver, clock);
  }
}
