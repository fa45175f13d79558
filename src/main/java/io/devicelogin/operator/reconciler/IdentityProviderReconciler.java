package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.processing.retry.GradualRetry;
import io.devicelogin.operator.status.StatusWriter;
import java.time.Clock;

/** Reconciles namespaced IdentityProviders. */
/* API errors are retried with back-off for as long as they last (2 s doubling to 2 min), never given up on. */
@GradualRetry(maxAttempts = -1, initialInterval = 2000, intervalMultiplier = 2, maxInterval = 120_000)
@ControllerConfiguration(name = "identityprovider")
public class IdentityProviderReconciler extends ProviderReconciler<IdentityProvider> {

  public IdentityProviderReconciler(
      ProviderResolver resolver, StatusWriter statusWriter, UnreadableObjects unreadable, Clock clock) {
    super(resolver, statusWriter, unreadable, clock);
  }
}
