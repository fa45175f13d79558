package io.devicelogin.operator.reconciler;

import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.Identity;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.flow.Durations;
import io.devicelogin.operator.flow.StartedGrant;
import io.devicelogin.operator.flow.IdentityPolicy;
import io.devicelogin.operator.flow.Step;
import io.devicelogin.operator.flow.TokenRenewal;
import io.devicelogin.operator.idp.IssuedTokens;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.messages.Messages;
import io.devicelogin.operator.reconciler.InFlight.UnwrittenTokens;
import io.devicelogin.operator.secret.TokenSecrets;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.net.HttpURLConnection;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tokens a login got, into the token Secret: the identity checks (spec.user, allowedGroups, the subject a Secret was
 * written for), the write over an existing Secret only when it holds tokens of the same issuer, client and subject,
 * and, after a restart, the token Secret an earlier process wrote for this grant before it could record Ready.
 *
 * <p>Crash safety: the token Secret is written before the status says Ready and names the grant it came from; tokens
 * whose write failed are held in {@link InFlight} and written on the retry (a used device or authorization code can't
 * be used again).
 */
final class Issuance {

  private static final Logger LOG = LoggerFactory.getLogger(Issuance.class);

  private final TokenSecrets tokenSecrets;
  private final Outcomes outcomes;
  private final InFlight inFlight;

  Issuance(TokenSecrets tokenSecrets, Outcomes outcomes, InFlight inFlight) {
    this.tokenSecrets = tokenSecrets;
    this.outcomes = outcomes;
    this.inFlight = inFlight;
  }

  /** Tokens of grant {@code grantId} whose ID token validated: identity checks, then the token Secret. */
  UpdateControl<DeviceLogin> issued(
      Turn turn, String grantId, ProviderConfig config, IdentityProviderSpec provider, IssuedTokens tokens,
      Instant now) {
    DeviceLogin login = turn.login();
    IdentityPolicy.Decision decision = decide(login, provider, tokens.claims());
    if (decision instanceof IdentityPolicy.Decision.Refused refused) {
      outcomes.discard(turn, config, tokens.refreshToken());
      return outcomes.end(turn, new Step.End(Phase.Failed, refused.reason(), refused.message()
          + " " + Messages.startOverHint()), now);
    }
    Identity identity = ((IdentityPolicy.Decision.Accepted) decision).identity();
    String secretName = TokenSecrets.secretName(login, identity.getUsername());
    UnwrittenTokens tokensToWrite = new UnwrittenTokens(
        grantId, TokenSecrets.build(login, secretName, config, identity, tokens, grantId), identity,
        tokens.idTokenExpiry(), renewalTime(login, tokens.refreshToken() != null, tokens.idTokenIssuedAt(),
            tokens.idTokenExpiry()), false);
    inFlight.unwritten(turn, tokensToWrite);
    return write(turn, config, tokensToWrite, now);
  }

  /**
   * Writes the token Secret of a login, over an existing one only if it holds tokens of the same issuer, client id and
   * subject, and only as it was checked (a Secret changed or created in between refuses the write, and it is checked
   * again); a conflict ends the login and revokes the tokens' refresh token at {@code config}, which issued them. If
   * the write throws, the tokens stay in memory for the retry JOSDK schedules (a used device code can't be used again,
   * so these tokens are the only ones).
   */
  UpdateControl<DeviceLogin> write(Turn turn, ProviderConfig config, UnwrittenTokens tokens, Instant now) {
    String name = tokens.secret().getMetadata().getName();
    Secret existing = tokenSecrets.get(turn.namespace(), name);
    for (boolean looked = false; ; looked = true) {
      String conflict = TokenSecrets.conflict(existing, tokens.secret());
      if (conflict != null) {
        outcomes.discard(turn, config, TokenSecrets.value(tokens.secret(), TokenSecrets.REFRESH_TOKEN));
        return outcomes.end(turn, new Step.End(Phase.Failed, Reason.SecretConflict, conflict + "; the tokens were "
            + "discarded. Set spec.secretName to a Secret name of this user's own; that spec change starts a fresh "
            + "login."), now);
      }
      try {
        tokenSecrets.write(tokens.secret(), existing);
      } catch (KubernetesClientException e) {
        boolean unseen =
            e.getCode() == HttpURLConnection.HTTP_CONFLICT || e.getCode() == HttpURLConnection.HTTP_NOT_FOUND;
        if (unseen && !looked) {
          // the informer did not show what is there now (a Secret without the operator's label, or a newer version)
          existing = tokenSecrets.fetch(turn.namespace(), name);
          continue;
        }
        return outcomes.writeRefused(turn, config, tokens, e, now);
      }
      return outcomes.ready(turn, tokens.identity(), name, tokens.idTokenExpiry(), tokens.renewalTime(), now);
    }
  }

  /**
   * The first look at a grant since this process started: if the token Secret of this grant exists, an earlier run got
   * the tokens but stopped before recording it. Nothing read from the Secret is trusted because it is there: it must
   * hold tokens of the issuer and client the grant was started at, and its ID token must pass spec.user,
   * allowedGroups and name the subject it was written for; otherwise the login ends Failed and the Secret is deleted
   * (its refresh token revoked only if it came from this login's issuer and client). Empty when there is no such
   * Secret.
   */
  Optional<UpdateControl<DeviceLogin>> recover(
      Turn turn, StartedGrant grant, Providers.Provider provider, Instant now) {
    Optional<Secret> written = tokenSecrets.findWrittenFor(turn.login(), grant.id());
    return written.map(secret -> recover(turn, grant, secret, provider, now));
  }

  private UpdateControl<DeviceLogin> recover(
      Turn turn, StartedGrant grant, Secret secret, Providers.Provider provider, Instant now) {
    DeviceLogin login = turn.login();
    JWTClaimsSet claims = idTokenClaims(secret);
    String name = secret.getMetadata().getName();
    String issuer = TokenSecrets.value(secret, TokenSecrets.ISSUER_URL);
    String clientId = TokenSecrets.value(secret, TokenSecrets.CLIENT_ID);
    if (!Objects.equals(issuer, grant.issuerUrl()) || !Objects.equals(clientId, grant.clientId())) {
      return outcomes.refuse(turn, grant.id(), null, null, name, new IdentityPolicy.Decision.Refused(
          Reason.ProviderChanged, "Secret " + name + " does not hold tokens issued by " + grant.issuerUrl()
              + " to client id " + grant.clientId() + ", where this login was started."),
          "It was deleted; nothing was revoked.", now);
    }
    IdentityPolicy.Decision decision = decideKeeping(login, provider.resource().getSpec(), claims.toJSONObject(),
        secret, "Secret " + name + " holds an ID token");
    if (decision instanceof IdentityPolicy.Decision.Refused refused) {
      return outcomes.refuse(turn, grant.id(), provider.config(login),
          TokenSecrets.value(secret, TokenSecrets.REFRESH_TOKEN), name, refused,
          "Secret " + name + " was deleted and its refresh token revoked.", now);
    }
    LOG.info("DeviceLogin {}: found the tokens of this login in Secret {}; recording Ready", turn.ref(), name);
    Instant expiry = claims.getExpirationTime().toInstant();
    return outcomes.ready(turn, ((IdentityPolicy.Decision.Accepted) decision).identity(), name, expiry,
        renewalTime(login, TokenSecrets.value(secret, TokenSecrets.REFRESH_TOKEN) != null,
            claims.getIssueTime().toInstant(), expiry), now);
  }

  /** The claims of the ID token a token Secret holds (validated when it was written). */
  private static JWTClaimsSet idTokenClaims(Secret secret) {
    try {
      return JWTParser.parse(TokenSecrets.value(secret, TokenSecrets.ID_TOKEN)).getJWTClaimsSet();
    } catch (java.text.ParseException | NullPointerException e) {
      throw new IllegalStateException(
          "the token Secret " + secret.getMetadata().getName() + " holds no readable ID token");
    }
  }

  /** When to refresh: null when there is no refresh token (nothing can renew the ID token). */
  static Instant renewalTime(DeviceLogin login, boolean hasRefreshToken, Instant issuedAt, Instant expiry) {
    if (!hasRefreshToken) {
      return null;
    }
    String renewBefore = login.getSpec().getRenewBefore();
    return TokenRenewal.renewalTime(issuedAt, expiry, renewBefore == null ? null : Durations.parse(renewBefore));
  }

  private static IdentityPolicy.Decision decide(
      DeviceLogin login, IdentityProviderSpec provider, Map<String, Object> claims) {
    List<String> allowedGroups = provider.getAllowedGroups();
    return IdentityPolicy.decide(
        claims, provider.effectiveUsernameClaim(), provider.effectiveGroupsClaim(), login.getSpec().getUser(),
        allowedGroups, !provider.emailVerifiedNotSent());
  }

  /**
   * {@link #decide} for tokens that are to stay in {@code secret}: they must also name the subject it was written for.
   *
   * @param what what holds the ID token, for the message ("A refresh returned an ID token")
   */
  static IdentityPolicy.Decision decideKeeping(
      DeviceLogin login, IdentityProviderSpec provider, Map<String, Object> claims, Secret secret, String what) {
    IdentityPolicy.Decision decision = decide(login, provider, claims);
    String subject = TokenSecrets.annotation(secret, Constants.SUBJECT_ANNOTATION);
    if (decision instanceof IdentityPolicy.Decision.Accepted accepted
        && !Objects.equals(subject, accepted.identity().getSubject())) {
      return new IdentityPolicy.Decision.Refused(Reason.IdentityMismatch, what + " for subject '"
          + accepted.identity().getSubject() + "' instead of '" + subject + "'.");
    }
    return decision;
  }
}
