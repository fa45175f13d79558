package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProvider;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.processing.retry.GradualRetry;
import io.devicelogin.operator.status.StatusWriter;
import java.time.Clock;

/** Reconciles cluster-scoped ClusterIdentityProviders. */
/* API errors are retried with back-off for as long as they last (2 s doubling to 2 min), never given up on. */
@GradualRetry(maxAttempts = -1, initialInterval = 2000, intervalMultiplier = 2, maxInterval = 120_000)
@ControllerConfiguration(name = "clusteridentityprovider")
public class ClusterIdentityProviderReconciler extends ProviderReconciler<ClusterIdentityProvider> {

  public ClusterIdentityProviderReconciler(
      ProviderResolver resolver, StatusWriter statusWriter, UnreadableObjects unreadable, Clock clock) {
    super(resolver, statusWriter, unreadable, clock);
  }
}
