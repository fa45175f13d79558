package io.devicelogin.operator.reconciler;

import com.nimbusds.jwt.JWTClaimsSet;
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
import io.devicelogin.operator.flow.Durations;
import io.devicelogin.operator.flow.Grant;
import io.devicelogin.operator.flow.IdentityPolicy;
import io.devicelogin.operator.messages.Messages;
import io.devicelogin.operator.flow.PollSchedule;
import io.devicelogin.operator.flow.ProviderChange;
import io.devicelogin.operator.flow.SpecValidation;
import io.devicelogin.operator.flow.Step;
import io.devicelogin.operator.flow.TenancyPolicy;
import io.devicelogin.operator.flow.TokenRenewal;
import io.devicelogin.operator.idp.DeviceAuthorization;
import io.devicelogin.operator.idp.IdentityProviderClient;
import io.devicelogin.operator.idp.IdpException;
import io.devicelogin.operator.idp.IssuedTokens;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.idp.TokenPollResult;
import io.devicelogin.operator.idp.TokenRefreshResult;
import io.devicelogin.operator.idp.UnverifiedTokens;
import io.devicelogin.operator.metrics.OperatorMetrics;
import io.devicelogin.operator.secret.GrantStore;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.status.Conditions;
import io.devicelogin.operator.status.DeviceLoginStatusBuilder;
import io.devicelogin.operator.status.Rfc3339;
import io.devicelogin.operator.status.StatusWriter;
import io.devicelogin.operator.upgrade.CrdSchemas;
import io.devicelogin.operator.upgrade.InstalledCrds;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginSpec;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.processing.retry.GradualRetry;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.Set;
import java.util.stream.Collectors;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Orchestrates one DeviceLogin: observe (status, stored grant, provider) → decide ({@link DeviceFlow},
 * {@link IdentityPolicy}) → act (IdP call, Secret write) → record status. Waiting is always
 * {@code rescheduleAfter}; the one place that picks the delay is the step the flow returns.
 *
 * <p>Crash safety: the grant is stored before its user code is published; the token Secret is written before the
 * status says Ready and names the grant it came from; the grant is deleted only after the status records the end; a
 * refresh is marked on the token Secret before the refresh token is sent, so a refresh token the IdP may have rotated
 * is never presented again after a crash.
 * Events follow the status write they describe: the person sees the user code one API request sooner, and a failed
 * write leaves no Event for a state that was never recorded.
 */
/* API errors are retried with back-off for as long as they last (2 s doubling to 2 min), never given up on. */
@GradualRetry(maxAttempts = -1, initialInterval = 2000, intervalMultiplier = 2, maxInterval = 120_000)
@ControllerConfiguration(
    name = "devicelogin",
    finalizerName = Constants.FINALIZER,
    generationAwareEventProcessing = false,
    informer = @Informer(onUpdateFilter = RelevantChange.class))
public class DeviceLoginReconciler implements Reconciler<DeviceLogin>, Cleaner<DeviceLogin> {

  private static final String PROVIDER_INDEX = "provider";

  /** How soon a login whose provider is not ready looks again. */
  public static final Duration PROVIDER_RECHECK = Duration.ofSeconds(10);

  /** First delay before retrying a device authorization that failed; doubles up to {@link DeviceFlow#MAX_BACKOFF}. */
  public static final Duration START_RETRY = Duration.ofSeconds(5);

  /** How often deletion retries revoking the refresh token before it gives up and lets the DeviceLogin go. */
  public static final int CLEANUP_ATTEMPTS = 5;

  /**
   * How often the API server may refuse for good (400, 403, 413, 422) to store a login's tokens before they are dropped
   * from memory and the login ends (SecretWriteRefused); conflicts, throttling and server errors are retried as long
   * as they last.
   */
  static final int MAX_REFUSED_WRITES = 3;

  /** How soon a login held back by an outdated CRD looks again (InstalledCrds reads the CRDs at most once a minute). */
  static final Duration CRD_RECHECK = Duration.ofSeconds(30);

  /** Delay before the reconcile that removes the grant of a login whose end the status records. */
  static final Duration CLEANUP_DELAY = Duration.ofSeconds(1);

  private static final Logger LOG = LoggerFactory.getLogger(DeviceLoginReconciler.class);

  private final KubernetesClient client;
  private final ProviderResolver resolver;
  private final IdentityProviderClient idp;
  private final GrantStore grants;
  private final TokenSecrets tokenSecrets;
  private final StatusWriter statusWriter;
  private final EventRecorder events;
  private final OperatorMetrics metrics;
  private final UnreadableObjects unreadable;
  private final CrdSchemas crds;
  private final Clock clock;
  private final TenancyRules tenancy;
  private final Map<String, PollSchedule> schedules = new ConcurrentHashMap<>();
  private final Map<String, Integer> startFailures = new ConcurrentHashMap<>();
  private final Map<String, UnwrittenTokens> unwritten = new ConcurrentHashMap<>();
  private final Map<String, Grant> unsavedGrants = new ConcurrentHashMap<>();
  private final Map<String, String> finishedGrants = new ConcurrentHashMap<>();
  private final Map<String, UnrecordedEnd> unrecordedEnds = new ConcurrentHashMap<>();
  private final Set<String> endedWhileReady = ConcurrentHashMap.newKeySet();
  private final Map<String, Integer> refreshFailures = new ConcurrentHashMap<>();
  /** The refresh marker this process put on a login's token Secret (see {@link TokenSecrets#refreshStarted}). */
  private final Map<String, String> refreshesStarted = new ConcurrentHashMap<>();
  private final Map<String, Integer> cleanupAttempts = new ConcurrentHashMap<>();
  private final Map<String, UnverifiedTokens> unverifiedRefreshes = new ConcurrentHashMap<>();
  private InformerEventSource<IdentityProvider, DeviceLogin> identityProviders;
  private InformerEventSource<ClusterIdentityProvider, DeviceLogin> clusterIdentityProviders;

  private record Provider(ProviderResource resource, ProviderResolution resolution) {}

  /**
   * An end whose status write failed: recorded on the retry instead of asking the IdP again (a used device code or a
   * refused refresh can't be asked twice). {@code grantId}: the grant it ends, null for a Ready login's end;
   * {@code secretToDelete}: the token Secret refused tokens must not leave behind (deleted only if this DeviceLogin
   * writes it), or null.
   */
  private record UnrecordedEnd(String grantId, Step.End end, String secretToDelete) {}

  /**
   * Tokens whose Secret write failed. The device code is used up once the IdP issued them, so they are kept in memory
   * and written on the next attempt instead of polling again.
   */
  private record UnwrittenTokens(
      String grantId, Secret secret, Identity identity, Instant idTokenExpiry, Instant renewalTime, boolean refresh,
      int refusals) {

    UnwrittenTokens(
        String grantId, Secret secret, Identity identity, Instant idTokenExpiry, Instant renewalTime, boolean refresh) {
      this(grantId, secret, identity, idTokenExpiry, renewalTime, refresh, 0);
    }

    /** The same tokens after the API server refused to store them once more. */
    UnwrittenTokens refusedOnce() {
      return new UnwrittenTokens(grantId, secret, identity, idTokenExpiry, renewalTime, refresh, refusals + 1);
    }

    /** Never shows the Secret's data. */
    @Override
    public String toString() {
      return "UnwrittenTokens[grantId=" + grantId + ", secret=" + secret.getMetadata().getName() + ", refresh="
          + refresh + "]";
    }
  }

  public DeviceLoginReconciler(
      KubernetesClient client, ProviderResolver resolver, IdentityProviderClient idp, EventRecorder events,
      OperatorMetrics metrics, UnreadableObjects unreadable, CrdSchemas crds, Clock clock) {
    this.client = client;
    this.resolver = resolver;
    this.idp = idp;
    this.grants = new GrantStore(client);
    this.tokenSecrets = new TokenSecrets(client);
    this.statusWriter = new StatusWriter(client);
    this.events = events;
    this.metrics = metrics;
    this.unreadable = unreadable;
    this.crds = crds;
    this.clock = clock;
    this.tenancy = new TenancyRules(client);
  }

  /**
   * Providers are read from informer caches (no API request per reconcile), and a provider that is created, deleted
   * or whose spec changes wakes the DeviceLogins that name it (status-only changes do not: thousands of logins may
   * share one provider).
   */
  @Override
  public List<EventSource<?, DeviceLogin>> prepareEventSources(EventSourceContext<DeviceLogin> context) {
    context.getPrimaryCache().addIndexer(PROVIDER_INDEX, login -> List.of(providerKey(login)));
    identityProviders = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(IdentityProvider.class, DeviceLogin.class)
            .withName("identityproviders")
            .withNamespacesInheritedFromController()
            .withSecondaryToPrimaryMapper(provider -> loginsNaming(context, IdentityProviderRef.Kind.IdentityProvider,
                provider.getMetadata().getNamespace(), provider.getMetadata().getName()))
            .withOnUpdateFilter(DeviceLoginReconciler::specChanged)
            .build(),
        context);
    clusterIdentityProviders = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(ClusterIdentityProvider.class, DeviceLogin.class)
            .withName("clusteridentityproviders")
            .withWatchAllNamespaces()
            .withSecondaryToPrimaryMapper(provider -> loginsNaming(context,
                IdentityProviderRef.Kind.ClusterIdentityProvider, null, provider.getMetadata().getName()))
            .withOnUpdateFilter(DeviceLoginReconciler::specChanged)
            .build(),
        context);
    return List.of(identityProviders, clusterIdentityProviders, tenancy.eventSource(context));
  }

  private static boolean specChanged(HasMetadata newProvider, HasMetadata oldProvider) {
    return !Objects.equals(newProvider.getMetadata().getGeneration(), oldProvider.getMetadata().getGeneration());
  }

  private static Set<ResourceID> loginsNaming(
      EventSourceContext<DeviceLogin> context, IdentityProviderRef.Kind kind, String namespace, String name) {
    return context.getPrimaryCache().byIndex(PROVIDER_INDEX, providerKey(kind, namespace, name)).stream()
        .map(ResourceID::fromResource)
        .collect(Collectors.toSet());
  }

  /** The provider a DeviceLogin names, as an index key: kind, then namespace (IdentityProvider only) and name. */
  private static String providerKey(DeviceLogin login) {
    IdentityProviderRef ref = login.getSpec() == null ? null : login.getSpec().getIdentityProviderRef();
    if (ref == null) {
      return "";
    }
    return providerKey(ref.effectiveKind(), login.getMetadata().getNamespace(), ref.getName());
  }

  private static String providerKey(IdentityProviderRef.Kind kind, String namespace, String name) {
    return kind == IdentityProviderRef.Kind.ClusterIdentityProvider ? kind + "/" + name
        : kind + "/" + namespace + "/" + name;
  }

  @Override
  public UpdateControl<DeviceLogin> reconcile(DeviceLogin login, Context<DeviceLogin> context) {
    if (unreadable.unreadable(login, "The operator leaves it alone: no login is started, polled or refreshed.")) {
      return UpdateControl.noUpdate();
    }
    Instant now = clock.instant();
    long generation = login.getMetadata().getGeneration();
    String restart = login.restartRequest();
    Optional<Grant> grant = grants.find(login);
    String uid = login.getMetadata().getUid();
    boolean ended = endedForRequest(login.getStatus(), generation, restart);
    if (!ended && grant.isPresent() && grant.get().isFor(generation, restart)
        && grant.get().id().equals(finishedGrants.get(uid))) {
      // This process recorded the end of this grant a moment ago; the cache has not seen that status yet.
      return UpdateControl.<DeviceLogin>noUpdate().rescheduleAfter(CLEANUP_DELAY);
    }
    boolean readyNow = ended && login.getStatus().getPhase() == Phase.Ready;
    if (readyNow && endedWhileReady.contains(uid)) {
      // This process ended this Ready login a moment ago; the cache has not seen that status yet.
      return UpdateControl.<DeviceLogin>noUpdate().rescheduleAfter(CLEANUP_DELAY);
    }
    endedWhileReady.remove(uid);
    if (ended) {
      if (grant.isPresent()) {
        grants.delete(login);
        schedules.remove(uid);
        finishedGrants.remove(uid);
      }
      clearReconcileError(login);
      if (!readyNow) {
        return UpdateControl.noUpdate();
      }
      // A Ready login whose provider no longer allows it (namespaceSelector, requireUser, allowedScopes changed, or
      // its namespace's labels) is not refreshed again; its Secret is left until its tokens expire.
      Optional<TenancyPolicy.Violation> violation = tenancyViolation(login);
      if (violation.isPresent()) {
        return end(login, new Step.End(Phase.Failed, violation.get().reason(), violation.get().message()
            + " The tokens in Secret " + login.getStatus().getSecretName() + " are no longer refreshed; deleting "
            + "this DeviceLogin revokes them."), now);
      }
      return renew(login, now);
    }
    if (grant.isPresent() && !grant.get().isFor(generation, restart)) {
      LOG.info("DeviceLogin {}: spec changed or restart requested, starting a fresh login", ref(login));
      grants.delete(login);
      forget(login);
      finishedGrants.remove(uid);
      grant = Optional.empty();
    }
    metrics.forgetTokenTimes(login.getMetadata().getNamespace(), login.getMetadata().getName());
    Optional<String> invalid = SpecValidation.problems(login.getSpec());
    if (invalid.isPresent()) {
      return end(login, new Step.End(Phase.Failed, Reason.InvalidSpec, invalid.get() + " Fix the spec to retry."), now);
    }
    // The provider's tenancy rules come before any request to the IdP (discovery included): no grant is started or
    // polled for a login they refuse.
    Optional<TenancyPolicy.Violation> violation = tenancyViolation(login);
    if (violation.isPresent()) {
      return end(login, new Step.End(Phase.Failed, violation.get().reason(), violation.get().message()
          + " No request was sent to the IdP. " + Messages.startOverHint()), now);
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
      List<String> lacking = crds.missingFields(DeviceLogin.class);
      if (!lacking.isEmpty()) {
        // a spec field the person set may have been dropped by the API server: start nothing on it
        return patchIfChanged(login, DeviceLoginStatusBuilder.pending(login, Reason.CRDOutdated,
            InstalledCrds.outdatedMessage(DeviceLogin.class, lacking), now), CRD_RECHECK);
      }
      return start(login, config, now);
    }
    return poll(login, grant.get(), config, provider.resource().getSpec(), now);
  }

  /**
   * Deletion: revoke the refresh token (RFC 7009) when the IdP can, delete the token Secret for deletionPolicy Delete
   * (only if this DeviceLogin still writes it), always delete the grant Secret. An unreachable IdP is retried a few
   * times, then the DeviceLogin is let go with a Warning Event.
   */
  @Override
  public DeleteControl cleanup(DeviceLogin login, Context<DeviceLogin> context) {
    if (unreadable.unreadable(login, "Deleting it without revoking its refresh token; Secrets it owns go with it "
        + "(owner references).")) {
      unreadable.forget(login);
      return DeleteControl.defaultDelete();
    }
    unreadable.forget(login);
    String uid = login.getMetadata().getUid();
    String namespace = login.getMetadata().getNamespace();
    DeviceLoginStatus status = login.getStatus();
    Secret secret = status == null || status.getSecretName() == null
        ? null
        : tokenSecrets.get(namespace, status.getSecretName());
    boolean ours = secret != null && TokenSecrets.writtenBy(secret, login);
    UnwrittenTokens pending = unwritten.get(uid);
    Secret held = pending != null ? pending.secret() : ours ? secret : null;
    String refreshToken = held == null ? null : TokenSecrets.value(held, TokenSecrets.REFRESH_TOKEN);
    if (refreshToken != null) {
      String failure = revoke(login, held, refreshToken);
      if (failure != null) {
        int attempts = cleanupAttempts.merge(uid, 1, Integer::sum);
        if (attempts < CLEANUP_ATTEMPTS) {
          LOG.warn("DeviceLogin {}: could not revoke the refresh token (attempt {} of {}): {}", ref(login), attempts,
              CLEANUP_ATTEMPTS, failure);
          return DeleteControl.noFinalizerRemoval().rescheduleAfter(DeviceFlow.backoff(START_RETRY, attempts));
        }
        events.warning(login, "RevocationFailed", "Could not revoke the refresh token after " + attempts
            + " attempts (" + failure + "); deleting the DeviceLogin anyway. The refresh token stays valid at the "
            + "IdP until it expires or is revoked there.");
      }
    }
    if (ours && login.getSpec().effectiveDeletionPolicy() == DeviceLoginSpec.DeletionPolicy.Delete) {
      tokenSecrets.deleteIfWrittenBy(login, secret.getMetadata().getName());
    }
    grants.delete(login);
    forget(login);
    finishedGrants.remove(uid);
    unsavedGrants.remove(uid);
    endedWhileReady.remove(uid);
    cleanupAttempts.remove(uid);
    metrics.forget(namespace, login.getMetadata().getName());
    LOG.info("DeviceLogin {}: deleted; token Secret {}", ref(login), !ours ? "not ours, left alone"
        : login.getSpec().effectiveDeletionPolicy() == DeviceLoginSpec.DeletionPolicy.Delete ? "deleted" : "retained");
    return DeleteControl.defaultDelete();
  }

  /**
   * Revokes the refresh token of the tokens in {@code held} at the issuer they came from; returns why it failed, or
   * null when it is revoked, there is nothing to revoke, or it can't be revoked because the provider now names another
   * issuer or client (it is never sent there; a Warning Event says so).
   */
  private String revoke(DeviceLogin login, Secret held, String refreshToken) {
    Provider provider = provider(login);
    if (provider.resolution() instanceof ProviderResolution.NotReady notReady) {
      return "the provider is not ready: " + notReady.message();
    }
    ProviderConfig config = ((ProviderResolution.Ready) provider.resolution()).config();
    String issuer = TokenSecrets.value(held, TokenSecrets.ISSUER_URL);
    Optional<String> changed = ProviderChange.since(issuer, TokenSecrets.value(held, TokenSecrets.CLIENT_ID), config);
    if (changed.isPresent()) {
      String message = "The refresh token of Secret " + held.getMetadata().getName() + " could not be revoked: it was "
          + "issued by " + issuer + ", but " + changed.get() + ", and it is never sent to another issuer or client. It "
          + "stays valid at " + issuer + " until it expires or is revoked there.";
      LOG.warn("DeviceLogin {}: {}", ref(login), message);
      events.warning(login, "RevocationFailed", message);
      return null;
    }
    try {
      boolean revoked = idp.revoke(config, refreshToken);
      LOG.info("DeviceLogin {}: {}", ref(login), revoked
          ? "revoked the refresh token" : "the IdP advertises no revocation endpoint; nothing to revoke");
      return null;
    } catch (IdpException e) {
      return e.getMessage();
    }
  }

  @Override
  public ErrorStatusUpdateControl<DeviceLogin> updateErrorStatus(
      DeviceLogin login, Context<DeviceLogin> context, Exception e) {
    LOG.warn("DeviceLogin {}: reconcile failed, will retry: {}", ref(login), describe(e));
    try {
      statusWriter.write(login, DeviceLoginStatusBuilder.reconcileError(
          login, "The operator hit an error and retries: " + describe(e), clock.instant()));
    } catch (KubernetesClientException statusError) {
      LOG.warn("DeviceLogin {}: could not record the error in status either: {}", ref(login),
          describe(statusError));
    }
    return ErrorStatusUpdateControl.noStatusUpdate();
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

  /** Whether the status records the end (or success) of the login the DeviceLogin asks for now. */
  private static boolean endedForRequest(DeviceLoginStatus status, long generation, String restart) {
    return status != null
        && status.getPhase() != null
        && Objects.equals(status.getObservedGeneration(), generation)
        && Objects.equals(status.getObservedRestart(), restart)
        && (status.getPhase() == Phase.Ready || status.getPhase().isTerminal());
  }

  /** The provider the login names, from the informer caches, or null when it does not exist. */
  private ProviderResource providerResource(DeviceLogin login) {
    IdentityProviderRef ref = login.getSpec().getIdentityProviderRef();
    return ref.effectiveKind() == IdentityProviderRef.Kind.ClusterIdentityProvider
        ? clusterIdentityProviders.get(new ResourceID(ref.getName())).orElse(null)
        : identityProviders.get(new ResourceID(ref.getName(), login.getMetadata().getNamespace())).orElse(null);
  }

  /** The tenancy rule the login breaks with the provider it names (none while that provider does not exist). */
  private Optional<TenancyPolicy.Violation> tenancyViolation(DeviceLogin login) {
    ProviderResource resource = providerResource(login);
    // a missing or unreadable provider is reported by resolving it (ProviderNotReady), not judged by rules it can't show
    return resource == null || resource.readProblem() != null ? Optional.empty() : tenancy.check(login, resource);
  }

  private Provider provider(DeviceLogin login) {
    IdentityProviderRef ref = login.getSpec().getIdentityProviderRef();
    String namespace = login.getMetadata().getNamespace();
    ProviderResource resource = providerResource(login);
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
    if (grant.isPresent() && !now.isBefore(grant.get().expiresAt())) {
      return end(login, DeviceFlow.expired(grant.get()), now);
    }
    IdentityProviderRef ref = login.getSpec().getIdentityProviderRef();
    String message = "The " + ref.effectiveKind().name() + " " + ref.getName() + " is not ready ("
        + notReady.reason() + "): " + notReady.message();
    DeviceLoginStatus status = grant.isPresent()
        ? DeviceLoginStatusBuilder.awaitingUser(login, grant.get(), reason, message, now)
        : DeviceLoginStatusBuilder.pending(login, reason, message, now);
    return patchIfChanged(login, status, PROVIDER_RECHECK);
  }

  private UpdateControl<DeviceLogin> start(DeviceLogin login, ProviderConfig config, Instant now) {
    String uid = login.getMetadata().getUid();
    Optional<String> taken = grants.foreignSecret(login);
    if (taken.isPresent()) {
      unsavedGrants.remove(uid);
      return end(login, new Step.End(Phase.Failed, Reason.SecretConflict, taken.get() + "; the operator keeps this "
          + "login's device code under that name, so no login was started and that Secret was left as it is. Delete "
          + "or rename it, then start over. " + Messages.startOverHint()), now);
    }
    Grant unsaved = unsavedGrants.remove(uid);
    if (unsaved != null && unsaved.isFor(login.getMetadata().getGeneration(), login.restartRequest())
        && now.isBefore(unsaved.expiresAt())) {
      LOG.info("DeviceLogin {}: retrying to store the device grant started before", ref(login));
      return publish(login, unsaved, now);
    }
    DeviceAuthorization authorization;
    try {
      authorization = idp.startDeviceAuthorization(config);
    } catch (IdpException e) {
      int failures = startFailures.merge(login.getMetadata().getUid(), 1, Integer::sum);
      Duration retry = DeviceFlow.backoff(START_RETRY, failures);
      boolean unavailable = e.kind() == IdpException.Kind.UNAVAILABLE;
      LOG.warn("DeviceLogin {}: could not start the device login (attempt {}): {}", ref(login), failures,
          e.getMessage());
      String message = Messages.capitalize(e.getMessage()) + ". Retrying in " + retry.toSeconds() + "s.";
      return patchIfChanged(
          login,
          DeviceLoginStatusBuilder.pending(
              login, unavailable ? Reason.IdPUnavailable : Reason.ProviderNotReady, message, now),
          retry);
    }
    startFailures.remove(login.getMetadata().getUid());
    return publish(login,
        Grant.start(authorization, config, login.getMetadata().getGeneration(), login.restartRequest()), now);
  }

  /**
   * Stores the grant, then publishes its user code. If storing fails, the grant is kept in memory and stored on the
   * retry instead of starting another one at the IdP.
   */
  private UpdateControl<DeviceLogin> publish(DeviceLogin login, Grant grant, Instant now) {
    unsavedGrants.put(login.getMetadata().getUid(), grant);
    grants.save(login, grant);
    unsavedGrants.remove(login.getMetadata().getUid());
    schedules.put(login.getMetadata().getUid(), PollSchedule.firstPollAfter(now, grant.interval()));
    String message = DeviceFlow.waitingMessage(grant);
    LOG.info("DeviceLogin {}: device login started, user code published, expires at {}", ref(login),
        grant.expiresAt());
    UpdateControl<DeviceLogin> next = patch(
        login, DeviceLoginStatusBuilder.awaitingUser(login, grant, Reason.AuthorizationPending, message, now),
        grant.interval());
    events.normal(login, "LoginStarted", message);
    return next;
  }

  private UpdateControl<DeviceLogin> poll(
      DeviceLogin login, Grant grant, ProviderConfig config, IdentityProviderSpec provider, Instant now) {
    String uid = login.getMetadata().getUid();
    UnrecordedEnd unrecorded = unrecordedEnds.get(uid);
    if (unrecorded != null && grant.id().equals(unrecorded.grantId())) {
      LOG.info("DeviceLogin {}: retrying to record the end of the login", ref(login));
      return end(login, unrecorded, now);
    }
    Optional<String> changed = ProviderChange.since(grant.issuerUrl(), grant.clientId(), config);
    if (changed.isPresent()) {
      return end(login, new Step.End(Phase.Failed, Reason.ProviderChanged, "This login was started at issuer "
          + grant.issuerUrl() + " with client id " + grant.clientId() + ", but " + changed.get() + "; its device code "
          + "is never sent to another issuer or client, so the login ended. " + Messages.startOverHint()), now);
    }
    Grant unsaved = unsavedGrants.get(uid);
    if (unsaved != null && unsaved.id().equals(grant.id())) {
      grants.save(login, unsaved);
      unsavedGrants.remove(uid);
    }
    UnwrittenTokens pending = unwritten.get(uid);
    if (pending != null && !pending.refresh() && pending.grantId().equals(grant.id())) {
      LOG.info("DeviceLogin {}: retrying the write of Secret {}", ref(login), pending.secret().getMetadata().getName());
      return writeIssued(login, config, pending, now);
    }
    PollSchedule schedule = schedules.get(uid);
    if (schedule == null) {
      // First look at this grant since the operator started: did an earlier run already get its tokens?
      Optional<Secret> written = tokenSecrets.findWrittenFor(login, grant.id());
      if (written.isPresent()) {
        return recoverReady(login, grant, written.get(), config, provider, now);
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
    // Tokens the IdP issued whose signing keys could not be fetched are checked again instead (the code is used up).
    TokenPollResult result = schedule.unverified() != null
        ? idp.verifyIssued(config, schedule.unverified())
        : idp.pollToken(config, grant.deviceCode());
    Instant polled = clock.instant();
    step = DeviceFlow.afterPoll(grant, schedule, result, polled);
    if (step instanceof Step.Continue next) {
      schedules.put(uid, next.schedule());
      if (!next.grant().interval().equals(grant.interval())) {
        LOG.info("DeviceLogin {}: IdP asked to slow down, polling every {}s", ref(login),
            next.grant().interval().toSeconds());
        // polling follows the new interval even if storing it fails; the store is retried (see the top of poll)
        grants.remember(login, next.grant());
        unsavedGrants.put(uid, next.grant());
        grants.save(login, next.grant());
        unsavedGrants.remove(uid);
      }
      if (next.reason() == Reason.IdPUnavailable) {
        LOG.warn("DeviceLogin {}: {}", ref(login), next.message());
      }
      Step after = DeviceFlow.beforePoll(next.grant(), next.schedule(), polled);
      if (after instanceof Step.End end) {
        return end(login, end, polled);
      }
      return patchIfChanged(
          login,
          DeviceLoginStatusBuilder.awaitingUser(login, next.grant(), next.reason(), next.message(), polled),
          after instanceof Step.Wait wait ? wait.delay() : Duration.ZERO);
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
      discard(login, config, tokens.refreshToken());
      return end(login, new Step.End(Phase.Failed, refused.reason(), refused.message()
          + " " + Messages.startOverHint()), now);
    }
    Identity identity = ((IdentityPolicy.Decision.Accepted) decision).identity();
    String secretName = TokenSecrets.secretName(login, identity.getUsername());
    UnwrittenTokens tokensToWrite = new UnwrittenTokens(
        grant.id(), TokenSecrets.build(login, secretName, config, identity, tokens, grant.id()), identity,
        tokens.idTokenExpiry(), renewalTime(login, tokens.refreshToken() != null, tokens.idTokenIssuedAt(),
            tokens.idTokenExpiry()), false);
    unwritten.put(login.getMetadata().getUid(), tokensToWrite);
    return writeIssued(login, config, tokensToWrite, now);
  }

  /**
   * Tokens that must not be stored: revoke their refresh token (null: none) at {@code config}, the issuer and client
   * that issued it, so no live credential is left (best effort).
   */
  private void discard(DeviceLogin login, ProviderConfig config, String refreshToken) {
    if (refreshToken == null) {
      return;
    }
    try {
      idp.revoke(config, refreshToken);
    } catch (IdpException e) {
      LOG.warn("DeviceLogin {}: could not revoke the refresh token of discarded tokens: {}", ref(login),
          e.getMessage());
    }
  }

  /**
   * Writes the token Secret of a login, over an existing one only if it holds tokens of the same issuer, client id and
   * subject, and only as it was checked (a Secret changed or created in between refuses the write, and the retry checks
   * again); a conflict ends the login and revokes the tokens' refresh token at {@code config}, which issued them. If
   * the write throws, the tokens stay in memory for the retry JOSDK schedules (a used device code can't be used again,
   * so these tokens are the only ones).
   */
  private UpdateControl<DeviceLogin> writeIssued(
      DeviceLogin login, ProviderConfig config, UnwrittenTokens tokens, Instant now) {
    Secret existing = tokenSecrets.get(login.getMetadata().getNamespace(), tokens.secret().getMetadata().getName());
    String conflict = TokenSecrets.conflict(existing, tokens.secret());
    if (conflict != null) {
      discard(login, config, TokenSecrets.value(tokens.secret(), TokenSecrets.REFRESH_TOKEN));
      return end(login, new Step.End(Phase.Failed, Reason.SecretConflict, conflict + "; the tokens were discarded. "
          + "Set spec.secretName to a Secret name of this user's own; that spec change starts a fresh login."), now);
    }
    try {
      tokenSecrets.write(tokens.secret(), existing);
    } catch (KubernetesClientException e) {
      if (!refusedForGood(e)) {
        throw e;
      }
      UnwrittenTokens refused = tokens.refusedOnce();
      if (refused.refusals() < MAX_REFUSED_WRITES) {
        unwritten.put(login.getMetadata().getUid(), refused);
        throw e;
      }
      // held in memory for good would grow with every such login: drop them, revoke what they could still be used for
      unwritten.remove(login.getMetadata().getUid());
      discard(login, config, TokenSecrets.value(tokens.secret(), TokenSecrets.REFRESH_TOKEN));
      return end(login, new Step.End(Phase.Failed, Reason.SecretWriteRefused, "The API server refused to store the "
          + "tokens in Secret " + tokens.secret().getMetadata().getName() + " " + MAX_REFUSED_WRITES + " times (HTTP "
          + e.getCode() + (e.getStatus() == null || e.getStatus().getReason() == null ? "" : " "
          + e.getStatus().getReason()) + "); the tokens were discarded and their refresh token revoked. Check the "
          + "operator's RBAC and admission policies for Secrets in this namespace. " + Messages.startOverHint()), now);
    }
    unwritten.remove(login.getMetadata().getUid());
    return ready(login, tokens.identity(), tokens.secret().getMetadata().getName(), tokens.idTokenExpiry(),
        tokens.renewalTime(), now);
  }

  /**
   * An API answer that a retry won't change (a bad request, forbidden, too large, invalid), as opposed to a conflict,
   * throttling or a server error.
   */
  private static boolean refusedForGood(KubernetesClientException e) {
    int code = e.getCode();
    return code == 400 || code == 403 || code == 413 || code == 422;
  }

  /**
   * Writes refreshed tokens over the Secret as last read, unless another DeviceLogin writes it now; if that throws, the
   * tokens stay in memory for the retry JOSDK schedules (a rotated refresh token can't be used again).
   */
  private UpdateControl<DeviceLogin> writeRefreshed(DeviceLogin login, UnwrittenTokens tokens, Instant now) {
    String uid = login.getMetadata().getUid();
    Secret latest = tokenSecrets.get(login.getMetadata().getNamespace(), tokens.secret().getMetadata().getName());
    if (latest != null && !TokenSecrets.writtenBy(latest, login)) {
      unwritten.remove(uid);
      return superseded(login, latest, now);
    }
    if (latest == null) {
      tokenSecrets.write(tokens.secret(), null);
    } else if (!Objects.equals(latest.getData(), tokens.secret().getData())
        || TokenSecrets.refreshStarted(latest) != null) {
      tokenSecrets.update(TokenSecrets.withTokenData(latest, tokens.secret().getData()));
    }
    refreshesStarted.remove(uid);
    String message = "Refreshed the tokens in Secret " + tokens.secret().getMetadata().getName() + "; "
        + (tokens.renewalTime() == null
            ? "the IdP sent no new ID token, so the login ends when the ID token expires at "
                + Rfc3339.format(tokens.idTokenExpiry()) + ". " + Messages.startOverHint()
            : "next refresh at " + Rfc3339.format(tokens.renewalTime()) + ".");
    // kept in memory until the status records the refresh: a failed status write must not refresh again
    UpdateControl<DeviceLogin> control = patch(login,
        DeviceLoginStatusBuilder.refreshed(login, tokens.idTokenExpiry(), tokens.renewalTime(), message, now),
        untilNextLook(now, tokens.idTokenExpiry(), tokens.renewalTime()));
    unwritten.remove(uid);
    metrics.refresh("success");
    LOG.info("DeviceLogin {}: {}", ref(login), message);
    publishTokenTimes(login, tokens.idTokenExpiry(), tokens.renewalTime());
    events.normal(login, "Refreshed", message);
    return control;
  }

  /**
   * The token Secret of this grant exists: an earlier run got the tokens but stopped before recording it. Nothing read
   * from the Secret is trusted because it is there: it must hold tokens of the issuer and client the grant was started
   * at, and its ID token must pass spec.user, allowedGroups and name the subject it was written for; otherwise the login
   * ends Failed and the Secret is deleted (its refresh token revoked only if it came from this login's issuer and
   * client).
   */
  private UpdateControl<DeviceLogin> recoverReady(
      DeviceLogin login, Grant grant, Secret secret, ProviderConfig config, IdentityProviderSpec provider,
      Instant now) {
    JWTClaimsSet claims = idTokenClaims(secret);
    String name = secret.getMetadata().getName();
    String issuer = TokenSecrets.value(secret, TokenSecrets.ISSUER_URL);
    String clientId = TokenSecrets.value(secret, TokenSecrets.CLIENT_ID);
    if (!Objects.equals(issuer, grant.issuerUrl()) || !Objects.equals(clientId, grant.clientId())) {
      return refuse(login, grant.id(), null, null, name, new IdentityPolicy.Decision.Refused(Reason.ProviderChanged,
          "Secret " + name + " does not hold tokens issued by " + grant.issuerUrl() + " to client id "
              + grant.clientId() + ", where this login was started."), "It was deleted; nothing was revoked.", now);
    }
    IdentityPolicy.Decision decision = decideKeeping(login, provider, claims.toJSONObject(), secret,
        "Secret " + name + " holds an ID token");
    if (decision instanceof IdentityPolicy.Decision.Refused refused) {
      return refuse(login, grant.id(), config, TokenSecrets.value(secret, TokenSecrets.REFRESH_TOKEN), name, refused,
          "Secret " + name + " was deleted and its refresh token revoked.", now);
    }
    LOG.info("DeviceLogin {}: found the tokens of this login in Secret {}; recording Ready", ref(login),
        secret.getMetadata().getName());
    Instant expiry = claims.getExpirationTime().toInstant();
    return ready(login, ((IdentityPolicy.Decision.Accepted) decision).identity(), secret.getMetadata().getName(),
        expiry, renewalTime(login, TokenSecrets.value(secret, TokenSecrets.REFRESH_TOKEN) != null,
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

  // ---- Ready: keep the Secret fresh

  /**
   * A Ready login: write tokens a failed write left in memory, stop if another DeviceLogin took the Secret over,
   * refresh at the renewal time, end when the ID token expires.
   */
  private UpdateControl<DeviceLogin> renew(DeviceLogin login, Instant now) {
    DeviceLoginStatus status = login.getStatus();
    UnwrittenTokens pending = unwritten.get(login.getMetadata().getUid());
    if (pending != null && pending.refresh()) {
      LOG.info("DeviceLogin {}: retrying the write of refreshed tokens to Secret {}", ref(login),
          pending.secret().getMetadata().getName());
      return writeRefreshed(login, pending, now);
    }
    UnrecordedEnd unrecorded = unrecordedEnds.get(login.getMetadata().getUid());
    if (unrecorded != null && unrecorded.grantId() == null) {
      LOG.info("DeviceLogin {}: retrying to record the end of the login", ref(login));
      return end(login, unrecorded, now);
    }
    Instant expiry = Rfc3339.parse(status.getTokenExpiresAt());
    Instant renewal = Rfc3339.parse(status.getRenewalTime());
    publishTokenTimes(login, expiry, renewal);
    TokenRenewal.Decision decision =
        TokenRenewal.decide(now, expiry, renewal == null ? expiry : renewal, renewal != null);
    if (decision instanceof TokenRenewal.Decision.Wait wait) {
      return UpdateControl.<DeviceLogin>noUpdate().rescheduleAfter(wait.delay());
    }
    Secret secret = tokenSecrets.get(login.getMetadata().getNamespace(), status.getSecretName());
    if (secret != null && !TokenSecrets.writtenBy(secret, login)) {
      return superseded(login, secret, now);
    }
    String started = secret == null ? null : TokenSecrets.refreshStarted(secret);
    if (started != null && !started.equals(refreshesStarted.get(login.getMetadata().getUid()))) {
      return refreshInterrupted(login, secret, started, expiry, now);
    }
    if (decision instanceof TokenRenewal.Decision.End end) {
      return end(login, new Step.End(end.phase(), end.reason(), end.message()), now);
    }
    if (secret == null) {
      return end(login, new Step.End(Phase.Expired, Reason.RefreshFailed, "Secret " + status.getSecretName()
          + " was deleted, so there is no refresh token to renew it with. " + Messages.startOverHint()), now);
    }
    Provider provider = provider(login);
    if (provider.resolution() instanceof ProviderResolution.NotReady notReady) {
      return refreshFailed(login, expiry, "the provider is not ready (" + notReady.reason() + "): "
          + notReady.message(), now);
    }
    ProviderConfig config = ((ProviderResolution.Ready) provider.resolution()).config();
    String issuer = TokenSecrets.value(secret, TokenSecrets.ISSUER_URL);
    Optional<String> changed = ProviderChange.since(issuer, TokenSecrets.value(secret, TokenSecrets.CLIENT_ID), config);
    if (changed.isPresent()) {
      String name = secret.getMetadata().getName();
      return end(login, new Step.End(Phase.Failed, Reason.ProviderChanged, "The tokens in Secret " + name + " were "
          + "issued by " + issuer + ", but " + changed.get() + "; their refresh token is never sent to another issuer "
          + "or client, so they are no longer renewed and stay in the Secret until they expire at "
          + Rfc3339.format(expiry) + ". To log in through the provider as it is now, delete Secret " + name
          + " (or this DeviceLogin), then start over. " + Messages.startOverHint()), now);
    }
    // Refreshed tokens whose signing keys could not be fetched are checked again instead (the old refresh token may
    // be rotated away; the refresh mark of that refresh stays until they are stored).
    UnverifiedTokens held = unverifiedRefreshes.remove(login.getMetadata().getUid());
    if (held == null && started == null) {
      // Persisted before the refresh token leaves: a process that dies before storing the answer leaves this mark, and
      // the next one does not present a refresh token the IdP may already have rotated.
      // Remembered first: if the update is applied but its answer lost, the mark found next is still this process's.
      started = Rfc3339.format(now);
      refreshesStarted.put(login.getMetadata().getUid(), started);
      secret = tokenSecrets.update(TokenSecrets.withRefreshStarted(secret, started));
    }
    TokenRefreshResult result = held != null
        ? idp.verifyRefreshed(config, held)
        : idp.refresh(config, TokenSecrets.value(secret, TokenSecrets.REFRESH_TOKEN));
    Instant refreshedAt = clock.instant();
    if (result instanceof TokenRefreshResult.Unavailable unavailable) {
      metrics.refresh("unavailable");
      if (held == null) {
        refreshAnswered(login, secret);
      }
      return refreshFailed(login, expiry, unavailable.message(), refreshedAt);
    }
    if (result instanceof TokenRefreshResult.Unverified unverified) {
      unverifiedRefreshes.put(login.getMetadata().getUid(), unverified.tokens());
      metrics.refresh("unavailable");
      return refreshFailed(login, expiry, unverified.message() + "; the new tokens are kept in memory only and "
          + "checked again", refreshedAt);
    }
    if (!(result instanceof TokenRefreshResult.Refreshed refreshed)) {
      metrics.refresh("refused");
      TokenRenewal.Decision.End end = TokenRenewal.refused(result);
      return end(login, new Step.End(end.phase(), end.reason(), end.message()), refreshedAt);
    }
    refreshFailures.remove(login.getMetadata().getUid());
    IssuedTokens tokens = refreshed.tokens();
    if (tokens.idToken() == null) {
      unwritten.put(login.getMetadata().getUid(), new UnwrittenTokens(TokenSecrets.grantId(secret),
          TokenSecrets.withRefreshedTokens(secret, tokens), status.getIdentity(), expiry, null, true));
      return writeRefreshed(login, unwritten.get(login.getMetadata().getUid()), refreshedAt);
    }
    IdentityPolicy.Decision decision2 = decideKeeping(login, provider.resource().getSpec(), tokens.claims(), secret,
        "A refresh returned an ID token");
    if (decision2 instanceof IdentityPolicy.Decision.Refused refused) {
      metrics.refresh("refused");
      String name = secret.getMetadata().getName();
      return refuse(login, null, config, tokens.refreshToken() != null ? tokens.refreshToken()
          : TokenSecrets.value(secret, TokenSecrets.REFRESH_TOKEN), name, refused,
          "The refreshed tokens were discarded and Secret " + name + " deleted.", refreshedAt);
    }
    Instant newExpiry = tokens.idTokenExpiry();
    boolean canRefreshAgain = tokens.refreshToken() != null
        || TokenSecrets.value(secret, TokenSecrets.REFRESH_TOKEN) != null;
    UnwrittenTokens toWrite = new UnwrittenTokens(TokenSecrets.grantId(secret),
        TokenSecrets.withRefreshedTokens(secret, tokens), status.getIdentity(), newExpiry,
        renewalTime(login, canRefreshAgain, tokens.idTokenIssuedAt(), newExpiry), true);
    unwritten.put(login.getMetadata().getUid(), toWrite);
    return writeRefreshed(login, toWrite, refreshedAt);
  }

  /**
   * Tokens this login must not keep: their refresh token is revoked at {@code config}, the issuer and client that
   * issued it (null: it can't be attributed to one, nothing is sent), the token Secret {@code secretName} is deleted if
   * this DeviceLogin writes it, and the end is recorded from memory until both succeeded, so the tokens are never used.
   *
   * @param grantId the grant whose login this ends, null for a Ready login
   * @param outcome what happened to the tokens, for the message
   */
  private UpdateControl<DeviceLogin> refuse(
      DeviceLogin login, String grantId, ProviderConfig config, String refreshToken, String secretName,
      IdentityPolicy.Decision.Refused refused, String outcome, Instant now) {
    if (config != null) {
      discard(login, config, refreshToken);
    }
    return end(login, new UnrecordedEnd(grantId, new Step.End(Phase.Failed, refused.reason(), refused.message()
        + " " + outcome + " " + Messages.startOverHint()), secretName), now);
  }

  /**
   * The token Secret says a refresh was in flight when an earlier process stopped: its refresh token may be rotated at
   * the IdP already and is not presented again. Ready (RefreshFailed, no renewal time) until the ID token expires,
   * then Expired.
   */
  private UpdateControl<DeviceLogin> refreshInterrupted(
      DeviceLogin login, Secret secret, String started, Instant expiry, Instant now) {
    String name = secret.getMetadata().getName();
    TokenRenewal.Decision decision = TokenRenewal.afterInterruptedRefresh(now, expiry, name, started);
    if (decision instanceof TokenRenewal.Decision.End end) {
      return end(login, new Step.End(end.phase(), end.reason(), end.message()), now);
    }
    String message = TokenRenewal.interruptedMessage(name, started, expiry);
    DeviceLoginStatus next = DeviceLoginStatusBuilder.refreshFailing(login, null, message, now);
    boolean changed = !StatusWriter.same(login.getStatus(), next);
    publishTokenTimes(login, expiry, null);
    UpdateControl<DeviceLogin> control = patchIfChanged(login, next, ((TokenRenewal.Decision.Wait) decision).delay());
    if (changed) {
      LOG.warn("DeviceLogin {}: {}", ref(login), message);
      events.warning(login, Reason.RefreshFailed.name(), message);
    }
    return control;
  }

  /**
   * The IdP answered a refresh without new tokens (unavailable; retried later with the same refresh token, as this
   * process would): the refresh is no longer in flight, so a restart retries it too instead of taking it as
   * interrupted. If clearing the mark fails, it stays: a restart then does not retry (the safe side).
   */
  private void refreshAnswered(DeviceLogin login, Secret secret) {
    try {
      tokenSecrets.update(TokenSecrets.withoutRefreshStarted(secret));
      refreshesStarted.remove(login.getMetadata().getUid());
    } catch (KubernetesClientException e) {
      LOG.warn("DeviceLogin {}: could not clear the refresh mark on Secret {}: {}", ref(login),
          secret.getMetadata().getName(), describe(e));
    }
  }

  /** A refresh failed for now: retry with back-off while the ID token is valid; the phase stays Ready. */
  private UpdateControl<DeviceLogin> refreshFailed(DeviceLogin login, Instant expiry, String cause, Instant now) {
    int failures = refreshFailures.merge(login.getMetadata().getUid(), 1, Integer::sum);
    Instant retryAt = TokenRenewal.retryAt(now, failures, expiry);
    String message = "Refreshing the tokens failed (" + cause + "); retrying at " + Rfc3339.format(retryAt)
        + ". The tokens in the Secret stay valid until " + Rfc3339.format(expiry) + ".";
    LOG.warn("DeviceLogin {}: {}", ref(login), message);
    if (failures == 1) {
      events.warning(login, Reason.RefreshFailed.name(), message);
    }
    publishTokenTimes(login, expiry, retryAt);
    return patchIfChanged(login, DeviceLoginStatusBuilder.refreshFailing(login, retryAt, message, now),
        Duration.between(now, retryAt));
  }

  /** Another DeviceLogin completed a login into the same Secret: it writes it now; this one stops refreshing. */
  private UpdateControl<DeviceLogin> superseded(DeviceLogin login, Secret secret, Instant now) {
    String name = secret.getMetadata().getName();
    String writer = TokenSecrets.annotation(secret, TokenSecrets.WRITER_UID_ANNOTATION) == null
        ? "Secret " + name + " was written by an earlier operator version and can't be attributed to this DeviceLogin "
            + "(it has no " + TokenSecrets.WRITER_UID_ANNOTATION + " annotation and no owner reference to it)"
        : "Secret " + name + " is now written by another DeviceLogin (" + TokenSecrets.writer(secret) + ")";
    return end(login, new Step.End(Phase.Expired, Reason.Superseded, writer + "; this DeviceLogin stopped refreshing "
        + "it. " + Messages.startOverHint()), now);
  }

  /** When to refresh: null when there is no refresh token (nothing can renew the ID token). */
  private static Instant renewalTime(DeviceLogin login, boolean hasRefreshToken, Instant issuedAt, Instant expiry) {
    if (!hasRefreshToken) {
      return null;
    }
    String renewBefore = login.getSpec().getRenewBefore();
    return TokenRenewal.renewalTime(issuedAt, expiry, renewBefore == null ? null : Durations.parse(renewBefore));
  }

  private static Duration untilNextLook(Instant now, Instant expiry, Instant renewal) {
    Instant next = renewal == null || renewal.isAfter(expiry) ? expiry : renewal;
    Duration delay = Duration.between(now, next);
    return delay.isNegative() ? Duration.ZERO : delay;
  }

  private void publishTokenTimes(DeviceLogin login, Instant expiry, Instant renewal) {
    metrics.tokenTimes(login.getMetadata().getNamespace(), login.getMetadata().getName(), expiry, renewal);
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
  private static IdentityPolicy.Decision decideKeeping(
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

  private UpdateControl<DeviceLogin> ready(
      DeviceLogin login, Identity identity, String secretName, Instant tokenExpiresAt, Instant renewalTime,
      Instant now) {
    forget(login);
    String message = "User " + identity.getUsername() + " logged in; the tokens are in Secret " + secretName + "; "
        + (renewalTime == null
            ? "the IdP issued no refresh token, so the login ends when the ID token expires at "
                + Rfc3339.format(tokenExpiresAt) + "."
            : "next refresh at " + Rfc3339.format(renewalTime) + ".");
    // If this write fails, the retry finds the token Secret of this grant and records Ready from it (recoverReady).
    UpdateControl<DeviceLogin> control = patch(login,
        DeviceLoginStatusBuilder.ready(login, identity, secretName, tokenExpiresAt, renewalTime, message, now),
        CLEANUP_DELAY);
    recordFinished(login);
    LOG.info("DeviceLogin {}: {}", ref(login), message);
    metrics.loginEnded(Phase.Ready.name());
    publishTokenTimes(login, tokenExpiresAt, renewalTime);
    events.normal(login, "LoginSucceeded", message);
    return control;
  }

  private UpdateControl<DeviceLogin> end(DeviceLogin login, Step.End end, Instant now) {
    return end(login, new UnrecordedEnd(grants.cached(login).map(Grant::id).orElse(null), end, null), now);
  }

  /**
   * Records an end: kept in memory until the status says so (a failed write is retried from there), the Event and the
   * metric only once it does.
   */
  private UpdateControl<DeviceLogin> end(DeviceLogin login, UnrecordedEnd ending, Instant now) {
    String uid = login.getMetadata().getUid();
    Step.End end = ending.end();
    boolean wasReady = login.getStatus() != null && login.getStatus().getPhase() == Phase.Ready;
    forget(login);
    unrecordedEnds.put(uid, ending);
    if (ending.secretToDelete() != null) {
      tokenSecrets.deleteIfWrittenBy(login, ending.secretToDelete());
    }
    UpdateControl<DeviceLogin> control = patch(login,
        DeviceLoginStatusBuilder.ended(login, end.phase(), end.reason(), end.message(), now), CLEANUP_DELAY);
    unrecordedEnds.remove(uid);
    recordFinished(login);
    if (wasReady) {
      endedWhileReady.add(uid);
    }
    LOG.info("DeviceLogin {}: login ended {} ({})", ref(login), end.phase(), end.reason());
    metrics.loginEnded(end.phase().name());
    events.warning(login, end.reason().name(), end.message());
    return control;
  }

  private static boolean showsGrant(DeviceLogin login, Grant grant) {
    DeviceLoginStatus status = login.getStatus();
    return status != null
        && status.getPhase() == Phase.AwaitingUser
        && Objects.equals(status.getObservedGeneration(), login.getMetadata().getGeneration())
        && grant.userCode().equals(status.getUserCode())
        && Conditions.find(status.getConditions(), DeviceLoginStatusBuilder.RECONCILED) == null;
  }

  /** Notes that this process ended the login of the DeviceLogin's current grant (see the guard in reconcile). */
  private void recordFinished(DeviceLogin login) {
    grants.cached(login).ifPresent(grant -> finishedGrants.put(login.getMetadata().getUid(), grant.id()));
  }

  private void forget(DeviceLogin login) {
    unrecordedEnds.remove(login.getMetadata().getUid());
    schedules.remove(login.getMetadata().getUid());
    startFailures.remove(login.getMetadata().getUid());
    unwritten.remove(login.getMetadata().getUid());
    refreshFailures.remove(login.getMetadata().getUid());
    unverifiedRefreshes.remove(login.getMetadata().getUid());
    refreshesStarted.remove(login.getMetadata().getUid());
  }

  /**
   * The status of an ended or Ready login keeps a Reconciled=False an earlier failed reconcile wrote; this reconcile
   * got this far, so the error is over: write the status without it (nothing else changes).
   */
  private void clearReconcileError(DeviceLogin login) {
    DeviceLoginStatus status = login.getStatus();
    if (Conditions.find(status.getConditions(), DeviceLoginStatusBuilder.RECONCILED) == null) {
      return;
    }
    DeviceLoginStatus cleared = io.fabric8.kubernetes.client.utils.Serialization.clone(status);
    cleared.setConditions(status.getConditions().stream()
        .filter(c -> !DeviceLoginStatusBuilder.RECONCILED.equals(c.getType())).toList());
    statusWriter.write(login, cleared);
    login.setStatus(cleared);
  }

  /** Writes the status now (one JSON patch replacing it), then looks again after {@code next}. */
  private UpdateControl<DeviceLogin> patch(DeviceLogin login, DeviceLoginStatus status, Duration next) {
    statusWriter.write(login, status);
    login.setStatus(status);
    var readyCondition = Conditions.find(status.getConditions(), Constants.READY);
    metrics.readyStatus(login.getMetadata().getNamespace(), login.getMetadata().getName(),
        readyCondition == null ? "Unknown" : readyCondition.getStatus());
    return UpdateControl.<DeviceLogin>noUpdate().rescheduleAfter(next);
  }

  private UpdateControl<DeviceLogin> patchIfChanged(
      DeviceLogin login, DeviceLoginStatus status, Duration next) {
    if (StatusWriter.same(login.getStatus(), status)) {
      return UpdateControl.<DeviceLogin>noUpdate().rescheduleAfter(next);
    }
    return patch(login, status, next);
  }

  private static String ref(DeviceLogin login) {
    return login.getMetadata().getNamespace() + "/" + login.getMetadata().getName();
  }
}
