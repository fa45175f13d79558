package io.devicelogin.operator.callback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.devicelogin.operator.DeviceLoginOperator;
import io.devicelogin.operator.KubernetesClients;
import io.devicelogin.operator.OperatorSettings;
import io.devicelogin.operator.idp.CallLimiter;
import io.devicelogin.operator.idp.EgressGuard;
import io.devicelogin.operator.idp.NimbusIdentityProviderClient;
import io.devicelogin.operator.idp.RedirectResponse;
import io.devicelogin.operator.metrics.OperatorMetrics;
import io.devicelogin.operator.testing.MockCluster;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The operator starts the callback endpoint on CALLBACK_PORT with the inbox it is given, and says when it can't. */
class CallbackWiringIT {

  private final List<RedirectResponse> delivered = new CopyOnWriteArrayList<>();
  private MockCluster cluster;
  private KubernetesClient client;

  @BeforeEach
  void start() {
    cluster = MockCluster.start();
    client = cluster.server().createClient(KubernetesClients::bounded);
  }

  @AfterEach
  void stop() {
    client.close();
    cluster.close();
  }

  private DeviceLoginOperator operator(int callbackPort) {
    OperatorMetrics metrics = new OperatorMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    OperatorSettings settings = new OperatorSettings(
        Set.of(), "devicelogin-system", 0, Duration.ofSeconds(2), Duration.ofSeconds(3)).withCallbackPort(callbackPort);
    return DeviceLoginOperator.create(client, settings, new NimbusIdentityProviderClient(Duration.ofSeconds(2),
            Duration.ofSeconds(3), metrics, Clock.systemUTC(), EgressGuard.none(), new CallLimiter(2)), metrics,
            Clock.systemUTC())
        .withResponseInbox(response -> {
          delivered.add(response);
          return Receipt.ACCEPTED;
        });
  }

  @Test
  void theOperatorServesTheCallbackWithItsInboxAndCountsInItsRegistry() throws Exception {
    DeviceLoginOperator operator = operator(0);
    try {
      operator.start();
      assertThat(operator.callbackPort()).isPositive().isNotEqualTo(operator.httpPort());
      RawHttp.Reply reply = RawHttp.send(operator.callbackPort(),
          "GET /callback?code=c&state=s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      assertThat(reply.status()).isEqualTo(200);
      assertThat(delivered).containsExactly(new RedirectResponse.Code("c", "s", null));
      assertThat(operator.registry().scrape())
          .contains("devicelogin_callback_requests_total{outcome=\"accepted\"} 1.0");
      assertThat(RawHttp.send(operator.httpPort(),
          "GET /callback?code=c&state=s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").status())
          .as("not on the probe port").isEqualTo(404);
    } finally {
      operator.close();
    }
  }

  @Test
  void aTakenCallbackPortStopsTheStartSayingWhichSettingToChange() throws IOException {
    try (ServerSocket taken = new ServerSocket(0)) {
      DeviceLoginOperator operator = operator(taken.getLocalPort());
      try {
        assertThatThrownBy(operator::start).isInstanceOf(IOException.class)
            .hasMessageContaining("callback endpoint on port " + taken.getLocalPort())
            .hasMessageContaining("CALLBACK_PORT");
      } finally {
        operator.close();
      }
    }
  }

  @Test
  void offServesNoCallbackEvenWithAnInbox() throws Exception {
    DeviceLoginOperator operator = operator(OperatorSettings.CALLBACK_OFF);
    try {
      operator.start();
      assertThat(operator.callbackPort()).isEqualTo(OperatorSettings.CALLBACK_OFF);
    } finally {
      operator.close();
    }
  }
}
