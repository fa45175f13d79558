package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginStatus;
import io.devicelogin.operator.api.v1alpha1.Identity;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.flow.StartedGrant;
import io.devicelogin.operator.flow.IdentityPolicy;
import io.devicelogin.operator.flow.Step;
import io.devicelogin.operator.idp.IdentityProviderClient;
import io.devicelogin.operator.idp.IdpException;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.messages.Messages;
import io.devicelogin.operator.metrics.OperatorMetrics;
import io.devicelogin.operator.reconciler.InFlight.UnrecordedEnd;
import io.devicelogin.operator.reconciler.InFlight.UnwrittenTokens;
import io.devicelogin.operator.secret.GrantStore;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.status.Conditions;
import io.devicelogin.operator.status.DeviceLoginStatusBuilder;
import io.devicelogin.operator.status.Rfc3339;
import io.devicelogin.operator.status.StatusWriter;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.api.reconciler.PrimaryUpdateAndCacheUtils;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import java.time.Duration;
import java.time.Instant;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records what a login step decided, shared by login, renewal and deletion: the status first (one write, cached by
 * JOSDK so the next reconcile reads it), then the log line, the metric and the Event, so a failed write leaves no
 * Event for a state that was never recorded; then the grant Secret of a login whose end the status now records.
 */
final class Outcomes {

  /**
   * How often the API server may refuse for good (400, 403, 413, 422) to store a login's tokens before they are dropped
   * from memory and the login ends (SecretWriteRefused); conflicts, throttling and server errors are retried as long
   * as they last.
   */
  static final int MAX_REFUSED_WRITES = 3;

  private static final Logger LOG = LoggerFactory.getLogger(Outcomes.class);

  private final StatusWriter statusWriter;
  private final EventRecorder events;
  private final OperatorMetrics metrics;
  private final GrantStore grants;
  private final TokenSecrets tokenSecrets;
  private final IdentityProviderClient idp;
  private final InFlight inFlight;

  Outcomes(
      StatusWriter statusWriter, EventRecorder events, OperatorMetrics metrics, GrantStore grants,
      TokenSecrets tokenSecrets, IdentityProviderClient idp, InFlight inFlight) {
    this.statusWriter = statusWriter;
    this.events = events;
    this.metrics = metrics;
    this.grants = grants;
    this.tokenSecrets = tokenSecrets;
    this.idp = idp;
    this.inFlight = inFlight;
  }

  EventRecorder events() {
    return events;
  }

  OperatorMetrics metrics() {
    return metrics;
  }

  /**
   * Writes the status now (one JSON patch replacing it, cached for the next reconcile), then looks again after
   * {@code next}.
   */
  UpdateControl<DeviceLogin> patch(Turn turn, DeviceLoginStatus status, Duration next) {
    write(turn, status);
    return UpdateControl.<DeviceLogin>noUpdate().rescheduleAfter(next);
  }

  /** {@link #patch}, or no write at all when the status would not change. */
  UpdateControl<DeviceLogin> patchIfChanged(Turn turn, DeviceLoginStatus status, Duration next) {
    if (StatusWriter.same(turn.login().getStatus(), status)) {
      return UpdateControl.<DeviceLogin>noUpdate().rescheduleAfter(next);
    }
    return patch(turn, status, next);
  }

  void write(Turn turn, DeviceLoginStatus status) {
    DeviceLogin login = turn.login();
    DeviceLogin stored = PrimaryUpdateAndCacheUtils.updateAndCacheResource(
        login, turn.context(), UnaryOperator.identity(), current -> statusWriter.write(current, status));
    login.setStatus(status);
    login.getMetadata().setResourceVersion(stored.getMetadata().getResourceVersion());
    var readyCondition = Conditions.find(status.getConditions(), Constants.READY);
    metrics.readyStatus(turn.namespace(), login.getMetadata().getName(),
        readyCondition == null ? "Unknown" : readyCondition.getStatus());
  }

  /**
   * Adds the cleanup finalizer (revoke the refresh token, delete the token Secret) if it is missing; the result is
   * cached like a status write, so it wakes no reconcile of its own.
   */
  void holdForCleanup(Turn turn) {
    DeviceLogin login = turn.login();
    if (login.isMarkedForDeletion() || login.hasFinalizer(Constants.FINALIZER)) {
      return;
    }
    DeviceLogin stored = PrimaryUpdateAndCacheUtils.addFinalizer(turn.context().getClient(), login,
        Constants.FINALIZER);
    turn.context().eventSourceRetriever().getControllerEventSource()
        .handleRecentResourceUpdate(ResourceID.fromResource(login), stored, login);
    login.getMetadata().setFinalizers(stored.getMetadata().getFinalizers());
    login.getMetadata().setResourceVersion(stored.getMetadata().getResourceVersion());
  }

  /** The tokens are in Secret {@code secretName}: Ready, then the grant Secret goes. */
  UpdateControl<DeviceLogin> ready(
      Turn turn, Identity identity, String secretName, Instant tokenExpiresAt, Instant renewalTime, Instant now) {
    String message = "User " + identity.getUsername() + " logged in; the tokens are in Secret " + secretName + "; "
        + (renewalTime == null
            ? "the IdP issued no refresh token, so the login ends when the ID token expires at "
                + Rfc3339.format(tokenExpiresAt) + "."
            : "next refresh at " + Rfc3339.format(renewalTime) + ".");
    // If this write fails, the retry finds the token Secret of this grant and records Ready from it (Issuance).
    write(turn, DeviceLoginStatusBuilder.ready(
        turn.login(), identity, secretName, tokenExpiresAt, renewalTime, message, now));
    inFlight.forget(turn);
    LOG.info("DeviceLogin {}: {}", turn.ref(), message);
    metrics.loginEnded(Phase.Ready.name());
    publishTokenTimes(turn.login(), tokenExpiresAt, renewalTime);
    events.normal(turn.login(), "LoginSucceeded", message);
    grants.delete(turn.login());
    return UpdateControl.<DeviceLogin>noUpdate().rescheduleAfter(untilNextLook(now, tokenExpiresAt, renewalTime));
  }

  UpdateControl<DeviceLogin> end(Turn turn, Step.End end, Instant now) {
    return end(turn, new UnrecordedEnd(grants.find(turn.login()).map(StartedGrant::id).orElse(null), end, null), now);
  }

  /**
   * Records an end: held in memory until the status says so (a failed write is retried from there), the Event and the
   * metric only once it does; then the grant Secret goes.
   */
  UpdateControl<DeviceLogin> end(Turn turn, UnrecordedEnd ending, Instant now) {
    Step.End end = ending.end();
    inFlight.forget(turn);
    inFlight.unrecorded(turn, ending);
    if (ending.secretToDelete() != null) {
      tokenSecrets.deleteIfWrittenBy(turn.login(), ending.secretToDelete());
    }
    write(turn, DeviceLoginStatusBuilder.ended(turn.login(), end.phase(), end.reason(), end.message(), now));
    inFlight.forget(turn);
    LOG.info("DeviceLogin {}: login ended {} ({})", turn.ref(), end.phase(), end.reason());
    metrics.loginEnded(end.phase().name());
    events.warning(turn.login(), end.reason().name(), end.message());
    grants.delete(turn.login());
    return UpdateControl.noUpdate();
  }

  /**
   * Tokens this login must not keep: their refresh token is revoked at {@code config}, the issuer and client that
   * issued it (null: it can't be attributed to one, nothing is sent), the token Secret {@code secretName} is deleted if
   * this DeviceLogin writes it, and the end is recorded from memory until both succeeded, so the tokens are never used.
   *
   * @param grantId the grant whose login this ends, null for a Ready login
   * @param outcome what happened to the tokens, for the message
   */
  UpdateControl<DeviceLogin> refuse(
      Turn turn, String grantId, ProviderConfig config, String refreshToken, String secretName,
      IdentityPolicy.Decision.Refused refused, String outcome, Instant now) {
    if (config != null) {
      discard(turn, config, refreshToken);
    }
    return end(turn, new UnrecordedEnd(grantId, new Step.End(Phase.Failed, refused.reason(), refused.message()
        + " " + outcome + " " + Messages.startOverHint()), secretName), now);
  }

  /**
   * The API server refused to store tokens (first login or refresh): a conflict, throttling or a server error is thrown
   * for JOSDK's retry with the tokens held in memory; a refusal for good (400, 403, 413, 422) too, until the
   * {@value #MAX_REFUSED_WRITES}th, then they are dropped — held for good they would grow with every such login —
   * their refresh token is revoked at {@code config} (null: it can't be, nothing is sent) and the login ends.
   */
  UpdateControl<DeviceLogin> writeRefused(
      Turn turn, ProviderConfig config, UnwrittenTokens tokens, KubernetesClientException e, Instant now) {
    int code = e.getCode();
    if (code != 400 && code != 403 && code != 413 && code != 422) {
      throw e;
    }
    UnwrittenTokens refused = tokens.refusedOnce();
    if (refused.refusals() < MAX_REFUSED_WRITES) {
      inFlight.unwritten(turn, refused);
      throw e;
    }
    inFlight.unwritten(turn, null);
    if (config != null) {
      discard(turn, config, TokenSecrets.value(tokens.secret(), TokenSecrets.REFRESH_TOKEN));
    }
    return end(turn, new Step.End(Phase.Failed, Reason.SecretWriteRefused, "The API server refused to store the "
        + (tokens.refresh() ? "refreshed " : "") + "tokens in Secret " + tokens.secret().getMetadata().getName() + " "
        + MAX_REFUSED_WRITES + " times (HTTP " + code + (e.getStatus() == null || e.getStatus().getReason() == null
            ? "" : " " + e.getStatus().getReason()) + "); the tokens were discarded"
        + (config == null ? "" : " and their refresh token revoked") + ". Check the operator's RBAC and admission "
        + "policies for Secrets in this namespace. " + Messages.startOverHint()), now);
  }

  /**
   * Tokens that must not be stored: revoke their refresh token (null: none) at {@code config}, the issuer and client
   * that issued it, so no live credential is left (best effort).
   */
  void discard(Turn turn, ProviderConfig config, String refreshToken) {
    if (refreshToken == null) {
      return;
    }
    try {
      idp.revoke(config, refreshToken);
    } catch (IdpException e) {
      LOG.warn("DeviceLogin {}: could not revoke the refresh token of discarded tokens: {}", turn.ref(),
          e.getMessage());
    }
  }

  /**
   * The status of an ended or Ready login keeps a Reconciled=False an earlier failed reconcile wrote; this reconcile
   * got this far, so the error is over: write the status without it (nothing else changes).
   */
  void clearReconcileError(Turn turn) {
    DeviceLoginStatus status = turn.login().getStatus();
    if (Conditions.find(status.getConditions(), DeviceLoginStatusBuilder.RECONCILED) == null) {
      return;
    }
    DeviceLoginStatus cleared = Serialization.clone(status);
    cleared.setConditions(status.getConditions().stream()
        .filter(c -> !DeviceLoginStatusBuilder.RECONCILED.equals(c.getType())).toList());
    write(turn, cleared);
  }

  void publishTokenTimes(DeviceLogin login, Instant expiry, Instant renewal) {
    metrics.tokenTimes(login.getMetadata().getNamespace(), login.getMetadata().getName(), expiry, renewal);
  }

  /** Until the next refresh, or the ID token's expiry when that comes first (or there is no refresh). */
  static Duration untilNextLook(Instant now, Instant expiry, Instant renewal) {
    Instant next = renewal == null || renewal.isAfter(expiry) ? expiry : renewal;
    Duration delay = Duration.between(now, next);
    return delay.isNegative() ? Duration.ZERO : delay;
  }
}
