package io.devicelogin.operator.status;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginStatus;
import io.devicelogin.operator.api.v1alpha1.Identity;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.flow.Grant;
import java.time.Instant;
import java.util.ArrayList;

/**
 * Builds the next status of a DeviceLogin from its current one: pure, so each phase's shape is unit-tested. Only
 * non-secret fields: never a device code or a token.
 */
public final class DeviceLoginStatusBuilder {

  private DeviceLoginStatusBuilder() {}

  /** Waiting for the person to approve {@code grant}. */
  public static DeviceLoginStatus awaitingUser(
      DeviceLogin login, Grant grant, Reason reason, String message, Instant now) {
    DeviceLoginStatus next = base(login, Phase.AwaitingUser, false, reason, message, now);
    next.setUserCode(grant.userCode());
    next.setVerificationUri(grant.verificationUri().toString());
    next.setVerificationUriComplete(
        grant.verificationUriComplete() == null ? null : grant.verificationUriComplete().toString());
    next.setExpiresAt(Rfc3339.format(grant.expiresAt()));
    next.setPollInterval((int) grant.interval().toSeconds());
    return next;
  }

  /** No grant yet: the provider is not ready or the IdP could not start one. */
  public static DeviceLoginStatus pending(DeviceLogin login, Reason reason, String message, Instant now) {
    return base(login, Phase.Pending, false, reason, message, now);
  }

  /** The login ended without tokens (Denied, Expired, Failed). */
  public static DeviceLoginStatus ended(
      DeviceLogin login, Phase phase, Reason reason, String message, Instant now) {
    return base(login, phase, false, reason, message, now);
  }

  /** Tokens are in the Secret. */
  public static DeviceLoginStatus ready(
      DeviceLogin login, Identity identity, String secretName, Instant tokenExpiresAt, String message, Instant now) {
    DeviceLoginStatus next = base(login, Phase.Ready, true, Reason.Issued, message, now);
    next.setIdentity(identity);
    next.setSecretName(secretName);
    next.setTokenExpiresAt(Rfc3339.format(tokenExpiresAt));
    return next;
  }

  /**
   * The fields every phase shares. The user-code fields start empty (they belong to one grant); what an earlier
   * login left (Secret, identity, token times) is kept until a new login replaces it.
   */
  private static DeviceLoginStatus base(
      DeviceLogin login, Phase phase, boolean ready, Reason reason, String message, Instant now) {
    DeviceLoginStatus current = login.getStatus() == null ? new DeviceLoginStatus() : login.getStatus();
    Long generation = login.getMetadata().getGeneration();
    DeviceLoginStatus next = new DeviceLoginStatus();
    next.setPhase(phase);
    next.setObservedGeneration(generation);
    next.setSecretName(current.getSecretName());
    next.setIdentity(current.getIdentity());
    next.setTokenExpiresAt(current.getTokenExpiresAt());
    next.setRenewalTime(current.getRenewalTime());
    next.setLastRefreshTime(current.getLastRefreshTime());
    next.setConditions(Conditions.set(
        current.getConditions() == null ? new ArrayList<>() : current.getConditions(),
        Constants.READY, ready, reason.name(), message, generation, now));
    return next;
  }
}
