package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import java.time.Clock;

/** Reconciles namespaced IdentityProviders. */
@ControllerConfiguration(name = "identityprovider")
public class IdentityProviderReconciler extends ProviderReconciler<IdentityProvider> {

  public IdentityProviderReconciler(ProviderResolver resolver, Clock clock) {
    super(resolver, clock);
  }
}
