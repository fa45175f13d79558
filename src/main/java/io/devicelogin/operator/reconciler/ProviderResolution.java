package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.idp.ProviderEndpoints;

/** Whether an IdentityProvider/ClusterIdentityProvider can be used, and if so how. */
public sealed interface ProviderResolution {

  /** Discovery worked; the IdP advertises a device authorization endpoint. */
  record Ready(ProviderConfig config, ProviderEndpoints endpoints) implements ProviderResolution {}

  /**
   * Not usable now.
   *
   * @param reason condition reason on the provider (Discovered is the ready one)
   * @param message what to fix, for a person
   * @param retryable true when waiting may fix it (the IdP is unreachable), false when the config must change
   */
  record NotReady(String reason, String message, boolean retryable) implements ProviderResolution {}
}
