package io.devicelogin.operator.testing;

import io.devicelogin.operator.DeviceLoginOperator;
import io.devicelogin.operator.KubernetesClients;
import io.devicelogin.operator.OperatorSettings;
import io.devicelogin.operator.idp.IdentityProviderClient;
import io.devicelogin.operator.idp.CallLimiter;
import io.devicelogin.operator.idp.EgressGuard;
import io.devicelogin.operator.idp.NimbusIdentityProviderClient;
import io.devicelogin.operator.metrics.OperatorMetrics;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * The real operator in-process against a {@link MockCluster}, with its own client built as {@code Main} builds it;
 * stopped by close().
 */
public final class RunningOperator implements AutoCloseable {

  private final KubernetesClient client;
  private final DeviceLoginOperator operator;
  private final OperatorMetrics metrics;

  private RunningOperator(KubernetesClient client, DeviceLoginOperator operator, OperatorMetrics metrics) {
    this.client = client;
    this.operator = operator;
    this.metrics = metrics;
  }

  /** With the Nimbus IdP client (real HTTP to the IdP) and the default fair share per owner of providers. */
  public static RunningOperator start(MockCluster cluster) {
    return withSettings(cluster, UnaryOperator.identity());
  }

  /** With the Nimbus IdP client and the test settings changed by {@code customize} (e.g. a callback port). */
  public static RunningOperator withSettings(MockCluster cluster, UnaryOperator<OperatorSettings> customize) {
    return start(cluster, metrics -> new NimbusIdentityProviderClient(
        Duration.ofSeconds(2), Duration.ofSeconds(3), metrics, Clock.systemUTC(), EgressGuard.none(),
        new CallLimiter(CallLimiter.defaultLimit(OperatorSettings.DEFAULT_RECONCILE_THREADS))), customize);
  }

  /** With an IdP client built from the operator's metrics. */
  public static RunningOperator start(MockCluster cluster, Function<OperatorMetrics, IdentityProviderClient> idp) {
    return start(cluster, idp, UnaryOperator.identity());
  }

  /** With an IdP client built from the operator's metrics and the test settings changed by {@code settings}. */
  public static RunningOperator start(
      MockCluster cluster, Function<OperatorMetrics, IdentityProviderClient> idp,
      UnaryOperator<OperatorSettings> customize) {
    return start(cluster, idp, customize, Clock.systemUTC());
  }

  /** As {@link #start(MockCluster, Function, UnaryOperator)}, with the operator reading time from {@code clock}. */
  public static RunningOperator start(
      MockCluster cluster, Function<OperatorMetrics, IdentityProviderClient> idp,
      UnaryOperator<OperatorSettings> customize, Clock clock) {
    KubernetesClient client = cluster.server().createClient(KubernetesClients::bounded);
    OperatorMetrics metrics = new OperatorMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    // IdPs in tests (and the demo) run on 127.0.0.1, which IDP_DENIED_CIDRS denies by default
    OperatorSettings settings = customize.apply(new OperatorSettings(
        Set.of(), "devicelogin-system", 0, Duration.ofSeconds(2), Duration.ofSeconds(3))
        .withIdpEgress(EgressGuard.none()));
    DeviceLoginOperator operator =
        DeviceLoginOperator.create(client, settings, idp.apply(metrics), metrics, clock);
    try {
      operator.start();
    } catch (Exception e) {
      client.close();
      throw new IllegalStateException("operator did not start: " + e.getMessage(), e);
    }
    return new RunningOperator(client, operator, metrics);
  }

  public String scrapeMetrics() {
    return operator.registry().scrape();
  }

  public int httpPort() {
    return operator.httpPort();
  }

  /** The callback endpoint's port, when the settings turned it on (CALLBACK_PORT). */
  public int callbackPort() {
    return operator.callbackPort();
  }

  /** The operator itself (leadership, registry). */
  public DeviceLoginOperator operator() {
    return operator;
  }

  public OperatorMetrics metrics() {
    return metrics;
  }

  @Override
  public void close() {
    operator.close();
    client.close();
  }
}
