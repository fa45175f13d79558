package io.devicelogin.operator.status;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginStatus;
import io.devicelogin.operator.api.v1alpha1.Identity;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.flow.CodeGrant;
import io.devicelogin.operator.flow.Grant;
import io.devicelogin.operator.flow.StartedGrant;
import java.time.Instant;
import io.devicelogin.operator.api.v1alpha1.Condition;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the next status of a DeviceLogin from its current one: pure, so each phase's shape is unit-tested. Only
 * non-secret fields: never a device code, authorization code, PKCE verifier or token.
 */
public final class DeviceLoginStatusBuilder {

  /** Condition type present only while reconciles fail; the next successful status write removes it. */
  public static final String RECONCILED = "Reconciled";

  public static final String RECONCILE_ERROR = "ReconcileError";

  private DeviceLoginStatusBuilder() {}

  /**
   * Waiting for the person: to approve a device grant (its user code and verification URI), or to sign in at an
   * authorization code grant's URL.
   */
  public static DeviceLoginStatus awaitingUser(
      DeviceLogin login, StartedGrant started, Reason reason, String message, Instant now) {
    DeviceLoginStatus next = base(login, Phase.AwaitingUser, false, reason, message, now);
    next.setExpiresAt(Rfc3339.format(started.expiresAt()));
    if (started instanceof CodeGrant code) {
      next.setAuthorizationUrl(code.authorizationUrl().toString());
      return next;
    }
    Grant grant = (Grant) started;
    next.setUserCode(grant.userCode());
    next.setVerificationUri(grant.verificationUri().toString());
    next.setVerificationUriComplete(
        grant.verificationUriComplete() == null ? null : grant.verificationUriComplete().toString());
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

  /**
   * Tokens from a login are in the Secret.
   *
   * @param renewalTime when they will be refreshed, or null when they can't be (no refresh token)
   */
  public static DeviceLoginStatus ready(
      DeviceLogin login, Identity identity, String secretName, Instant tokenExpiresAt, Instant renewalTime,
      String message, Instant now) {
    DeviceLoginStatus next = base(login, Phase.Ready, true, Reason.Issued, message, now);
    next.setIdentity(identity);
    next.setSecretName(secretName);
    next.setTokenExpiresAt(Rfc3339.format(tokenExpiresAt));
    next.setRenewalTime(Rfc3339.format(renewalTime));
    next.setLastRefreshTime(null);
    return next;
  }

  /**
   * A refresh put new tokens in the Secret.
   *
   * @param renewalTime the next refresh, or null when no further refresh can renew the ID token
   */
  public static DeviceLoginStatus refreshed(
      DeviceLogin login, Instant tokenExpiresAt, Instant renewalTime, String message, Instant now) {
    DeviceLoginStatus next = base(login, Phase.Ready, true, Reason.Refreshed, message, now);
    next.setTokenExpiresAt(Rfc3339.format(tokenExpiresAt));
    next.setRenewalTime(Rfc3339.format(renewalTime));
    next.setLastRefreshTime(Rfc3339.format(now));
    return next;
  }

  /** A refresh failed for now; the tokens in the Secret are still valid and the refresh is retried at {@code retryAt}. */
  public static DeviceLoginStatus refreshFailing(DeviceLogin login, Instant retryAt, String message, Instant now) {
    DeviceLoginStatus next = base(login, Phase.Ready, true, Reason.RefreshFailed, message, now);
    next.setRenewalTime(Rfc3339.format(retryAt));
    return next;
  }

  /**
   * {@code next}, recording that the step under way (starting the login, refreshing the tokens) failed {@code attempts}
   * times in a row, the last at {@code now}.
   */
  public static DeviceLoginStatus failing(DeviceLoginStatus next, int attempts, Instant now) {
    next.setFailedAttempts(attempts);
    next.setLastFailureTime(Rfc3339.format(now));
    return next;
  }

  /**
   * The current status, unchanged but for one more failed attempt of a step that shows no phase of its own (revoking
   * the refresh token while the DeviceLogin is deleted).
   */
  public static DeviceLoginStatus failedAgain(DeviceLogin login, int attempts, Instant now) {
    DeviceLoginStatus current = login.getStatus() == null ? new DeviceLoginStatus() : login.getStatus();
    return failing(Serialization.clone(current), attempts, now);
  }

  /**
   * The current status with a Reconciled=False condition saying what went wrong; phase and Ready are left as they
   * are (a new login gets Pending), so an error while recording an outcome never rewrites the outcome.
   */
  public static DeviceLoginStatus reconcileError(DeviceLogin login, String message, Instant now) {
    DeviceLoginStatus current = login.getStatus() == null ? new DeviceLoginStatus() : login.getStatus();
    DeviceLoginStatus next = Serialization.clone(current);
    if (next.getPhase() == null) {
      next.setPhase(Phase.Pending);
    }
    List<Condition> conditions = next.getConditions() == null ? new ArrayList<>() : next.getConditions();
    if (Conditions.find(conditions, Constants.READY) == null) {
      conditions = Conditions.set(conditions, Constants.READY, false, RECONCILE_ERROR, message,
          login.getMetadata().getGeneration(), now);
    }
    next.setConditions(Conditions.set(conditions, RECONCILED, false, RECONCILE_ERROR, message,
        login.getMetadata().getGeneration(), now));
    return next;
  }

  /**
   * The fields every phase shares. The user-code fields start empty (they belong to one grant); what an earlier
   * login left (Secret, identity, token times) is kept until a new login replaces it; a renewal time only while
   * Ready.
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
    next.setObservedRestart(login.restartRequest());
    next.setRenewalTime(phase == Phase.Ready ? current.getRenewalTime() : null);
    next.setLastRefreshTime(current.getLastRefreshTime());
    List<Condition> conditions = current.getConditions() == null
        ? new ArrayList<>()
        : current.getConditions().stream().filter(c -> !RECONCILED.equals(c.getType())).toList();
    next.setConditions(Conditions.set(conditions, Constants.READY, ready, reason.name(), message, generation, now));
    return next;
  }
}
