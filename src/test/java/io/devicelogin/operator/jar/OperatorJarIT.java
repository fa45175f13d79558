package io.devicelogin.operator.jar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testing.MockCluster;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The shaded jar, run the way the README and the contract say, driven from outside like kubectl would. */
class OperatorJarIT {

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @Test
  void runsAgainstTheKubeconfigClusterAndServesHealthAndMetrics() throws Exception {
    int port = freePort();
    try (MockCluster cluster = MockCluster.start();
        FakeIdp idp = FakeIdp.start().interval(1);
        OperatorProcess operator = OperatorProcess.start(cluster.url(), Map.of("HTTP_PORT", String.valueOf(port)))) {
      await().atMost(Duration.ofSeconds(60)).until(() -> get(port, "/readyz") == 200);
      assertThat(get(port, "/healthz")).isEqualTo(200);

      var client = cluster.client();
      client.resource(Resources.identityProvider("team-a", "corp", idp.issuer(), "cli")).create();
      client.resource(Resources.deviceLogin("team-a", "alice", "corp", "alice@example.com")).create();
      DeviceLogin awaiting = await().atMost(Duration.ofSeconds(30)).until(
          () -> client.resources(DeviceLogin.class).inNamespace("team-a").withName("alice").get(),
          dl -> dl.getStatus() != null && dl.getStatus().getPhase() == Phase.AwaitingUser);
      idp.login(awaiting.getStatus().getUserCode()).approve(Claims.user("alice"));
      await().atMost(Duration.ofSeconds(30)).until(
          () -> client.resources(DeviceLogin.class).inNamespace("team-a").withName("alice").get()
              .getStatus().getPhase() == Phase.Ready);

      // the operator counts a login once its status records it: the count may come a moment after Ready shows
      await().atMost(Duration.ofSeconds(5)).until(
          () -> body(port, "/metrics").contains("devicelogin_logins_total{result=\"Ready\"} 1.0"));
      String metrics = body(port, "/metrics");
      assertThat(metrics)
          .contains("devicelogin_logins_total{result=\"Ready\"} 1.0")
          .contains("devicelogin_idp_requests_total{endpoint=\"token\",outcome=\"success\"} 1.0")
          .contains("devicelogin_idp_requests_total{endpoint=\"device_authorization\",outcome=\"success\"} 1.0")
          .contains("operator_sdk_");
      assertThat(operator.output()).contains("devicelogin-operator started against " + cluster.url());

      assertThat(operator.terminate(Duration.ofSeconds(20))).as("exit code after SIGTERM").isIn(0, 143);
      assertThat(operator.output()).doesNotContain(idp.lastLogin().deviceCode());
    }
  }

  @Test
  void unreachableClusterIsOneClearLineNotAStackTrace() throws Exception {
    try (OperatorProcess operator = OperatorProcess.start("https://127.0.0.1:" + freePort(),
        Map.of("HTTP_PORT", String.valueOf(freePort())))) {
      assertThat(operator.awaitExit(Duration.ofSeconds(90))).isEqualTo(1);
      assertThat(operator.output())
          .contains("devicelogin-operator: Cannot reach the Kubernetes API at https://127.0.0.1:")
          .contains("Check KUBECONFIG")
          .doesNotContain("\tat ");
    }
  }

  @Test
  void missingCrdsAreNamedWithTheCommandThatInstallsThem() throws Exception {
    KubernetesMockServer bare = new KubernetesMockServer(false);
    bare.init();
    try (OperatorProcess operator = OperatorProcess.start(bare.createClient().getMasterUrl().toString(),
        Map.of("HTTP_PORT", String.valueOf(freePort())))) {
      assertThat(operator.awaitExit(Duration.ofSeconds(90))).isEqualTo(1);
      assertThat(operator.output())
          .contains("The CustomResourceDefinition devicelogins.devicelogin.io is not installed")
          .contains("kubectl apply -f crds/")
          .doesNotContain("\tat ");
    } finally {
      bare.destroy();
    }
  }

  @Test
  void badHttpPortIsRefused() throws Exception {
    try (OperatorProcess operator = OperatorProcess.start("https://127.0.0.1:1", Map.of("HTTP_PORT", "web"))) {
      assertThat(operator.awaitExit(Duration.ofSeconds(30))).isEqualTo(2);
      assertThat(operator.output()).contains("HTTP_PORT must be a port number, got 'web'");
    }
  }

  @Test
  void anInvalidIdpDeniedCidrsStopsTheStartWithOneLine() throws Exception {
    try (OperatorProcess operator = OperatorProcess.start("https://127.0.0.1:1",
        Map.of("HTTP_PORT", "0", "IDP_DENIED_CIDRS", "169.254.169.254"))) {
      assertThat(operator.awaitExit(Duration.ofSeconds(30))).isEqualTo(2);
      assertThat(operator.output().strip()).isEqualTo("devicelogin-operator: IDP_DENIED_CIDRS: '169.254.169.254' is not "
          + "a CIDR (an IPv4 or IPv6 address, '/' and a prefix length, e.g. 169.254.0.0/16 or fe80::/10)");
    }
  }

  private int get(int port, String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private String body(int port, String path) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
