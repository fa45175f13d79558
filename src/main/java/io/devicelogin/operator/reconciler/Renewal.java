package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginStatus;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.flow.IdentityPolicy;
import io.devicelogin.operator.flow.Step;
import io.devicelogin.operator.flow.TokenRenewal;
import io.devicelogin.operator.idp.IdentityProviderClient;
import io.devicelogin.operator.idp.IssuedTokens;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.idp.TokenRefreshResult;
import io.devicelogin.operator.idp.UnverifiedTokens;
import io.devicelogin.operator.messages.Messages;
import io.devicelogin.operator.reconciler.InFlight.UnrecordedEnd;
import io.devicelogin.operator.reconciler.InFlight.UnwrittenTokens;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.status.DeviceLoginStatusBuilder;
import io.devicelogin.operator.status.Rfc3339;
import io.devicelogin.operator.status.StatusWriter;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Ready login: keep its token Secret fresh. Stop if the Secret is gone or another DeviceLogin took it over, refresh
 * at the renewal time (retrying with back-off while the ID token is valid, counted in status.failedAttempts), end
 * when the ID token expires.
 *
 * <p>Crash safety: a refresh is marked on the token Secret, with this operator instance's name, before the refresh
 * token is sent; a mark of another instance means a refresh was interrupted, and a refresh token the IdP may have
 * rotated is never presented again. Refreshed tokens whose write failed are held in {@link InFlight} and written on
 * the retry.
 */
final class Renewal {

  private static final Logger LOG = LoggerFactory.getLogger(Renewal.class);

  private final IdentityProviderClient idp;
  private final Providers providers;
  private final TokenSecrets tokenSecrets;
  private final Outcomes outcomes;
  private final InFlight inFlight;
  private final Clock clock;
  private final String instance;

  /** @param instance this operator process's name on the refresh marks it sets */
  Renewal(
      IdentityProviderClient idp, Providers providers, TokenSecrets tokenSecrets, Outcomes outcomes, InFlight inFlight,
      Clock clock, String instance) {
    this.idp = idp;
    this.providers = providers;
    this.tokenSecrets = tokenSecrets;
    this.outcomes = outcomes;
    this.inFlight = inFlight;
    this.clock = clock;
    this.instance = instance;
  }

  UpdateControl<DeviceLogin> renew(Turn turn, Instant now) {
    DeviceLogin login = turn.login();
    DeviceLoginStatus status = login.getStatus();
    UnwrittenTokens pending = inFlight.unwritten(turn);
    if (pending != null && pending.refresh()) {
      LOG.info("DeviceLogin {}: retrying the write of refreshed tokens to Secret {}", turn.ref(),
          pending.secret().getMetadata().getName());
      return write(turn, pending, now);
    }
    UnrecordedEnd unrecorded = inFlight.unrecorded(turn);
    if (unrecorded != null && unrecorded.grantId() == null) {
      LOG.info("DeviceLogin {}: retrying to record the end of the login", turn.ref());
      return outcomes.end(turn, unrecorded, now);
    }
    Instant expiry = Rfc3339.parse(status.getTokenExpiresAt());
    Instant renewal = Rfc3339.parse(status.getRenewalTime());
    Secret secret = tokenSecrets.get(turn.namespace(), status.getSecretName());
    if (secret == null) {
      return outcomes.end(turn, new Step.End(Phase.Expired, Reason.RefreshFailed, "Secret " + status.getSecretName()
          + " was deleted (or lost its app.kubernetes.io/managed-by label), so there is no refresh token to renew it "
          + "with. " + Messages.startOverHint()), now);
    }
    if (!TokenSecrets.writtenBy(secret, login)) {
      return superseded(turn, secret, now);
    }
    outcomes.publishTokenTimes(login, expiry, renewal);
    TokenRenewal.Decision decision =
        TokenRenewal.decide(now, expiry, renewal == null ? expiry : renewal, renewal != null);
    if (decision instanceof TokenRenewal.Decision.Wait wait) {
      return UpdateControl.<DeviceLogin>noUpdate().rescheduleAfter(wait.delay());
    }
    String started = TokenSecrets.refreshStarted(secret);
    if (started != null && !TokenSecrets.refreshStartedBy(secret, instance)) {
      return refreshInterrupted(turn, secret, started, expiry, now);
    }
    if (decision instanceof TokenRenewal.Decision.End end) {
      return outcomes.end(turn, new Step.End(end.phase(), end.reason(), end.message()), now);
    }
    Providers.Provider provider = providers.provider(login);
    ProviderConfig config = provider.config();
    if (config == null) {
      ProviderResolution.NotReady notReady = (ProviderResolution.NotReady) provider.resolution();
      return refreshFailed(turn, expiry, "the provider is not ready (" + notReady.reason() + "): "
          + notReady.message(), null, now);
    }
    String issuer = TokenSecrets.value(secret, TokenSecrets.ISSUER_URL);
    Optional<String> changed = TokenSecrets.providerChange(secret, config);
    if (changed.isPresent()) {
      String name = secret.getMetadata().getName();
      return outcomes.end(turn, new Step.End(Phase.Failed, Reason.ProviderChanged, "The tokens in Secret " + name
          + " were issued by " + issuer + ", but " + changed.get() + "; their refresh token is never sent to another "
          + "issuer or client, so they are no longer renewed and stay in the Secret until they expire at "
          + Rfc3339.format(expiry) + ". To log in through the provider as it is now, delete Secret " + name
          + " (or this DeviceLogin), then start over. " + Messages.startOverHint()), now);
    }
    return refresh(turn, provider, config, secret, expiry);
  }

  private UpdateControl<DeviceLogin> refresh(
      Turn turn, Providers.Provider provider, ProviderConfig config, Secret secret, Instant expiry) {
    DeviceLogin login = turn.login();
    // Refreshed tokens whose signing keys could not be fetched are checked again instead (the old refresh token may
    // be rotated away; the refresh mark of that refresh stays until they are stored).
    UnverifiedTokens held = inFlight.unverifiedRefresh(turn);
    inFlight.unverifiedRefresh(turn, null);
    if (held == null && TokenSecrets.refreshStarted(secret) == null) {
      // Persisted before the refresh token leaves: a process that dies before storing the answer leaves this mark, and
      // the next one does not present a refresh token the IdP may already have rotated. The mark names this instance:
      // if the update is applied but its answer lost, the mark found next is still known for this process's own.
      secret = tokenSecrets.update(
          TokenSecrets.withRefreshStarted(secret, Rfc3339.format(clock.instant()), instance), secret);
    }
    TokenRefreshResult result = held != null
        ? idp.verifyRefreshed(config, held)
        : idp.refresh(config, TokenSecrets.value(secret, TokenSecrets.REFRESH_TOKEN));
    Instant refreshedAt = clock.instant();
    if (result instanceof TokenRefreshResult.Unavailable unavailable) {
      outcomes.metrics().refresh("unavailable");
      if (held == null) {
        refreshAnswered(turn, secret);
      }
      return refreshFailed(turn, expiry, unavailable.message(), unavailable.retryAfter(), refreshedAt);
    }
    if (result instanceof TokenRefreshResult.Unverified unverified) {
      inFlight.unverifiedRefresh(turn, unverified.tokens());
      outcomes.metrics().refresh("unavailable");
      return refreshFailed(turn, expiry, unverified.message() + "; the new tokens are kept in memory only and "
          + "checked again", null, refreshedAt);
    }
    if (!(result instanceof TokenRefreshResult.Refreshed refreshed)) {
      outcomes.metrics().refresh("refused");
      TokenRenewal.Decision.End end = TokenRenewal.refused(result);
      return outcomes.end(turn, new Step.End(end.phase(), end.reason(), end.message()), refreshedAt);
    }
    IssuedTokens tokens = refreshed.tokens();
    DeviceLoginStatus status = login.getStatus();
    if (tokens.idToken() == null) {
      UnwrittenTokens toWrite = new UnwrittenTokens(TokenSecrets.grantId(secret),
          TokenSecrets.withRefreshedTokens(secret, tokens), status.getIdentity(), expiry, null, true);
      inFlight.unwritten(turn, toWrite);
      return write(turn, toWrite, refreshedAt);
    }
    IdentityPolicy.Decision decision = Issuance.decideKeeping(login, provider.resource().getSpec(), tokens.claims(),
        secret, "A refresh returned an ID token");
    if (decision instanceof IdentityPolicy.Decision.Refused refused) {
      outcomes.metrics().refresh("refused");
      String name = secret.getMetadata().getName();
      return outcomes.refuse(turn, null, config, tokens.refreshToken() != null ? tokens.refreshToken()
          : TokenSecrets.value(secret, TokenSecrets.REFRESH_TOKEN), name, refused,
          "The refreshed tokens were discarded and Secret " + name + " deleted.", refreshedAt);
    }
    Instant newExpiry = tokens.idTokenExpiry();
    boolean canRefreshAgain = tokens.refreshToken() != null
        || TokenSecrets.value(secret, TokenSecrets.REFRESH_TOKEN) != null;
    UnwrittenTokens toWrite = new UnwrittenTokens(TokenSecrets.grantId(secret),
        TokenSecrets.withRefreshedTokens(secret, tokens), status.getIdentity(), newExpiry,
        Issuance.renewalTime(login, canRefreshAgain, tokens.idTokenIssuedAt(), newExpiry), true);
    inFlight.unwritten(turn, toWrite);
    return write(turn, toWrite, refreshedAt);
  }

  /**
   * Writes refreshed tokens over the Secret as last read, unless another DeviceLogin writes it now; if that throws, the
   * tokens stay in memory for the retry JOSDK schedules (a rotated refresh token can't be used again).
   */
  private UpdateControl<DeviceLogin> write(Turn turn, UnwrittenTokens tokens, Instant now) {
    DeviceLogin login = turn.login();
    String name = tokens.secret().getMetadata().getName();
    Secret latest = tokenSecrets.get(turn.namespace(), name);
    if (latest == null) {
      // not in the informer: deleted, or its managed-by label removed (during the refresh); one GET tells which, so
      // the only valid refresh token is written over it instead of a create that the taken name refuses for ever
      latest = tokenSecrets.fetch(turn.namespace(), name);
    }
    if (latest != null && !TokenSecrets.writtenBy(latest, login)) {
      inFlight.unwritten(turn, null);
      return superseded(turn, latest, now);
    }
    try {
      if (latest == null) {
        tokenSecrets.write(tokens.secret(), null);
      } else if (!Objects.equals(latest.getData(), tokens.secret().getData())
          || TokenSecrets.refreshStarted(latest) != null) {
        tokenSecrets.update(TokenSecrets.withTokenData(latest, tokens.secret().getData()), latest);
      }
    } catch (KubernetesClientException e) {
      return outcomes.writeRefused(turn, issuingConfig(login, tokens.secret()), tokens, e, now);
    }
    String message = "Refreshed the tokens in Secret " + tokens.secret().getMetadata().getName() + "; "
        + (tokens.renewalTime() == null
            ? "the IdP sent no new ID token, so the login ends when the ID token expires at "
                + Rfc3339.format(tokens.idTokenExpiry()) + ". " + Messages.startOverHint()
            : "next refresh at " + Rfc3339.format(tokens.renewalTime()) + ".");
    // held in memory until the status records the refresh: a failed status write must not refresh again
    UpdateControl<DeviceLogin> control = outcomes.patch(turn,
        DeviceLoginStatusBuilder.refreshed(login, tokens.idTokenExpiry(), tokens.renewalTime(), message, now),
        Outcomes.untilNextLook(now, tokens.idTokenExpiry(), tokens.renewalTime()));
    inFlight.unwritten(turn, null);
    outcomes.metrics().refresh("success");
    LOG.info("DeviceLogin {}: {}", turn.ref(), message);
    outcomes.publishTokenTimes(login, tokens.idTokenExpiry(), tokens.renewalTime());
    outcomes.events().normal(login, "Refreshed", message);
    return control;
  }

  /** The provider's configuration if it still names the issuer and client id {@code secret}'s tokens came from. */
  private ProviderConfig issuingConfig(DeviceLogin login, Secret secret) {
    ProviderConfig config = providers.provider(login).config();
    return config == null || TokenSecrets.providerChange(secret, config).isPresent() ? null : config;
  }

  /**
   * The token Secret says a refresh was in flight when another process stopped: its refresh token may be rotated at
   * the IdP already and is not presented again. Ready (RefreshFailed, no renewal time) until the ID token expires,
   * then Expired.
   */
  private UpdateControl<DeviceLogin> refreshInterrupted(
      Turn turn, Secret secret, String started, Instant expiry, Instant now) {
    String name = secret.getMetadata().getName();
    TokenRenewal.Decision decision = TokenRenewal.afterInterruptedRefresh(now, expiry, name, started);
    if (decision instanceof TokenRenewal.Decision.End end) {
      return outcomes.end(turn, new Step.End(end.phase(), end.reason(), end.message()), now);
    }
    String message = TokenRenewal.interruptedMessage(name, started, expiry);
    DeviceLoginStatus next = DeviceLoginStatusBuilder.refreshFailing(turn.login(), null, message, now);
    boolean changed = !StatusWriter.same(turn.login().getStatus(), next);
    outcomes.publishTokenTimes(turn.login(), expiry, null);
    UpdateControl<DeviceLogin> control =
        outcomes.patchIfChanged(turn, next, ((TokenRenewal.Decision.Wait) decision).delay());
    if (changed) {
      LOG.warn("DeviceLogin {}: {}", turn.ref(), message);
      outcomes.events().warning(turn.login(), Reason.RefreshFailed.name(), message);
    }
    return control;
  }

  /**
   * The IdP answered a refresh without new tokens (unavailable; retried later with the same refresh token, as this
   * process would): the refresh is no longer in flight, so a restart retries it too instead of taking it as
   * interrupted. If clearing the mark fails, it stays: a restart then does not retry (the safe side).
   */
  private void refreshAnswered(Turn turn, Secret secret) {
    try {
      tokenSecrets.update(TokenSecrets.withoutRefreshStarted(secret), secret);
    } catch (KubernetesClientException e) {
      LOG.warn("DeviceLogin {}: could not clear the refresh mark on Secret {}: {}", turn.ref(),
          secret.getMetadata().getName(), e.getMessage());
    }
  }

  /**
   * A refresh failed for now: retry with back-off (or after the IdP's {@code Retry-After}, if not null) while the ID
   * token is valid; the phase stays Ready.
   */
  private UpdateControl<DeviceLogin> refreshFailed(
      Turn turn, Instant expiry, String cause, Duration retryAfter, Instant now) {
    DeviceLoginStatus current = turn.login().getStatus();
    int failures = (isRefreshFailure(current) && current.getFailedAttempts() != null
        ? current.getFailedAttempts() : 0) + 1;
    Instant retryAt = TokenRenewal.retryAt(now, failures, expiry, retryAfter);
    String message = "Refreshing the tokens failed (" + cause + "); retrying at " + Rfc3339.format(retryAt)
        + ". The tokens in the Secret stay valid until " + Rfc3339.format(expiry) + ".";
    LOG.warn("DeviceLogin {}: {}", turn.ref(), message);
    if (failures == 1) {
      outcomes.events().warning(turn.login(), Reason.RefreshFailed.name(), message);
    }
    outcomes.publishTokenTimes(turn.login(), expiry, retryAt);
    return outcomes.patch(turn, DeviceLoginStatusBuilder.failing(
        DeviceLoginStatusBuilder.refreshFailing(turn.login(), retryAt, message, now), failures, now),
        Duration.between(now, retryAt));
  }

  private static boolean isRefreshFailure(DeviceLoginStatus status) {
    return status != null && status.getPhase() == Phase.Ready && status.getConditions() != null
        && status.getConditions().stream().anyMatch(c -> Reason.RefreshFailed.name().equals(c.getReason()));
  }

  /** Another DeviceLogin completed a login into the same Secret: it writes it now; this one stops refreshing. */
  private UpdateControl<DeviceLogin> superseded(Turn turn, Secret secret, Instant now) {
    String name = secret.getMetadata().getName();
    String writer = TokenSecrets.annotation(secret, TokenSecrets.WRITER_UID_ANNOTATION) == null
        ? "Secret " + name + " was written by an earlier operator version and can't be attributed to this DeviceLogin "
            + "(it has no " + TokenSecrets.WRITER_UID_ANNOTATION + " annotation and no owner reference to it)"
        : "Secret " + name + " is now written by another DeviceLogin (" + TokenSecrets.writer(secret) + ")";
    return outcomes.end(turn, new Step.End(Phase.Expired, Reason.Superseded, writer + "; this DeviceLogin stopped "
        + "refreshing it. " + Messages.startOverHint()), now);
  }
}
