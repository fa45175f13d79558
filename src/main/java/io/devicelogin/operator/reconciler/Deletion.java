package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginSpec;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginStatus;
import io.devicelogin.operator.flow.DeviceFlow;
import io.devicelogin.operator.idp.IdentityProviderClient;
import io.devicelogin.operator.idp.IdpException;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.reconciler.InFlight.UnwrittenTokens;
import io.devicelogin.operator.secret.GrantStore;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.status.DeviceLoginStatusBuilder;
import io.devicelogin.operator.status.Rfc3339;
import io.fabric8.kubernetes.api.model.Secret;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A DeviceLogin being deleted: revoke the refresh token (RFC 7009) when the IdP can, delete the token Secret for
 * deletionPolicy Delete (only if this DeviceLogin still writes it), always delete the grant Secret. An unreachable IdP
 * is retried a few times (counted in status.failedAttempts, so a restart goes on counting), then the DeviceLogin is
 * let go with a Warning Event.
 */
final class Deletion {

  /** How often deletion tries to revoke the refresh token before it gives up and lets the DeviceLogin go. */
  static final int CLEANUP_ATTEMPTS = 5;

  private static final Logger LOG = LoggerFactory.getLogger(Deletion.class);

  private final IdentityProviderClient idp;
  private final Providers providers;
  private final GrantStore grants;
  private final TokenSecrets tokenSecrets;
  private final Outcomes outcomes;
  private final InFlight inFlight;

  Deletion(
      IdentityProviderClient idp, Providers providers, GrantStore grants, TokenSecrets tokenSecrets, Outcomes outcomes,
      InFlight inFlight) {
    this.idp = idp;
    this.providers = providers;
    this.grants = grants;
    this.tokenSecrets = tokenSecrets;
    this.outcomes = outcomes;
    this.inFlight = inFlight;
  }

  /** Cleans up; empty when done (the finalizer may go), else when to try again. */
  Optional<Duration> delete(Turn turn, Instant now) {
    DeviceLogin login = turn.login();
    DeviceLoginStatus status = login.getStatus();
    Secret secret = status == null || status.getSecretName() == null
        ? null
        : tokenSecrets.get(turn.namespace(), status.getSecretName());
    boolean ours = secret != null && TokenSecrets.writtenBy(secret, login);
    UnwrittenTokens pending = inFlight.unwritten(turn);
    Secret held = pending != null ? pending.secret() : ours ? secret : null;
    String refreshToken = held == null ? null : TokenSecrets.value(held, TokenSecrets.REFRESH_TOKEN);
    if (refreshToken != null) {
      String failure = revoke(turn, held, refreshToken);
      if (failure != null) {
        int attempts = failuresSinceDeletion(login) + 1;
        if (attempts < CLEANUP_ATTEMPTS) {
          LOG.warn("DeviceLogin {}: could not revoke the refresh token (attempt {} of {}): {}", turn.ref(), attempts,
              CLEANUP_ATTEMPTS, failure);
          outcomes.write(turn, DeviceLoginStatusBuilder.failedAgain(login, attempts, now));
          return Optional.of(DeviceFlow.backoff(Login.START_RETRY, attempts));
        }
        outcomes.events().warning(login, "RevocationFailed", "Could not revoke the refresh token after " + attempts
            + " attempts (" + failure + "); deleting the DeviceLogin anyway. The refresh token stays valid at the "
            + "IdP until it expires or is revoked there.");
      }
    }
    boolean delete = login.getSpec().effectiveDeletionPolicy() == DeviceLoginSpec.DeletionPolicy.Delete;
    if (ours && delete) {
      tokenSecrets.deleteIfWrittenBy(login, secret.getMetadata().getName());
    }
    grants.delete(login);
    LOG.info("DeviceLogin {}: deleted; token Secret {}", turn.ref(),
        !ours ? "not ours, left alone" : delete ? "deleted" : "retained");
    return Optional.empty();
  }

  /** Revocation attempts that failed since the deletion was asked for (status.failedAttempts, if that recent). */
  private static int failuresSinceDeletion(DeviceLogin login) {
    DeviceLoginStatus status = login.getStatus();
    if (status == null || status.getFailedAttempts() == null || status.getLastFailureTime() == null) {
      return 0;
    }
    Instant deleted = Rfc3339.parse(login.getMetadata().getDeletionTimestamp());
    return Rfc3339.parse(status.getLastFailureTime()).isBefore(deleted) ? 0 : status.getFailedAttempts();
  }

  /**
   * Revokes the refresh token of the tokens in {@code held} at the issuer they came from; returns why it failed, or
   * null when it is revoked, there is nothing to revoke, or it can't be revoked because the provider now names another
   * issuer or client (it is never sent there; a Warning Event says so).
   */
  private String revoke(Turn turn, Secret held, String refreshToken) {
    Providers.Provider provider = providers.provider(turn.login());
    ProviderConfig config = provider.config();
    if (config == null) {
      return "the provider is not ready: " + ((ProviderResolution.NotReady) provider.resolution()).message();
    }
    String issuer = TokenSecrets.value(held, TokenSecrets.ISSUER_URL);
    Optional<String> changed = TokenSecrets.providerChange(held, config);
    if (changed.isPresent()) {
      String message = "The refresh token of Secret " + held.getMetadata().getName() + " could not be revoked: it was "
          + "issued by " + issuer + ", but " + changed.get() + ", and it is never sent to another issuer or client. It "
          + "stays valid at " + issuer + " until it expires or is revoked there.";
      LOG.warn("DeviceLogin {}: {}", turn.ref(), message);
      outcomes.events().warning(turn.login(), "RevocationFailed", message);
      return null;
    }
    try {
      boolean revoked = idp.revoke(config, refreshToken);
      LOG.info("DeviceLogin {}: {}", turn.ref(), revoked
          ? "revoked the refresh token" : "the IdP advertises no revocation endpoint; nothing to revoke");
      return null;
    } catch (IdpException e) {
      return e.getMessage();
    }
  }
}
