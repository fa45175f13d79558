package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginStatus;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.flow.CodeFlow;
import io.devicelogin.operator.flow.CodeGrant;
import io.devicelogin.operator.flow.DeviceFlow;
import io.devicelogin.operator.flow.PollSchedule;
import io.devicelogin.operator.idp.IdentityProviderClient;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.idp.RedirectResponse;
import io.devicelogin.operator.idp.TokenPollResult;
import io.devicelogin.operator.idp.UnverifiedTokens;
import io.devicelogin.operator.messages.Messages;
import io.devicelogin.operator.secret.GrantStore;
import io.devicelogin.operator.secret.PastedResponses;
import io.devicelogin.operator.status.Conditions;
import io.devicelogin.operator.status.DeviceLoginStatusBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A login through the authorization code grant with PKCE until it has tokens: publish the authorization URL (its
 * grant, with verifier, state and nonce, stored first), wait for the IdP's response (a pasted authorization-response
 * Secret read here, or one the callback endpoint stored in the grant Secret), exchange its code once, and hand the
 * tokens to {@link Issuance}.
 *
 * <p>Crash safety: a response is stored in the grant Secret before anything else happens to it (a pasted Secret is
 * deleted only after); the grant is marked {@code exchanging} before its code goes to the IdP, so a restart that finds
 * the mark without the login's token Secret ends the login ({@link Reason#CodeExchangeInterrupted}) instead of sending
 * the code a second time. Tokens whose ID token can't be checked yet are kept with the grant, as for the device grant.
 */
final class CodeLogin {

  /** First delay before checking again tokens whose signing keys could not be fetched; doubles. */
  static final Duration RECHECK = Duration.ofSeconds(5);

  private static final Logger LOG = LoggerFactory.getLogger(CodeLogin.class);

  private final IdentityProviderClient idp;
  private final GrantStore grants;
  private final PastedResponses pasted;
  private final Issuance issuance;
  private final Outcomes outcomes;
  private final InFlight inFlight;
  private final Clock clock;

  CodeLogin(
      IdentityProviderClient idp, GrantStore grants, PastedResponses pasted, Issuance issuance, Outcomes outcomes,
      InFlight inFlight, Clock clock) {
    this.idp = idp;
    this.grants = grants;
    this.pasted = pasted;
    this.issuance = issuance;
    this.outcomes = outcomes;
    this.inFlight = inFlight;
    this.clock = clock;
  }

  /** Stores the grant, adds the finalizer, then publishes the authorization URL. */
  UpdateControl<DeviceLogin> publish(Turn turn, CodeGrant grant, Instant now) {
    grants.save(turn.login(), grant);
    String message = CodeFlow.waitingMessage(grant);
    LOG.info("DeviceLogin {}: authorization code login started, authorization URL published, expires at {}",
        turn.ref(), grant.expiresAt());
    outcomes.holdForCleanup(turn);
    UpdateControl<DeviceLogin> next = outcomes.patch(turn, DeviceLoginStatusBuilder.awaitingUser(
        turn.login(), grant, Reason.AuthorizationPending, message, now), Duration.between(now, grant.expiresAt()));
    outcomes.events().normal(turn.login(), "LoginStarted", message);
    return next;
  }

  /** The next step of a started grant (after what {@link Login#poll} does for every grant). */
  UpdateControl<DeviceLogin> await(Turn turn, CodeGrant grant, Providers.Provider provider, Instant now) {
    DeviceLogin login = turn.login();
    if (grant.exchanging() || grant.response() != null) {
      // the state is used: a pasted Secret still there (its delete lost in a crash) is refused and deleted now, not
      // left with its code until the login's first reconcile after it ended (at its refresh, possibly hours later)
      pasted.refuseAll(login, "this login's state was already used");
    }
    if (grant.exchanging()) {
      return afterExchange(turn, grant, provider, now);
    }
    if (grant.response() != null) {
      return answered(turn, grant, provider, now);
    }
    String refused = grants.refusal(login).orElse(null);
    for (Secret secret : pasted.of(login)) {
      CodeFlow.Verdict verdict = CodeFlow.judge(grant, PastedResponses.read(secret), now);
      if (verdict instanceof CodeFlow.Verdict.Refuse refuse) {
        LOG.info("DeviceLogin {}: refused the response pasted in Secret {}: {}", turn.ref(),
            secret.getMetadata().getName(), refuse.receipt());
        pasted.delete(secret);
        refused = refuse.message() + " (Secret " + secret.getMetadata().getName() + ", deleted)";
        // kept with the grant: the next reconcile, which finds no pasted Secret, still says so
        grants.noteRefusal(login, refused);
        continue;
      }
      CodeGrant answered = ((CodeFlow.Verdict.Accept) verdict).grant();
      // stored before the pasted Secret goes: a crash in between leaves the response in the grant Secret
      grants.save(login, answered);
      pasted.delete(secret);
      LOG.info("DeviceLogin {}: took the response pasted in Secret {}", turn.ref(), secret.getMetadata().getName());
      return answered(turn, answered, provider, now);
    }
    if (!now.isBefore(grant.expiresAt())) {
      return outcomes.end(turn, CodeFlow.expired(grant), now);
    }
    String message = (refused == null ? "" : refused + " ") + CodeFlow.waitingMessage(grant);
    Duration untilExpiry = Duration.between(now, grant.expiresAt());
    return showsGrant(login, grant, message)
        ? UpdateControl.<DeviceLogin>noUpdate().rescheduleAfter(untilExpiry)
        : outcomes.patch(turn, DeviceLoginStatusBuilder.awaitingUser(
            login, grant, Reason.AuthorizationPending, message, now), untilExpiry);
  }

  /** A grant whose response is stored: the IdP's error ends the login, a code is exchanged. */
  private UpdateControl<DeviceLogin> answered(Turn turn, CodeGrant grant, Providers.Provider provider, Instant now) {
    if (grant.response() instanceof RedirectResponse.Error error) {
      return outcomes.end(turn, CodeFlow.refused(error), now);
    }
    return exchange(turn, grant, provider);
  }

  /** Marks the grant as exchanging (stored), then sends its code to the token endpoint, once. */
  private UpdateControl<DeviceLogin> exchange(Turn turn, CodeGrant answered, Providers.Provider provider) {
    DeviceLogin login = turn.login();
    CodeGrant grant = answered.exchangeStarted();
    grants.save(login, grant);
    ProviderConfig config = provider.config(login);
    LOG.info("DeviceLogin {}: exchanging the authorization code", turn.ref());
    TokenPollResult result = idp.exchangeCode(config, grant.redirectUri(), grant.code(), grant.codeVerifier(),
        grant.nonce());
    return exchanged(turn, grant, provider, result, 0, clock.instant());
  }

  /**
   * A grant whose code was sent: tokens held here or with the grant wait for a check of their ID token; otherwise an
   * earlier process sent it, and either wrote the token Secret (recovered) or stopped before (the login ends).
   */
  private UpdateControl<DeviceLogin> afterExchange(
      Turn turn, CodeGrant grant, Providers.Provider provider, Instant now) {
    PollSchedule schedule = inFlight.schedule(turn);
    if (schedule == null || schedule.unverified() == null) {
      Optional<UnverifiedTokens> stored = grants.unverified(turn.login());
      if (stored.isEmpty()) {
        return issuance.recover(turn, grant, provider, now)
            .orElseGet(() -> outcomes.end(turn, CodeFlow.interrupted(), now));
      }
      schedule = new PollSchedule(now, 0, stored.get());
    }
    if (now.isBefore(schedule.nextPollAt())) {
      return UpdateControl.<DeviceLogin>noUpdate().rescheduleAfter(Duration.between(now, schedule.nextPollAt()));
    }
    TokenPollResult result = idp.verifyIssued(provider.config(turn.login()), schedule.unverified());
    return exchanged(turn, grant, provider, result, schedule.failures(), clock.instant());
  }

  private UpdateControl<DeviceLogin> exchanged(
      Turn turn, CodeGrant grant, Providers.Provider provider, TokenPollResult result, int failures, Instant now) {
    DeviceLogin login = turn.login();
    if (result instanceof TokenPollResult.Issued issued) {
      return issuance.issued(
          turn, grant.id(), provider.config(login), provider.resource().getSpec(), issued.tokens(), now);
    }
    if (result instanceof TokenPollResult.Unverified unverified) {
      Instant next = now.plus(DeviceFlow.backoff(RECHECK, failures + 1));
      if (next.isAfter(unverified.tokens().checkUntil())) {
        next = unverified.tokens().checkUntil();
      }
      inFlight.schedule(turn, new PollSchedule(next, failures + 1, unverified.tokens()));
      if (grants.unverified(login).isEmpty()) {
        // the code is used up: these tokens are the login now, and must survive a restart
        grants.save(login, grant, unverified.tokens());
      }
      String message = Messages.capitalize(unverified.message()) + ". The tokens are kept with the login's grant "
          + "(not in its token Secret) and checked again at " + next + "; nothing is stored in the token Secret "
          + "before the check succeeds.";
      LOG.warn("DeviceLogin {}: {}", turn.ref(), message);
      return outcomes.patchIfChanged(turn, DeviceLoginStatusBuilder.awaitingUser(
          login, grant, Reason.IdPUnavailable, message, now), Duration.between(now, next));
    }
    LOG.warn("DeviceLogin {}: the code exchange failed: {}", turn.ref(), result.getClass().getSimpleName());
    return outcomes.end(turn, CodeFlow.exchangeFailed(result), now);
  }

  /** Whether the status already shows this grant's URL and {@code message} (nothing to write). */
  private static boolean showsGrant(DeviceLogin login, CodeGrant grant, String message) {
    DeviceLoginStatus status = login.getStatus();
    if (status == null || status.getPhase() != Phase.AwaitingUser
        || !Objects.equals(status.getObservedGeneration(), login.getMetadata().getGeneration())
        || !grant.authorizationUrl().toString().equals(status.getAuthorizationUrl())
        || Conditions.find(status.getConditions(), DeviceLoginStatusBuilder.RECONCILED) != null) {
      return false;
    }
    var ready = Conditions.find(status.getConditions(), io.devicelogin.operator.api.v1alpha1.Constants.READY);
    return ready != null && message.equals(ready.getMessage());
  }
}
