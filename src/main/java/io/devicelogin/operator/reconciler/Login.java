package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginStatus;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderRef;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.flow.CodeFlow;
import io.devicelogin.operator.flow.CodeGrant;
import io.devicelogin.operator.flow.DeviceFlow;
import io.devicelogin.operator.flow.Grant;
import io.devicelogin.operator.flow.PollSchedule;
import io.devicelogin.operator.flow.ProviderChange;
import io.devicelogin.operator.flow.StartedGrant;
import io.devicelogin.operator.flow.Step;
import io.devicelogin.operator.idp.DeviceAuthorization;
import io.devicelogin.operator.idp.IdentityProviderClient;
import io.devicelogin.operator.idp.IdpException;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.idp.TokenPollResult;
import io.devicelogin.operator.messages.Messages;
import io.devicelogin.operator.reconciler.InFlight.UnrecordedEnd;
import io.devicelogin.operator.secret.GrantStore;
import io.devicelogin.operator.status.Conditions;
import io.devicelogin.operator.status.DeviceLoginStatusBuilder;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A login until it has tokens: start the grant, store it, publish what the person needs; for the device grant (RFC
 * 8628) poll on the schedule {@link DeviceFlow} decides, for the authorization code grant wait for the IdP's response
 * ({@link CodeLogin}); hand issued tokens to {@link Issuance}.
 *
 * <p>Crash safety: the grant is stored before its user code is published (a grant whose store failed is held in
 * {@link InFlight} and stored on the retry instead of starting another); the finalizer is added in the same reconcile,
 * just before the user code is published (one request, not a reconcile of its own as JOSDK's default would take).
 */
final class Login {

  /** How soon a login whose provider is not ready looks again. */
  static final Duration PROVIDER_RECHECK = Duration.ofSeconds(10);

  /** First delay before retrying a device authorization that failed; doubles up to {@link DeviceFlow#MAX_BACKOFF}. */
  static final Duration START_RETRY = Duration.ofSeconds(5);

  private static final Logger LOG = LoggerFactory.getLogger(Login.class);

  private final IdentityProviderClient idp;
  private final GrantStore grants;
  private final Issuance issuance;
  private final Outcomes outcomes;
  private final InFlight inFlight;
  private final CodeLogin codeLogin;
  private final Clock clock;

  Login(
      IdentityProviderClient idp, GrantStore grants, Issuance issuance, Outcomes outcomes, InFlight inFlight,
      CodeLogin codeLogin, Clock clock) {
    this.idp = idp;
    this.grants = grants;
    this.issuance = issuance;
    this.outcomes = outcomes;
    this.inFlight = inFlight;
    this.codeLogin = codeLogin;
    this.clock = clock;
  }

  /** A provider that is not ready: wait for it (a grant keeps its user code shown until it expires). */
  UpdateControl<DeviceLogin> providerNotReady(
      Turn turn, Optional<StartedGrant> grant, ProviderResolution.NotReady notReady, Instant now) {
    DeviceLogin login = turn.login();
    Reason reason = notReady.retryable() ? Reason.IdPUnavailable : Reason.ProviderNotReady;
    if (grant.isPresent() && !now.isBefore(grant.get().expiresAt())
        && !(grant.get() instanceof CodeGrant code && code.response() != null)) {
      return outcomes.end(turn, grant.get() instanceof CodeGrant code ? CodeFlow.expired(code)
          : DeviceFlow.expired((Grant) grant.get()), now);
    }
    IdentityProviderRef ref = login.getSpec().getIdentityProviderRef();
    String message = "The " + ref.effectiveKind().name() + " " + ref.getName() + " is not ready ("
        + notReady.reason() + "): " + notReady.message();
    DeviceLoginStatus status = grant.isPresent()
        ? DeviceLoginStatusBuilder.awaitingUser(login, grant.get(), reason, message, now)
        : DeviceLoginStatusBuilder.pending(login, reason, message, now);
    return outcomes.patchIfChanged(turn, status, PROVIDER_RECHECK);
  }

  UpdateControl<DeviceLogin> start(Turn turn, ProviderConfig config, Instant now) {
    DeviceLogin login = turn.login();
    Optional<String> taken = grants.foreignSecret(login);
    if (taken.isPresent()) {
      return outcomes.end(turn, new Step.End(Phase.Failed, Reason.SecretConflict, taken.get() + "; the operator "
          + "keeps this login's device code under that name, so no login was started and that Secret was left as it "
          + "is. Delete or rename it, then start over. " + Messages.startOverHint()), now);
    }
    Grant unsaved = inFlight.unsavedGrant(turn);
    if (unsaved != null && unsaved.isFor(login.getMetadata().getGeneration(), login.restartRequest())
        && now.isBefore(unsaved.expiresAt())) {
      LOG.info("DeviceLogin {}: retrying to store the device grant started before", turn.ref());
      return publish(turn, unsaved, now);
    }
    inFlight.unsavedGrant(turn, null);
    if (config.authorizationCode()) {
      // nothing is asked of the IdP yet (the URL is built here): a grant whose store fails is simply built again
      String state = CodeFlow.newState(turn.namespace(), login.getMetadata().getName());
      try {
        return codeLogin.publish(turn, CodeGrant.start(idp.authorize(config, state), state, config,
            login.getMetadata().getGeneration(), login.restartRequest(), now.plus(CodeFlow.STATE_LIFETIME)), now);
      } catch (IdpException e) {
        return startFailed(turn, e, now);
      }
    }
    DeviceAuthorization authorization;
    try {
      authorization = idp.startDeviceAuthorization(config);
    } catch (IdpException e) {
      return startFailed(turn, e, now);
    }
    return publish(turn,
        Grant.start(authorization, config, login.getMetadata().getGeneration(), login.restartRequest()), now);
  }

  /** The grant could not be started: Pending, with back-off (the failures so far counted in status). */
  private UpdateControl<DeviceLogin> startFailed(Turn turn, IdpException e, Instant now) {
    DeviceLogin login = turn.login();
    DeviceLoginStatus current = login.getStatus();
    int failures = (current != null && current.getPhase() == Phase.Pending && current.getFailedAttempts() != null
        ? current.getFailedAttempts() : 0) + 1;
    Duration retry = DeviceFlow.backoff(START_RETRY, failures);
    boolean unavailable = e.kind() == IdpException.Kind.UNAVAILABLE;
    LOG.warn("DeviceLogin {}: could not start the login (attempt {}): {}", turn.ref(), failures, e.getMessage());
    String message = Messages.capitalize(e.getMessage()) + ". Retrying in " + retry.toSeconds() + "s.";
    return outcomes.patch(turn, DeviceLoginStatusBuilder.failing(DeviceLoginStatusBuilder.pending(
        login, unavailable ? Reason.IdPUnavailable : Reason.ProviderNotReady, message, now), failures, now), retry);
  }

  /**
   * Stores the grant, adds the finalizer, then publishes its user code: a login whose user code anyone saw is always
   * cleaned up by the operator when deleted. If storing fails, the grant is held in memory and stored on the retry
   * instead of starting another one at the IdP.
   */
  private UpdateControl<DeviceLogin> publish(Turn turn, Grant grant, Instant now) {
    inFlight.unsavedGrant(turn, grant);
    grants.save(turn.login(), grant);
    inFlight.unsavedGrant(turn, null);
    inFlight.schedule(turn, PollSchedule.firstPollAfter(now, grant.interval()));
    String message = DeviceFlow.waitingMessage(grant);
    LOG.info("DeviceLogin {}: device login started, user code published, expires at {}", turn.ref(),
        grant.expiresAt());
    outcomes.holdForCleanup(turn);
    UpdateControl<DeviceLogin> next = outcomes.patch(turn, DeviceLoginStatusBuilder.awaitingUser(
        turn.login(), grant, Reason.AuthorizationPending, message, now), grant.interval());
    outcomes.events().normal(turn.login(), "LoginStarted", message);
    return next;
  }

  /**
   * A started grant: what every grant needs first (an unrecorded end, a changed provider, the finalizer, tokens whose
   * write failed), then the device grant's poll or the authorization code grant's wait ({@link CodeLogin}).
   */
  UpdateControl<DeviceLogin> poll(Turn turn, StartedGrant started, Providers.Provider provider, Instant now) {
    DeviceLogin login = turn.login();
    ProviderConfig config = provider.config(login);
    UnrecordedEnd unrecorded = inFlight.unrecorded(turn);
    if (unrecorded != null && started.id().equals(unrecorded.grantId())) {
      LOG.info("DeviceLogin {}: retrying to record the end of the login", turn.ref());
      return outcomes.end(turn, unrecorded, now);
    }
    Optional<String> changed = ProviderChange.since(started.issuerUrl(), started.clientId(), config);
    if (changed.isPresent()) {
      return outcomes.end(turn, new Step.End(Phase.Failed, Reason.ProviderChanged, "This login was started at issuer "
          + started.issuerUrl() + " with client id " + started.clientId() + ", but " + changed.get() + "; its "
          + (started instanceof CodeGrant ? "authorization code" : "device code") + " is never sent to another "
          + "issuer or client, so the login ended. " + Messages.startOverHint()), now);
    }
    outcomes.holdForCleanup(turn);
    InFlight.UnwrittenTokens pending = inFlight.unwritten(turn);
    if (pending != null && !pending.refresh() && pending.grantId().equals(started.id())) {
      LOG.info("DeviceLogin {}: retrying the write of Secret {}", turn.ref(), pending.secret().getMetadata().getName());
      return issuance.write(turn, config, pending, now);
    }
    if (started instanceof CodeGrant code) {
      return codeLogin.await(turn, code, provider, now);
    }
    Grant stored = (Grant) started;
    // a grant whose slow_down interval could not be stored yet is polled with that interval, and stored again
    Grant unsaved = inFlight.unsavedGrant(turn);
    Grant grant = unsaved != null && unsaved.id().equals(stored.id()) ? unsaved : stored;
    if (grant != stored) {
      grants.save(login, grant);
      inFlight.unsavedGrant(turn, null);
    }
    PollSchedule schedule = inFlight.schedule(turn);
    if (schedule == null) {
      // First look at this grant since the operator started: did an earlier run already get its tokens?
      Optional<UpdateControl<DeviceLogin>> recovered = issuance.recover(turn, grant, provider, now);
      if (recovered.isPresent()) {
        return recovered.get();
      }
      // tokens an earlier process got for this grant and could not check yet are checked, not the code polled
      schedule = new PollSchedule(now.plus(grant.interval()), 0, grants.unverified(login).orElse(null));
      inFlight.schedule(turn, schedule);
    }
    Step step = DeviceFlow.beforePoll(grant, schedule, now);
    if (step instanceof Step.Wait wait) {
      return showsGrant(login, grant)
          ? UpdateControl.<DeviceLogin>noUpdate().rescheduleAfter(wait.delay())
          : outcomes.patch(turn, DeviceLoginStatusBuilder.awaitingUser(
              login, grant, Reason.AuthorizationPending, DeviceFlow.waitingMessage(grant), now), wait.delay());
    }
    if (step instanceof Step.End end) {
      return outcomes.end(turn, end, now);
    }
    // Tokens the IdP issued whose signing keys could not be fetched are checked again instead (the code is used up).
    TokenPollResult result = schedule.unverified() != null
        ? idp.verifyIssued(config, schedule.unverified())
        : idp.pollToken(config, grant.deviceCode());
    Instant polled = clock.instant();
    step = DeviceFlow.afterPoll(grant, schedule, result, polled);
    if (step instanceof Step.Continue next) {
      inFlight.schedule(turn, next.schedule());
      if (!next.grant().interval().equals(grant.interval())) {
        LOG.info("DeviceLogin {}: IdP asked to slow down, polling every {}s", turn.ref(),
            next.grant().interval().toSeconds());
        // polling follows the new interval even if storing it fails; the store is retried (above)
        inFlight.unsavedGrant(turn, next.grant());
        grants.save(login, next.grant());
        inFlight.unsavedGrant(turn, null);
      }
      if (next.schedule().unverified() != null && grants.unverified(login).isEmpty()) {
        // the device code is used up: these tokens are the login now, and must survive a restart
        grants.save(login, next.grant(), next.schedule().unverified());
      }
      if (next.reason() == Reason.IdPUnavailable) {
        LOG.warn("DeviceLogin {}: {}", turn.ref(), next.message());
      }
      Step after = DeviceFlow.beforePoll(next.grant(), next.schedule(), polled);
      if (after instanceof Step.End end) {
        return outcomes.end(turn, end, polled);
      }
      return outcomes.patchIfChanged(turn,
          DeviceLoginStatusBuilder.awaitingUser(login, next.grant(), next.reason(), next.message(), polled),
          after instanceof Step.Wait wait ? wait.delay() : Duration.ZERO);
    }
    if (step instanceof Step.End end) {
      return outcomes.end(turn, end, polled);
    }
    return issuance.issued(
        turn, grant.id(), config, provider.resource().getSpec(), ((Step.Issued) step).tokens(), polled);
  }

  private static boolean showsGrant(DeviceLogin login, Grant grant) {
    DeviceLoginStatus status = login.getStatus();
    return status != null
        && status.getPhase() == Phase.AwaitingUser
        && Objects.equals(status.getObservedGeneration(), login.getMetadata().getGeneration())
        && grant.userCode().equals(status.getUserCode())
        && Conditions.find(status.getConditions(), DeviceLoginStatusBuilder.RECONCILED) == null;
  }
}
