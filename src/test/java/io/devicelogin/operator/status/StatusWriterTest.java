package io.devicelogin.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginStatus;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.testing.MockCluster;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class StatusWriterTest {

  @Test
  void replacesTheWholeStatusInOneRequestWithoutReadingFirst() {
    List<String> requests = new CopyOnWriteArrayList<>();
    try (MockCluster cluster = MockCluster.start(r -> requests.add(r.getMethod() + " " + r.getPath()));
        KubernetesClient client = cluster.newClient()) {
      DeviceLogin login = client.resource(Resources.deviceLogin("team-a", "alice", "corp")).create();
      StatusWriter writer = new StatusWriter(client);
      DeviceLoginStatus first = new DeviceLoginStatus();
      first.setPhase(Phase.AwaitingUser);
      first.setUserCode("WDJB-MJHT");
      writer.write(login, first);
      DeviceLoginStatus second = new DeviceLoginStatus();
      second.setPhase(Phase.Ready);
      second.setSecretName("oidc-alice");

      requests.clear();
      writer.write(login, second);

      assertThat(requests).containsExactly(
          "PATCH /apis/devicelogin.io/v1alpha1/namespaces/team-a/devicelogins/alice/status");
      DeviceLoginStatus stored =
          client.resources(DeviceLogin.class).inNamespace("team-a").withName("alice").get().getStatus();
      assertThat(stored.getPhase()).isEqualTo(Phase.Ready);
      assertThat(stored.getSecretName()).isEqualTo("oidc-alice");
      assertThat(stored.getUserCode()).as("a field the new status leaves out is gone").isNull();
    }
  }
}
