package io.devicelogin.operator;

import io.devicelogin.operator.http.HealthServer;
import io.devicelogin.operator.idp.IdentityProviderClient;
import io.devicelogin.operator.idp.NimbusIdentityProviderClient;
import io.devicelogin.operator.metrics.OperatorMetrics;
import io.devicelogin.operator.reconciler.ClusterIdentityProviderReconciler;
import io.devicelogin.operator.reconciler.DeviceLoginReconciler;
import io.devicelogin.operator.reconciler.EventRecorder;
import io.devicelogin.operator.reconciler.IdentityProviderReconciler;
import io.devicelogin.operator.reconciler.ProviderResolver;
import io.devicelogin.operator.status.StatusWriter;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.ControllerConfigurationOverrider;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.util.function.Consumer;

/** The operator: three controllers, the IdP client, metrics and the health endpoints, wired together. */
public final class DeviceLoginOperator implements AutoCloseable {

  private final Operator operator;
  private final OperatorSettings settings;
  private final PrometheusMeterRegistry registry;
  private final KubernetesClient client;
  private HealthServer health;

  private DeviceLoginOperator(
      KubernetesClient client, OperatorSettings settings, IdentityProviderClient idp, OperatorMetrics metrics,
      PrometheusMeterRegistry registry, Clock clock) {
    this.client = client;
    this.settings = settings;
    this.registry = registry;
    this.operator = new Operator(o -> o.withKubernetesClient(client)
        .withCloseClientOnStop(false)
        .withUseSSAToPatchPrimaryResource(false)
        .withMetrics(MicrometerMetrics.withoutPerResourceMetrics(registry)));
    ProviderResolver resolver = new ProviderResolver(client, idp, settings.operatorNamespace());
    EventRecorder events = new EventRecorder(client, clock);
    StatusWriter statusWriter = new StatusWriter(client);
    operator.register(new IdentityProviderReconciler(resolver, statusWriter, clock), namespaced());
    operator.register(
        new ClusterIdentityProviderReconciler(resolver, statusWriter, clock), o -> o.watchingAllNamespaces());
    operator.register(new DeviceLoginReconciler(client, resolver, idp, events, metrics, clock), namespaced());
  }

  /** The operator with the Nimbus IdP client, as {@code java -jar} runs it. */
  public static DeviceLoginOperator create(KubernetesClient client, OperatorSettings settings) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    OperatorMetrics metrics = new OperatorMetrics(registry);
    IdentityProviderClient idp = new NimbusIdentityProviderClient(
        settings.idpConnectTimeout(), settings.idpReadTimeout(), metrics, Clock.systemUTC());
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
   */
  public void start() throws StartupCheck.StartupException, IOException {
    StartupCheck.verify(client, settings.watchNamespaces());
    health = HealthServer.start(
        settings.httpPort(), registry, () -> true,
        () -> operator.getRuntimeInfo().isStarted() && operator.getRuntimeInfo().allEventSourcesAreHealthy());
    operator.start();
  }

  /** Port of the HTTP endpoints (useful with HTTP_PORT=0). */
  public int httpPort() {
    return health.port();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  @Override
  public void close() {
    operator.stop();
    if (health != null) {
      health.close();
    }
  }
}
