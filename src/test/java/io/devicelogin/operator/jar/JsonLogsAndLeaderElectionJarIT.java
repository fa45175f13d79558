package io.devicelogin.operator.jar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.devicelogin.operator.testing.MockCluster;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The jar as the chart runs it: LOG_FORMAT=json and LEADER_ELECTION=true; then SIGTERM. */
class JsonLogsAndLeaderElectionJarIT {

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @Test
  void logsAreJsonLinesTheInstanceTakesTheLeaseAndStopsCleanly() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    try (MockCluster cluster = MockCluster.start().allowLeases();
        OperatorProcess operator = OperatorProcess.start(cluster.url(), Map.of(
            "HTTP_PORT", String.valueOf(port), "LOG_FORMAT", "json", "LEADER_ELECTION", "true",
            "OPERATOR_NAMESPACE", "devicelogin-system", "HOSTNAME", "devicelogin-operator-abc12"))) {
      await().atMost(Duration.ofSeconds(60)).until(() -> status(port, "/readyz") == 200);
      await().atMost(Duration.ofSeconds(30)).until(() -> body(port, "/metrics").contains("devicelogin_leader 1.0"));
      assertThat(cluster.client().leases().inNamespace("devicelogin-system").withName("devicelogin-operator").get()
          .getSpec().getHolderIdentity()).isEqualTo("devicelogin-operator-abc12");

      assertThat(operator.terminate(Duration.ofSeconds(20))).as("exit code after SIGTERM").isIn(0, 143);
      List<String> lines = operator.output().lines().filter(l -> !l.isBlank()).toList();
      assertThat(lines).isNotEmpty();
      ObjectMapper json = new ObjectMapper();
      List<String> messages = new java.util.ArrayList<>();
      for (String line : lines) {
        JsonNode event = json.readTree(line);
        assertThat(event.has("level") && event.has("loggerName") && event.has("formattedMessage"))
            .as("a JSON log event: %s", line).isTrue();
        messages.add(event.get("formattedMessage").asText());
      }
      assertThat(messages).anySatisfy(m -> assertThat(m).contains("devicelogin-operator started against")
          .contains("leader election: on, Lease devicelogin-system/devicelogin-operator"));
      assertThat(messages).anySatisfy(m -> assertThat(m).contains("Leading: this instance now reconciles"));
    }
  }

  private int status(int port, String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  private String body(int port, String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    } catch (Exception e) {
      return "";
    }
  }
}
