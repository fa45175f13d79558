package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderStatus;
import io.devicelogin.operator.idp.ProviderEndpoints;
import io.devicelogin.operator.api.v1alpha1.ProviderResource;
import io.devicelogin.operator.api.v1alpha1.TolerantResource;
import io.devicelogin.operator.status.Conditions;
import io.devicelogin.operator.status.StatusWriter;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.time.Clock;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks an IdentityProvider or ClusterIdentityProvider: discovery, device endpoint, client secret. Re-checks
 * periodically so the Ready condition follows the IdP.
 */
public abstract class ProviderReconciler<P extends TolerantResource<? extends IdentityProviderSpec, IdentityProviderStatus>>
    implements Reconciler<P> {

  /** How often a ready provider is checked again. */
  public static final Duration RECHECK_READY = Duration.ofMinutes(10);

  /** How soon an unreachable IdP is tried again. */
  public static final Duration RECHECK_UNAVAILABLE = Duration.ofSeconds(30);

  /** How soon a misconfigured provider is checked again (a missing Secret may appear). */
  public static final Duration RECHECK_MISCONFIGURED = Duration.ofMinutes(2);

  private static final Logger LOG = LoggerFactory.getLogger(ProviderReconciler.class);

  private final ProviderResolver resolver;
  private final StatusWriter statusWriter;
  private final UnreadableObjects unreadable;
  private final Clock clock;

  protected ProviderReconciler(
      ProviderResolver resolver, StatusWriter statusWriter, UnreadableObjects unreadable, Clock clock) {
    this.resolver = resolver;
    this.statusWriter = statusWriter;
    this.unreadable = unreadable;
    this.clock = clock;
  }

  @Override
  public UpdateControl<P> reconcile(P provider, Context<P> context) {
    // reported here; resolving it gives Ready=False (Unreadable), so DeviceLogins naming it wait
    unreadable.unreadable(provider, "It is Ready=False and no login uses it.");
    ProviderResolution resolution = resolver.resolve((ProviderResource) provider, true);
    IdentityProviderStatus current = provider.getStatus() == null ? new IdentityProviderStatus() : provider.getStatus();
    IdentityProviderStatus next = new IdentityProviderStatus();
    Long generation = provider.getMetadata().getGeneration();
    next.setObservedGeneration(generation);
    Duration recheck;
    if (resolution instanceof ProviderResolution.Ready ready) {
      ProviderEndpoints endpoints = ready.endpoints();
      boolean code = ready.config().authorizationCode();
      next.setDeviceAuthorizationEndpoint(code ? null : endpoints.deviceAuthorizationEndpoint().toString());
      next.setAuthorizationEndpoint(code ? endpoints.authorizationEndpoint().toString() : null);
      next.setTokenEndpoint(endpoints.tokenEndpoint().toString());
      next.setConditions(Conditions.set(
          current.getConditions(), Constants.READY, true, ProviderResolver.DISCOVERED, code
              ? "Discovery worked; the IdP advertises an authorization endpoint and PKCE S256"
              : "Discovery worked; the IdP advertises a device authorization endpoint", generation, clock.instant()));
      recheck = RECHECK_READY;
    } else {
      ProviderResolution.NotReady notReady = (ProviderResolution.NotReady) resolution;
      next.setConditions(Conditions.set(
          current.getConditions(), Constants.READY, false, notReady.reason(), notReady.message(), generation,
          clock.instant()));
      recheck = notReady.retryable() ? RECHECK_UNAVAILABLE : RECHECK_MISCONFIGURED;
    }
    if (StatusWriter.same(current, next)) {
      return UpdateControl.<P>noUpdate().rescheduleAfter(recheck);
    }
    String namespace = provider.getMetadata().getNamespace();
    LOG.info("{} {}: Ready={} ({})", provider.getKind(),
        (namespace == null ? "" : namespace + "/") + provider.getMetadata().getName(),
        resolution instanceof ProviderResolution.Ready,
        Conditions.find(next.getConditions(), Constants.READY).getReason());
    statusWriter.write(provider, next);
    provider.setStatus(next);
    return UpdateControl.<P>noUpdate().rescheduleAfter(recheck);
  }

}
