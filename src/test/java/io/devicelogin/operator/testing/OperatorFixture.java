package io.devicelogin.operator.testing;

import io.devicelogin.operator.OperatorSettings;
import io.devicelogin.operator.idp.IdentityProviderClient;
import io.devicelogin.operator.metrics.OperatorMetrics;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.util.Collection;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * What every operator integration test sets up: log capture, the mock API server and the running operator, and at
 * the end the secret-leak scan over all of them.
 */
public final class OperatorFixture implements AutoCloseable {

  private final LogCapture logs;
  private final MockCluster cluster;
  private final Function<OperatorMetrics, IdentityProviderClient> idp;
  private final Clock clock;
  private final UnaryOperator<OperatorSettings> settings;
  private RunningOperator operator;

  private OperatorFixture(
      Function<OperatorMetrics, IdentityProviderClient> idp, Clock clock, UnaryOperator<OperatorSettings> settings) {
    this.idp = idp;
    this.clock = clock;
    this.settings = settings;
    this.logs = LogCapture.attach();
    this.cluster = MockCluster.start();
    startOperator();
  }

  /** With the real Nimbus IdP client. */
  public static OperatorFixture start() {
    return new OperatorFixture(null, Clock.systemUTC(), UnaryOperator.identity());
  }

  /** With the real Nimbus IdP client and the test settings changed by {@code settings} (e.g. a callback port). */
  public static OperatorFixture withSettings(UnaryOperator<OperatorSettings> settings) {
    return new OperatorFixture(null, Clock.systemUTC(), settings);
  }

  /** With another IdP client, built from the operator's metrics. */
  public static OperatorFixture start(Function<OperatorMetrics, IdentityProviderClient> idp) {
    return new OperatorFixture(idp, Clock.systemUTC(), UnaryOperator.identity());
  }

  /** With another IdP client, and the operator reading time from {@code clock} (the IdP client has its own). */
  public static OperatorFixture start(Function<OperatorMetrics, IdentityProviderClient> idp, Clock clock) {
    return new OperatorFixture(idp, clock, UnaryOperator.identity());
  }

  public KubernetesClient client() {
    return cluster.client();
  }

  public MockCluster cluster() {
    return cluster;
  }

  public RunningOperator operator() {
    return operator;
  }

  public LogCapture logs() {
    return logs;
  }

  /** Stops the operator (all its in-memory state is gone) and starts a new one against the same cluster. */
  public void restartOperator() {
    stopOperator();
    startOperator();
  }

  public void stopOperator() {
    operator.close();
  }

  public void startOperator() {
    operator = idp == null ? RunningOperator.withSettings(cluster, settings)
        : RunningOperator.start(cluster, idp, settings, clock);
  }

  /**
   * Fails if a value held in the operator's Secrets, or any of {@code moreSecrets}, shows in status, Events, logs or
   * metrics.
   */
  public void assertNoLeaks(Collection<String> moreSecrets) {
    new LeakScanner().secretsFromCluster(client()).secrets(moreSecrets)
        .assertNoLeaks(client(), logs, operator.scrapeMetrics());
  }

  @Override
  public void close() {
    try {
      operator.close();
    } finally {
      try {
        cluster.close();
      } finally {
        logs.close();
      }
    }
  }
}
