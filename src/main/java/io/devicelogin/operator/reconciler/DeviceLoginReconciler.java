package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginStatus;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.flow.StartedGrant;
import io.devicelogin.operator.flow.SpecValidation;
import io.devicelogin.operator.flow.Step;
import io.devicelogin.operator.flow.TenancyPolicy;
import io.devicelogin.operator.idp.IdentityProviderClient;
import io.devicelogin.operator.messages.Messages;
import io.devicelogin.operator.metrics.OperatorMetrics;
import io.devicelogin.operator.secret.GrantStore;
import io.devicelogin.operator.secret.PastedResponses;
import io.devicelogin.operator.secret.SecretInformer;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.status.DeviceLoginStatusBuilder;
import io.devicelogin.operator.status.StatusWriter;
import io.devicelogin.operator.upgrade.CrdSchemas;
import io.devicelogin.operator.upgrade.InstalledCrds;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.OperatorException;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.PrimaryUpdateAndCacheUtils;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.retry.GradualRetry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The DeviceLogin controller, a thin dispatcher: observe (the DeviceLogin as cached with this process's own writes,
 * its grant and token Secrets from the Secret informer, its provider from the provider informers), validate (spec,
 * tenancy rules, installed CRDs), then hand the login to the collaborator of its phase — {@link Login} until tokens
 * arrive ({@link Issuance} stores them), {@link Renewal} while Ready, {@link Deletion} when deleted — which decides
 * with the pure rules in {@code flow/}, acts, and records the outcome ({@link Outcomes}). docs/DESIGN.md draws the
 * lifecycle and what each step persists.
 *
 * <p>The reconciler sees every event (JOSDK's {@code triggerReconcilerOnAllEvents}) and manages its finalizer itself:
 * it is added in the reconcile that publishes the user code, right after the grant Secret is stored, instead of in a
 * reconcile of its own before the first one (a watch round trip before the user code).
 */
/* API errors are retried with back-off for as long as they last (2 s doubling to 2 min), never given up on. */
@GradualRetry(maxAttempts = -1, initialInterval = 2000, intervalMultiplier = 2, maxInterval = 120_000)
@ControllerConfiguration(
    name = "devicelogin",
    generationAwareEventProcessing = false,
    triggerReconcilerOnAllEvents = true,
    informer = @Informer(onUpdateFilter = RelevantChange.class))
public class DeviceLoginReconciler implements Reconciler<DeviceLogin> {

  /** How soon a login held back by an outdated CRD looks again (InstalledCrds reads the CRDs at most once a minute). */
  static final Duration CRD_RECHECK = Duration.ofSeconds(30);

  private static final Logger LOG = LoggerFactory.getLogger(DeviceLoginReconciler.class);

  private final OperatorMetrics metrics;
  private final UnreadableObjects unreadable;
  private final CrdSchemas crds;
  private final Clock clock;
  private final SecretInformer ownSecrets = new SecretInformer();
  private final PastedResponses pastedResponses;
  private final InFlight inFlight = new InFlight();
  private final Rewake rewake = new Rewake();
  private final Providers providers;
  private final GrantStore grants;
  private final Outcomes outcomes;
  private final Login login;
  private final Renewal renewal;
  private final Deletion deletion;

  public DeviceLoginReconciler(
      KubernetesClient client, ProviderResolver resolver, IdentityProviderClient idp, EventRecorder events,
      OperatorMetrics metrics, UnreadableObjects unreadable, CrdSchemas crds, Clock clock) {
    this.metrics = metrics;
    this.unreadable = unreadable;
    this.crds = crds;
    this.clock = clock;
    this.providers = new Providers(resolver, new TenancyRules(client));
    this.pastedResponses = new PastedResponses(client);
    this.grants = new GrantStore(client, ownSecrets);
    TokenSecrets tokenSecrets = new TokenSecrets(client, ownSecrets);
    this.outcomes = new Outcomes(new StatusWriter(client), events, metrics, grants, tokenSecrets, idp, inFlight);
    Issuance issuance = new Issuance(tokenSecrets, outcomes, inFlight);
    CodeLogin codeLogin = new CodeLogin(idp, grants, pastedResponses, issuance, outcomes, inFlight, clock);
    this.login = new Login(idp, grants, issuance, outcomes, inFlight, codeLogin, clock);
    // names the refresh marks this process sets; the Pod name (HOSTNAME) for people, a random part for restarts
    String instance = Objects.requireNonNullElse(System.getenv("HOSTNAME"), "operator") + "/" + UUID.randomUUID();
    this.renewal = new Renewal(idp, providers, tokenSecrets, outcomes, inFlight, clock, instance);
    this.deletion = new Deletion(idp, providers, grants, tokenSecrets, outcomes, inFlight);
  }

  @Override
  public List<EventSource<?, DeviceLogin>> prepareEventSources(EventSourceContext<DeviceLogin> context) {
    List<EventSource<?, DeviceLogin>> sources = new ArrayList<>(providers.eventSources(context));
    sources.add(rewake);
    sources.addAll(ownSecrets.eventSources(context));
    sources.addAll(pastedResponses.eventSources(context));
    return sources;
  }

  @Override
  public UpdateControl<DeviceLogin> reconcile(DeviceLogin resource, Context<DeviceLogin> context) {
    Turn turn = new Turn(resource, context);
    if (context.isPrimaryResourceDeleted()) {
      forget(resource);
      // a DeviceLogin created under the same name meanwhile would lose its own event (see Rewake)
      context.getPrimaryCache().get(ResourceID.fromResource(resource)).ifPresent(rewake::wake);
      return UpdateControl.noUpdate();
    }
    if (resource.isMarkedForDeletion()) {
      return delete(turn);
    }
    if (unreadable.unreadable(resource, "The operator leaves it alone: no login is started, polled or refreshed.")) {
      return UpdateControl.noUpdate();
    }
    Instant now = clock.instant();
    Optional<StartedGrant> grant = grants.find(resource);
    if (endedForRequest(resource)) {
      // a crash between recording the end and deleting the grant Secret leaves it
      grant.ifPresent(g -> grants.delete(resource));
      // a response pasted for a login that ended is refused (its state was used or expired): deleted, as the contract
      // says, instead of staying in the namespace with a code in it
      pastedResponses.refuseAll(resource, "the login has ended");
      outcomes.clearReconcileError(turn);
      if (resource.getStatus().getSecretName() != null) {
        // tokens may be in that Secret (a Ready login, or one that ended after it): deletion must revoke them
        outcomes.holdForCleanup(turn);
      }
      if (resource.getStatus().getPhase() != Phase.Ready) {
        return UpdateControl.noUpdate();
      }
      // A Ready login whose provider no longer allows it (namespaceSelector, requireUser, allowedScopes changed, or
      // its namespace's labels) is not refreshed again; its Secret is left until its tokens expire.
      Optional<TenancyPolicy.Violation> violation = providers.tenancyViolation(resource);
      if (violation.isPresent()) {
        return outcomes.end(turn, new Step.End(Phase.Failed, violation.get().reason(), violation.get().message()
            + " The tokens in Secret " + resource.getStatus().getSecretName() + " are no longer refreshed; deleting "
            + "this DeviceLogin revokes them."), now);
      }
      return renewal.renew(turn, now);
    }
    if (grant.isPresent() && !grant.get().isFor(resource.getMetadata().getGeneration(), resource.restartRequest())) {
      LOG.info("DeviceLogin {}: spec changed or restart requested, starting a fresh login", turn.ref());
      grants.delete(resource);
      inFlight.forget(turn);
      grant = Optional.empty();
    }
    metrics.forgetTokenTimes(turn.namespace(), resource.getMetadata().getName());
    Optional<String> invalid = SpecValidation.problems(resource.getSpec());
    if (invalid.isPresent()) {
      return outcomes.end(turn, new Step.End(Phase.Failed, Reason.InvalidSpec, invalid.get()
          + " Fix the spec to retry."), now);
    }
    // The provider's tenancy rules come before any request to the IdP (discovery included): no grant is started or
    // polled for a login they refuse.
    Optional<TenancyPolicy.Violation> violation = providers.tenancyViolation(resource);
    if (violation.isPresent()) {
      return outcomes.end(turn, new Step.End(Phase.Failed, violation.get().reason(), violation.get().message()
          + " No request was sent to the IdP. " + Messages.startOverHint()), now);
    }
    Providers.Provider provider = providers.provider(resource);
    if (provider.resolution() instanceof ProviderResolution.NotReady notReady) {
      return login.providerNotReady(turn, grant, notReady, now);
    }
    if (grant.isPresent()) {
      return login.poll(turn, grant.get(), provider, now);
    }
    List<String> lacking = crds.missingFields(DeviceLogin.class);
    if (!lacking.isEmpty()) {
      // a spec field the person set may have been dropped by the API server: start nothing on it
      return outcomes.patchIfChanged(turn, DeviceLoginStatusBuilder.pending(resource, Reason.CRDOutdated,
          InstalledCrds.outdatedMessage(DeviceLogin.class, lacking), now), CRD_RECHECK);
    }
    return login.start(turn, provider.config(resource), now);
  }

  /**
   * A DeviceLogin marked for deletion: clean up while the finalizer holds it, then remove the finalizer. Without the
   * finalizer no user code was shown and no token written (it is added before both), and owner references take a
   * grant Secret stored just before.
   */
  private UpdateControl<DeviceLogin> delete(Turn turn) {
    DeviceLogin resource = turn.login();
    if (!resource.hasFinalizer(Constants.FINALIZER)) {
      return UpdateControl.noUpdate();
    }
    if (!unreadable.unreadable(resource, "Deleting it without revoking its refresh token; Secrets it owns go with it "
        + "(owner references).")) {
      Optional<Duration> again = deletion.delete(turn, clock.instant());
      if (again.isPresent()) {
        return UpdateControl.<DeviceLogin>noUpdate().rescheduleAfter(again.get());
      }
    }
    PrimaryUpdateAndCacheUtils.removeFinalizer(turn.context().getClient(), resource, Constants.FINALIZER);
    forget(resource);
    return UpdateControl.noUpdate();
  }

  private void forget(DeviceLogin resource) {
    inFlight.forget(ResourceID.fromResource(resource));
    unreadable.forget(resource);
    metrics.forget(resource.getMetadata().getNamespace(), resource.getMetadata().getName());
  }

  @Override
  public ErrorStatusUpdateControl<DeviceLogin> updateErrorStatus(
      DeviceLogin resource, Context<DeviceLogin> context, Exception e) {
    Turn turn = new Turn(resource, context);
    LOG.warn("DeviceLogin {}: reconcile failed, will retry: {}", turn.ref(), describe(e));
    if (context.isPrimaryResourceDeleted()) {
      return ErrorStatusUpdateControl.noStatusUpdate();
    }
    try {
      outcomes.write(turn, DeviceLoginStatusBuilder.reconcileError(
          resource, "The operator hit an error and retries: " + describe(e), clock.instant()));
    } catch (KubernetesClientException | OperatorException statusError) {
      LOG.warn("DeviceLogin {}: could not record the error in status either: {}", turn.ref(), describe(statusError));
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
  private static boolean endedForRequest(DeviceLogin resource) {
    DeviceLoginStatus status = resource.getStatus();
    return status != null
        && status.getPhase() != null
        && Objects.equals(status.getObservedGeneration(), resource.getMetadata().getGeneration())
        && Objects.equals(status.getObservedRestart(), resource.restartRequest())
        && (status.getPhase() == Phase.Ready || status.getPhase().isTerminal());
  }
}
