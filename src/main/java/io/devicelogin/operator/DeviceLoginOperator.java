package io.devicelogin.operator;

import io.devicelogin.operator.callback.CallbackServer;
import io.devicelogin.operator.callback.ResponseInbox;
import io.devicelogin.operator.http.HealthServer;
import io.devicelogin.operator.idp.CallLimiter;
import io.devicelogin.operator.idp.IdentityProviderClient;
import io.devicelogin.operator.idp.NimbusIdentityProviderClient;
import io.devicelogin.operator.metrics.OperatorMetrics;
import io.devicelogin.operator.reconciler.ClusterIdentityProviderReconciler;
import io.devicelogin.operator.reconciler.DeviceLoginReconciler;
import io.devicelogin.operator.reconciler.EventRecorder;
import io.devicelogin.operator.reconciler.IdentityProviderReconciler;
import io.devicelogin.operator.reconciler.ProviderResolver;
import io.devicelogin.operator.reconciler.UnreadableObjects;
import io.devicelogin.operator.secret.CallbackInbox;
import io.devicelogin.operator.status.StatusWriter;
import io.devicelogin.operator.upgrade.InstalledCrds;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.ControllerConfigurationOverrider;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfigurationBuilder;
import io.micrometer.core.instrument.Gauge;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator: three controllers, the IdP client, metrics, the health endpoints and the callback endpoint, wired
 * together.
 */
public final class DeviceLoginOperator implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(DeviceLoginOperator.class);

  private final Operator operator;
  private final AtomicBoolean leading = new AtomicBoolean();
  private final AtomicBoolean closing = new AtomicBoolean();
  private volatile Runnable onLostLeadership = () -> { };
  private final OperatorSettings settings;
  private final PrometheusMeterRegistry registry;
  private final KubernetesClient client;
  private final InstalledCrds crds;
  private final OperatorMetrics metrics;
  private ResponseInbox inbox;
  private HealthServer health;
  private CallbackServer callback;

  private DeviceLoginOperator(
      KubernetesClient client, OperatorSettings settings, IdentityProviderClient idp, OperatorMetrics metrics,
      PrometheusMeterRegistry registry, Clock clock) {
    this.client = client;
    this.settings = settings;
    this.registry = registry;
    this.metrics = metrics;
    this.operator = new Operator(o -> {
      o.withKubernetesClient(client)
          .withCloseClientOnStop(false)
          .withUseSSAToPatchPrimaryResource(false)
          // Resource versions are etcd revisions (integers) on the API servers this runs against: comparing them lets
          // JOSDK keep this process's newest write in its recent-write cache even when it follows another write the
          // informer has not seen yet (status, then finalizer; grant Secret create, then update), instead of dropping it.
          .withParseResourceVersions(true)
          // named threads, so a thread dump (and the benchmark) tells reconciles from JOSDK's start-up pool
          .withExecutorService(ThreadPools.fixed("devicelogin-reconcile-", settings.reconcileThreads()))
          .withMetrics(MicrometerMetrics.withoutPerResourceMetrics(registry));
      if (settings.leaderElection().enabled()) {
        o.withLeaderElectionConfiguration(leaderElectionConfiguration(settings.leaderElection()));
      } else {
        leading.set(true);
      }
    });
    Gauge.builder("devicelogin_leader", leading, l -> l.get() ? 1 : 0)
        .description("1 while this instance reconciles (the leader, or the only instance without leader election)")
        .register(registry);
    this.crds = InstalledCrds.of(client, registry);
    this.inbox = new CallbackInbox(client, clock);
    ProviderResolver resolver = new ProviderResolver(client, idp, settings.operatorNamespace(), crds);
    EventRecorder events = new EventRecorder(client, clock);
    UnreadableObjects unreadable = new UnreadableObjects(events, registry);
    StatusWriter statusWriter = new StatusWriter(client);
    operator.register(new IdentityProviderReconciler(resolver, statusWriter, unreadable, clock), namespaced());
    operator.register(new ClusterIdentityProviderReconciler(resolver, statusWriter, unreadable, clock),
        o -> o.watchingAllNamespaces());
    operator.register(
        new DeviceLoginReconciler(client, resolver, idp, events, metrics, unreadable, crds, clock), namespaced());
  }

  /**
   * JOSDK's leader election with our own reaction to losing the lease: JOSDK's exit-on-stop would also fire when
   * {@link #close()} cancels the election (e.g. in a shutdown hook), so it is off and {@link #onLostLeadership}
   * decides what happens when the lease is lost while running.
   */
  private LeaderElectionConfiguration leaderElectionConfiguration(OperatorSettings.LeaderElection election) {
    LeaderElectionConfigurationBuilder builder =
        LeaderElectionConfigurationBuilder.aLeaderElectionConfiguration(election.leaseName())
            .withLeaseNamespace(election.leaseNamespace())
            .withLeaseDuration(election.leaseDuration())
            .withRenewDeadline(election.renewDeadline())
            .withRetryPeriod(election.retryPeriod())
            .withExitOnStopLeading(false)
            .withLeaderCallbacks(new LeaderCallbacks(
                () -> {
                  leading.set(true);
                  LOG.info("Leading: this instance now reconciles (Lease {}/{})", election.leaseNamespace(),
                      election.leaseName());
                },
                () -> {
                  boolean wasLeading = leading.getAndSet(false);
                  if (wasLeading && !closing.get()) {
                    LOG.error("Lost the Lease {}/{}; stopping so that no two instances reconcile at once",
                        election.leaseNamespace(), election.leaseName());
                    onLostLeadership.run();
                  }
                },
                leader -> LOG.info("Leader is now {}", leader)));
    if (election.identity() != null) {
      builder.withIdentity(election.identity());
    }
    return builder.build();
  }

  /** What to do when this instance loses the lease while running (Main: exit so the Pod restarts as a follower). */
  public DeviceLoginOperator onLostLeadership(Runnable action) {
    this.onLostLeadership = action;
    return this;
  }

  /**
   * Where the callback endpoint hands the IdP redirects it receives instead of the grant Secrets
   * ({@link CallbackInbox}, the default): tests.
   */
  public DeviceLoginOperator withResponseInbox(ResponseInbox responseInbox) {
    this.inbox = responseInbox;
    return this;
  }

  /** Whether this instance reconciles now: the leader, or always without leader election. */
  public boolean isLeader() {
    return leading.get() && !closing.get();
  }

  /** The operator with the Nimbus IdP client, as {@code java -jar} runs it. */
  public static DeviceLoginOperator create(KubernetesClient client, OperatorSettings settings) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    OperatorMetrics metrics = new OperatorMetrics(registry);
    IdentityProviderClient idp = new NimbusIdentityProviderClient(
        settings.idpConnectTimeout(), settings.idpReadTimeout(), metrics, Clock.systemUTC(), settings.idpEgress(),
        new CallLimiter(settings.idpFairShare()));
    return new DeviceLoginOperator(client, settings, idp, metrics, registry, Clock.systemUTC());
  }

  /** The operator with another IdP client (tests). */
  public static DeviceLoginOperator create(
      KubernetesClient client, OperatorSettings settings, IdentityProviderClient idp, OperatorMetrics metrics,
      Clock clock) {
    return new DeviceLoginOperator(
        client, settings, idp, metrics, (PrometheusMeterRegistry) metrics.registry(), clock);
  }

  private <R extends io.fabric8.kubernetes.api.model.HasMetadata> Consumer<ControllerConfigurationOverrider<R>>
      namespaced() {
    return o -> {
      if (!settings.watchNamespaces().isEmpty()) {
        o.settingNamespaces(settings.watchNamespaces());
      }
    };
  }

  /**
   * Checks the cluster, starts the controllers and the HTTP endpoints.
   *
   * @throws StartupCheck.StartupException with a message a person can act on
   * @throws IOException when a port cannot be bound, saying which setting to change
   */
  public void start() throws StartupCheck.StartupException, IOException {
    StartupCheck.verify(client, settings.watchNamespaces());
    // an outdated CRD is said at start (and held against the objects that need it), not a reason to refuse to start
    crds.check();
    // Readiness: started with healthy informers. A follower's informers run too (only event processing waits for
    // the lease), so a ready follower has warm caches and can take over at once.
    try {
      health = HealthServer.start(
          settings.httpPort(), registry, () -> true,
          () -> operator.getRuntimeInfo().isStarted() && operator.getRuntimeInfo().allEventSourcesAreHealthy());
    } catch (IOException e) {
      throw new IOException("cannot serve HTTP on port " + settings.httpPort() + ": " + e.getMessage()
          + " (set HTTP_PORT)", e);
    }
    if (settings.callbackPort() != OperatorSettings.CALLBACK_OFF) {
      try {
        callback = CallbackServer.start(settings.callbackPort(), inbox, metrics);
      } catch (IOException e) {
        throw new IOException("cannot serve the callback endpoint on port " + settings.callbackPort() + ": "
            + e.getMessage() + " (set CALLBACK_PORT, or CALLBACK_PORT=off)", e);
      }
    }
    operator.start();
  }

  /** Port of the HTTP endpoints (useful with HTTP_PORT=0). */
  public int httpPort() {
    return health.port();
  }

  /** Port of the callback endpoint (useful with CALLBACK_PORT=0), or {@link OperatorSettings#CALLBACK_OFF}. */
  public int callbackPort() {
    return callback == null ? OperatorSettings.CALLBACK_OFF : callback.port();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  @Override
  public void close() {
    closing.set(true);
    operator.stop();
    leading.set(false);
    if (callback != null) {
      callback.close();
    }
    if (health != null) {
      health.close();
    }
  }
}
