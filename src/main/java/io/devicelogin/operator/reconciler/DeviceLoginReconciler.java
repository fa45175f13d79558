package io.devicelogin.operator.reconciler;

import com.nimbusds.jwt.JWTParser;
import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProvider;
import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginStatus;
import io.devicelogin.operator.api.v1alpha1.Identity;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderRef;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.ProviderResource;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.flow.DeviceFlow;
import io.devicelogin.operator.flow.Grant;
import io.devicelogin.operator.flow.IdentityPolicy;
import io.devicelogin.operator.flow.PollSchedule;
import io.devicelogin.operator.flow.SpecValidation;
import io.devicelogin.operator.flow.Step;
import io.devicelogin.operator.idp.DeviceAuthorization;
import io.devicelogin.operator.idp.IdentityProviderClient;
import io.devicelogin.operator.idp.IdpException;
import io.devicelogin.operator.idp.IssuedTokens;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.idp.TokenPollResult;
import io.devicelogin.operator.metrics.OperatorMetrics;
import io.devicelogin.operator.secret.GrantStore;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.status.Conditions;
import io.devicelogin.operator.status.DeviceLoginStatusBuilder;
import io.devicelogin.operator.status.Rfc3339;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.processing.retry.GradualRetry;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Orchestrates one DeviceLogin: observe (status, stored grant, provider) → decide ({@link DeviceFlow},
 * {@link IdentityPolicy}) → act (IdP call, Secret write) → record status. Waiting is always
 * {@code rescheduleAfter}; the one place that picks the delay is the step the flow returns.
 *
 * <p>Crash safety: the grant is stored before its user code is published; the token Secret is written before the
 * status says Ready and names the grant it came from; the grant is deleted only after the status records the end.
 */
/* API errors are retried with back-off for as long as they last (2 s doubling to 2 min), never given up on. */
@GradualRetry(maxAttempts = -1, initialInterval = 2000, intervalMultiplier = 2, maxInterval = 120_000)
@ControllerConfiguration(name = "devicelogin")
public class DeviceLoginReconciler implements Reconciler<DeviceLogin> {

  /** How soon a login whose provider is not ready looks again. */
  public static final Duration PROVIDER_RECHECK = Duration.ofSeconds(10);

  /** First delay before retrying a device authorization that failed; doubles up to {@link DeviceFlow#MAX_BACKOFF}. */
  public static final Duration START_RETRY = Duration.ofSeconds(5);

  /** Delay before the reconcile that removes the grant of a login whose end the status records. */
  static final Duration CLEANUP_DELAY = Duration.ofSeconds(1);

  private static final Logger LOG = LoggerFactory.getLogger(DeviceLoginReconciler.class);

  private final KubernetesClient client;
  private final ProviderResolver resolver;
  private final IdentityProviderClient idp;
  private final GrantStore grants;
  private final TokenSecrets tokenSecrets;
  private final EventRecorder events;
  private final OperatorMetrics metrics;
  private final Clock clock;
  private final Map<String, PollSchedule> schedules = new ConcurrentHashMap<>();
  private final Map<String, Integer> startFailures = new ConcurrentHashMap<>();
  private final Map<String, UnwrittenTokens> unwritten = new ConcurrentHashMap<>();

  private record Provider(ProviderResource resource, ProviderResolution resolution) {}

  /**
   * Tokens whose Secret write failed. The device code is used up once the IdP issued them, so they are kept in memory
   * and written on the next attempt instead of polling again.
   */
  private record UnwrittenTokens(String grantId, Secret secret, Identity identity, Instant idTokenExpiry) {}

  public DeviceLoginReconciler(
      KubernetesClient client, ProviderResolver resolver, IdentityProviderClient idp, EventRecorder events,
      OperatorMetrics metrics, Clock clock) {
    this.client = client;
    this.resolver = resolver;
    this.idp = idp;
    this.grants = new GrantStore(client);
    this.tokenSecrets = new TokenSecrets(client);
    this.events = events;
    this.metrics = metrics;
    this.clock = clock;
  }

  @Override
  public UpdateControl<DeviceLogin> reconcile(DeviceLogin login, Context<DeviceLogin> context) {
    Instant now = clock.instant();
    long generation = login.getMetadata().getGeneration();
    Optional<Grant> grant = grants.find(login);
    if (endedForGeneration(login.getStatus(), generation)) {
      if (grant.isPresent()) {
        grants.delete(login);
        forget(login);
      }
      return UpdateControl.noUpdate();
    }
    if (grant.isPresent() && grant.get().generation() != generation) {
      LOG.info("DeviceLogin {}: spec changed, starting a fresh login", ref(login));
      grants.delete(login);
      forget(login);
      grant = Optional.empty();
    }
    Optional<String> invalid = SpecValidation.problems(login.getSpec());
    if (invalid.isPresent()) {
      return end(login, new Step.End(Phase.Failed, Reason.InvalidSpec, invalid.get() + " Fix the spec to retry."), now);
    }
    Provider provider = provider(login);
    if (provider.resolution() instanceof ProviderResolution.NotReady notReady) {
      return providerNotReady(login, grant, notReady, now);
    }
    ProviderConfig config = ((ProviderResolution.Ready) provider.resolution()).config();
    if (login.getSpec().getScopes() != null && !login.getSpec().getScopes().isEmpty()) {
      config = config.withScopes(login.getSpec().getScopes());
    }
    if (grant.isEmpty()) {
      return start(login, config, now);
    }
    return poll(login, grant.get(), config, provider.resource().getSpec(), now);
  }

  @Override
  public ErrorStatusUpdateControl<DeviceLogin> updateErrorStatus(
      DeviceLogin login, Context<DeviceLogin> context, Exception e) {
    LOG.warn("DeviceLogin {}: reconcile failed, will retry: {}", ref(login), describe(e));
    DeviceLoginStatus status = login.getStatus() == null ? new DeviceLoginStatus() : login.getStatus();
    status.setConditions(Conditions.set(
        status.getConditions(), Constants.READY, status.getPhase() == Phase.Ready, "ReconcileError",
        "The operator hit an error and retries: " + describe(e), login.getMetadata().getGeneration(),
        clock.instant()));
    if (status.getPhase() == null) {
      status.setPhase(Phase.Pending);
    }
    login.setStatus(status);
    return ErrorStatusUpdateControl.patchStatus(login);
  }

  /** An error for the condition: the API server's own message for API errors, else the exception's. */
  private static String describe(Exception e) {
    Throwable cause = e;
    while (cause.getCause() != null && !(cause instanceof KubernetesClientException)) {
      cause = cause.getCause();
    }
    if (cause instanceof KubernetesClientException api && api.getStatus() != null) {
      return "Kubernetes API error " + api.getCode() + ": " + api.getStatus().getMessage();
    }
    return cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
  }

  private static boolean endedForGeneration(DeviceLoginStatus status, long generation) {
    return status != null
        && status.getPhase() != null
        && Objects.equals(status.getObservedGeneration(), generation)
        && (status.getPhase() == Phase.Ready || status.getPhase().isTerminal());
  }

  private Provider provider(DeviceLogin login) {
    IdentityProviderRef ref = login.getSpec().getIdentityProviderRef();
    String namespace = login.getMetadata().getNamespace();
    ProviderResource resource = ref.effectiveKind() == IdentityProviderRef.Kind.ClusterIdentityProvider
        ? client.resources(ClusterIdentityProvider.class).withName(ref.getName()).get()
        : client.resources(IdentityProvider.class).inNamespace(namespace).withName(ref.getName()).get();
    if (resource == null) {
      String where = ref.effectiveKind() == IdentityProviderRef.Kind.ClusterIdentityProvider
          ? "ClusterIdentityProvider " + ref.getName()
          : "IdentityProvider " + ref.getName() + " in namespace " + namespace;
      return new Provider(null, new ProviderResolution.NotReady(
          "NotFound", where + " does not exist; create it or fix spec.identityProviderRef", false));
    }
    return new Provider(resource, resolver.resolve(resource, false));
  }

  private UpdateControl<DeviceLogin> providerNotReady(
      DeviceLogin login, Optional<Grant> grant, ProviderResolution.NotReady notReady, Instant now) {
    Reason reason = notReady.retryable() ? Reason.IdPUnavailable : Reason.ProviderNotReady;
    IdentityProviderRef ref = login.getSpec().getIdentityProviderRef();
    String message = "The " + ref.effectiveKind().name() + " " + ref.getName() + " is not ready ("
        + notReady.reason() + "): " + notReady.message();
    DeviceLoginStatus status = grant.isPresent()
        ? DeviceLoginStatusBuilder.awaitingUser(login, grant.get(), reason, message, now)
        : DeviceLoginStatusBuilder.pending(login, reason, message, now);
    return patchIfChanged(login, status, PROVIDER_RECHECK);
  }

  private UpdateControl<DeviceLogin> start(DeviceLogin login, ProviderConfig config, Instant now) {
    DeviceAuthorization authorization;
    try {
      authorization = idp.startDeviceAuthorization(config);
    } catch (IdpException e) {
      int failures = startFailures.merge(login.getMetadata().getUid(), 1, Integer::sum);
      Duration retry = DeviceFlow.backoff(START_RETRY, failures);
      boolean unavailable = e.kind() == IdpException.Kind.UNAVAILABLE;
      LOG.warn("DeviceLogin {}: could not start the device login (attempt {}): {}", ref(login), failures,
          e.getMessage());
      String message = (unavailable ? "Cannot start the device login: " : "The IdP refused to start the device login: ")
          + e.getMessage() + ". Retrying in " + retry.toSeconds() + "s.";
      return patchIfChanged(
          login,
          DeviceLoginStatusBuilder.pending(
              login, unavailable ? Reason.IdPUnavailable : Reason.ProviderNotReady, message, now),
          retry);
    }
    startFailures.remove(login.getMetadata().getUid());
    Grant grant = Grant.start(authorization, login.getMetadata().getGeneration());
    grants.save(login, grant);
    schedules.put(login.getMetadata().getUid(), PollSchedule.firstPollAfter(now, grant.interval()));
    String message = DeviceFlow.waitingMessage(grant);
    LOG.info("DeviceLogin {}: device login started, user code published, expires at {}", ref(login),
        grant.expiresAt());
    events.normal(login, "LoginStarted", message);
    return patch(login, DeviceLoginStatusBuilder.awaitingUser(login, grant, Reason.AuthorizationPending, message, now),
        grant.interval());
  }

  private UpdateControl<DeviceLogin> poll(
      DeviceLogin login, Grant grant, ProviderConfig config, IdentityProviderSpec provider, Instant now) {
    String uid = login.getMetadata().getUid();
    UnwrittenTokens pending = unwritten.get(uid);
    if (pending != null && pending.grantId().equals(grant.id())) {
      LOG.info("DeviceLogin {}: retrying the write of Secret {}", ref(login), pending.secret().getMetadata().getName());
      return write(login, pending, now);
    }
    PollSchedule schedule = schedules.get(uid);
    if (schedule == null) {
      // First look at this grant since the operator started: did an earlier run already get its tokens?
      Optional<Secret> written = tokenSecrets.findWrittenFor(login, grant.id());
      if (written.isPresent()) {
        return recoverReady(login, written.get(), provider, now);
      }
      schedule = PollSchedule.firstPollAfter(now, grant.interval());
      schedules.put(uid, schedule);
    }
    Step step = DeviceFlow.beforePoll(grant, schedule, now);
    if (step instanceof Step.Wait wait) {
      return showsGrant(login, grant)
          ? UpdateControl.<DeviceLogin>noUpdate().rescheduleAfter(wait.delay())
          : patch(login, DeviceLoginStatusBuilder.awaitingUser(
              login, grant, Reason.AuthorizationPending, DeviceFlow.waitingMessage(grant), now), wait.delay());
    }
    if (step instanceof Step.End end) {
      return end(login, end, now);
    }
    TokenPollResult result = idp.pollToken(config, grant.deviceCode());
    Instant polled = clock.instant();
    step = DeviceFlow.afterPoll(grant, schedule, result, polled);
    if (step instanceof Step.Continue next) {
      schedules.put(uid, next.schedule());
      if (!next.grant().interval().equals(grant.interval())) {
        LOG.info("DeviceLogin {}: IdP asked to slow down, polling every {}s", ref(login),
            next.grant().interval().toSeconds());
        grants.save(login, next.grant());
      }
      if (next.reason() == Reason.IdPUnavailable) {
        LOG.warn("DeviceLogin {}: {}", ref(login), next.message());
      }
      Step.Wait wait = (Step.Wait) DeviceFlow.beforePoll(next.grant(), next.schedule(), polled);
      return patchIfChanged(
          login,
          DeviceLoginStatusBuilder.awaitingUser(login, next.grant(), next.reason(), next.message(), polled),
          wait.delay());
    }
    if (step instanceof Step.End end) {
      return end(login, end, polled);
    }
    return issued(login, grant, config, provider, ((Step.Issued) step).tokens(), polled);
  }

  private UpdateControl<DeviceLogin> issued(
      DeviceLogin login, Grant grant, ProviderConfig config, IdentityProviderSpec provider, IssuedTokens tokens,
      Instant now) {
    IdentityPolicy.Decision decision = decide(login, provider, tokens.claims());
    if (decision instanceof IdentityPolicy.Decision.Refused refused) {
      return end(login, new Step.End(Phase.Failed, refused.reason(), refused.message()), now);
    }
    Identity identity = ((IdentityPolicy.Decision.Accepted) decision).identity();
    String secretName = TokenSecrets.secretName(login, identity.getUsername());
    UnwrittenTokens tokensToWrite = new UnwrittenTokens(
        grant.id(), TokenSecrets.build(login, secretName, config, identity, tokens, grant.id()), identity,
        tokens.idTokenExpiry());
    unwritten.put(login.getMetadata().getUid(), tokensToWrite);
    return write(login, tokensToWrite, now);
  }

  /** Writes the token Secret; if that throws, the tokens stay in memory for the retry JOSDK schedules. */
  private UpdateControl<DeviceLogin> write(DeviceLogin login, UnwrittenTokens tokens, Instant now) {
    tokenSecrets.write(tokens.secret());
    unwritten.remove(login.getMetadata().getUid());
    return ready(login, tokens.identity(), tokens.secret().getMetadata().getName(), tokens.idTokenExpiry(), now);
  }

  /** The token Secret of this grant exists: an earlier run got the tokens but stopped before recording it. */
  private UpdateControl<DeviceLogin> recoverReady(
      DeviceLogin login, Secret secret, IdentityProviderSpec provider, Instant now) {
    Map<String, Object> claims;
    try {
      claims = JWTParser.parse(TokenSecrets.value(secret, TokenSecrets.ID_TOKEN)).getJWTClaimsSet().toJSONObject();
    } catch (java.text.ParseException e) {
      throw new IllegalStateException("the token Secret " + secret.getMetadata().getName() + " holds no valid ID token");
    }
    IdentityPolicy.Decision decision = decide(login, provider, claims);
    if (decision instanceof IdentityPolicy.Decision.Refused refused) {
      return end(login, new Step.End(Phase.Failed, refused.reason(), refused.message()), now);
    }
    LOG.info("DeviceLogin {}: found the tokens of this login in Secret {}; recording Ready", ref(login),
        secret.getMetadata().getName());
    return ready(login, ((IdentityPolicy.Decision.Accepted) decision).identity(), secret.getMetadata().getName(),
        Rfc3339.parse(TokenSecrets.value(secret, TokenSecrets.EXPIRY)), now);
  }

  private static IdentityPolicy.Decision decide(
      DeviceLogin login, IdentityProviderSpec provider, Map<String, Object> claims) {
    List<String> allowedGroups = provider.getAllowedGroups();
    return IdentityPolicy.decide(
        claims, provider.effectiveUsernameClaim(), provider.effectiveGroupsClaim(), login.getSpec().getUser(),
        allowedGroups);
  }

  private UpdateControl<DeviceLogin> ready(
      DeviceLogin login, Identity identity, String secretName,
      Instant tokenExpiresAt, Instant now) {
    forget(login);
    String message = "User " + identity.getUsername() + " logged in; the tokens are in Secret " + secretName + ".";
    LOG.info("DeviceLogin {}: {}", ref(login), message);
    metrics.loginEnded(Phase.Ready.name());
    events.normal(login, "LoginSucceeded", message);
    return patch(login,
        DeviceLoginStatusBuilder.ready(login, identity, secretName, tokenExpiresAt, message, now), CLEANUP_DELAY);
  }

  private UpdateControl<DeviceLogin> end(DeviceLogin login, Step.End end, Instant now) {
    forget(login);
    LOG.info("DeviceLogin {}: login ended {} ({})", ref(login), end.phase(), end.reason());
    metrics.loginEnded(end.phase().name());
    events.warning(login, end.reason().name(), end.message());
    return patch(login, DeviceLoginStatusBuilder.ended(login, end.phase(), end.reason(), end.message(), now),
        CLEANUP_DELAY);
  }

  private static boolean showsGrant(DeviceLogin login, Grant grant) {
    DeviceLoginStatus status = login.getStatus();
    return status != null
        && status.getPhase() == Phase.AwaitingUser
        && Objects.equals(status.getObservedGeneration(), login.getMetadata().getGeneration())
        && grant.userCode().equals(status.getUserCode());
  }

  private void forget(DeviceLogin login) {
    schedules.remove(login.getMetadata().getUid());
    startFailures.remove(login.getMetadata().getUid());
    unwritten.remove(login.getMetadata().getUid());
  }

  private static UpdateControl<DeviceLogin> patch(DeviceLogin login, DeviceLoginStatus status, Duration next) {
    login.setStatus(status);
    return UpdateControl.patchStatus(login).rescheduleAfter(next);
  }

  private static UpdateControl<DeviceLogin> patchIfChanged(
      DeviceLogin login, DeviceLoginStatus status, Duration next) {
    if (ProviderReconciler.sameStatus(login.getStatus(), status)) {
      return UpdateControl.<DeviceLogin>noUpdate().rescheduleAfter(next);
    }
    return patch(login, status, next);
  }

  private static String ref(DeviceLogin login) {
    return login.getMetadata().getNamespace() + "/" + login.getMetadata().getName();
  }
}
