package io.devicelogin.operator.reconciler;

import static io.devicelogin.operator.testing.Logins.awaitLogin;
import static io.devicelogin.operator.testing.Logins.phase;
import static io.devicelogin.operator.testing.Logins.ready;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.common.contenttype.ContentType;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProvider;
import io.devicelogin.operator.api.v1alpha1.Condition;
import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderRef;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.idp.EgressGuard;
import io.devicelogin.operator.idp.NimbusIdentityProviderClient;
import io.devicelogin.operator.status.Conditions;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import net.minidev.json.JSONObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The IdP trust boundary through the whole operator, with the default IDP_DENIED_CIDRS: a tenant's
 * IdentityProvider aimed at the node's loopback sends nothing and is Ready=False with reason EndpointNotAllowed, a
 * ClusterIdentityProvider on loopback still works, and an IdP's hostile error text reaches status, Events and logs
 * only made safe.
 */
class IdpTrustBoundaryIT {

  private static OperatorFixture fixture;
  private static KubernetesClient client;
  private static FakeIdp idp;

  @BeforeAll
  static void start() {
    idp = FakeIdp.start().interval(1);
    fixture = OperatorFixture.start(metrics -> new NimbusIdentityProviderClient(
        Duration.ofSeconds(2), Duration.ofSeconds(3), metrics, Clock.systemUTC(), EgressGuard.defaults()));
    client = fixture.client();
  }

  @AfterAll
  static void stop() {
    try {
      fixture.close();
    } finally {
      idp.close();
    }
  }

  @AfterEach
  void noLeaks() {
    List<String> secrets = Logins.secretsOf(idp);
    if (!secrets.isEmpty()) {
      fixture.assertNoLeaks(secrets);
    }
    idp.intercept((request, proceed) -> proceed.get());
  }

  @Test
  void aTenantsProviderAimedAtLoopbackSendsNothingAndIsNotReadyWithEndpointNotAllowed() {
    int before = idp.requests().size();
    client.resource(Resources.identityProvider("tenant", "corp", idp.issuer(), "cli")).create();

    IdentityProvider notReady = await().atMost(Duration.ofSeconds(20)).until(
        () -> client.resources(IdentityProvider.class).inNamespace("tenant").withName("corp").get(),
        p -> p.getStatus() != null && readyCondition(p.getStatus().getConditions()) != null);
    Condition condition = readyCondition(notReady.getStatus().getConditions());
    assertThat(condition.getStatus()).isEqualTo("False");
    assertThat(condition.getReason()).isEqualTo(ProviderResolver.ENDPOINT_NOT_ALLOWED);
    assertThat(condition.getMessage()).contains("discovery endpoint").contains("IDP_DENIED_CIDRS");

    client.resource(Resources.deviceLogin("tenant", "alice", "corp", "alice@example.com")).create();
    DeviceLogin pending = awaitLogin(client, "tenant", "alice", phase(Phase.Pending));
    assertThat(ready(pending).getReason()).isEqualTo("ProviderNotReady");
    assertThat(ready(pending).getMessage()).contains("IDP_DENIED_CIDRS");
    assertThat(idp.requests()).as("requests that reached the IdP").hasSize(before);
  }

  @Test
  void aClusterIdentityProviderOnLoopbackIsTheAdminsAndWorks() {
    client.resource(clusterProvider("loopback", idp.issuer(), "cli")).create();
    DeviceLogin login = Resources.deviceLogin("apps", "bob", "loopback", "bob@example.com");
    login.getSpec().setIdentityProviderRef(
        new IdentityProviderRef("loopback", IdentityProviderRef.Kind.ClusterIdentityProvider));
    client.resource(login).create();

    String userCode = awaitLogin(client, "apps", "bob", phase(Phase.AwaitingUser)).getStatus().getUserCode();
    idp.login(userCode).approve(Claims.user("bob"));

    assertThat(ready(awaitLogin(client, "apps", "bob", phase(Phase.Ready))).getReason()).isEqualTo("Issued");
  }

  @Test
  void anIdpsHostileErrorTextReachesStatusEventsAndLogsOnlyMadeSafe() {
    String description =
        "bad code\n2026-11-30 INFO forged log line\r\n\u001b[31mred\u001b[0m\u202e " + "x".repeat(10_000);
    // client "refuse-start": the device authorization is refused; client "refuse-token": the device code is
    idp.intercept((request, proceed) -> {
      boolean refuseStart =
          request.path().endsWith("/auth/device") && "refuse-start".equals(request.param("client_id"));
      boolean refuseToken = request.path().endsWith("/token") && request.param("device_code") != null
          && "refuse-token".equals(request.param("client_id"));
      if (!refuseStart && !refuseToken) {
        return proceed.get();
      }
      HTTPResponse response = new HTTPResponse(400);
      response.setEntityContentType(ContentType.APPLICATION_JSON);
      response.setBody(new JSONObject(Map.of(
          "error", refuseStart ? "invalid_client" : "invalid_grant", "error_description", description)).toJSONString());
      return response;
    });
    for (String clientId : List.of("refuse-start", "refuse-token")) {
      client.resource(clusterProvider(clientId, idp.issuer(), clientId)).create();
      DeviceLogin login = Resources.deviceLogin("victims", clientId, clientId, "victim@example.com");
      login.getSpec().setIdentityProviderRef(
          new IdentityProviderRef(clientId, IdentityProviderRef.Kind.ClusterIdentityProvider));
      client.resource(login).create();
    }

    DeviceLogin notStarted = awaitLogin(client, "victims", "refuse-start",
        dl -> ready(dl) != null && ready(dl).getMessage().contains("forged"));
    DeviceLogin failed = awaitLogin(client, "victims", "refuse-token", phase(Phase.Failed));

    List<String> shown = new ArrayList<>();
    shown.add(ready(notStarted).getMessage());
    shown.add(ready(failed).getMessage());
    List<Event> events = await().atMost(Duration.ofSeconds(10))
        .until(() -> Logins.events(client, "victims", "refuse-token"), list -> !list.isEmpty());
    events.forEach(event -> shown.add(event.getMessage()));
    List<String> logged = fixture.logs().lines().stream().filter(line -> line.contains("forged log line")).toList();
    assertThat(logged).as("the refusal was logged").isNotEmpty();
    shown.addAll(logged);
    assertThat(ready(failed).getMessage()).contains("forged log line");
    for (String text : shown) {
      assertThat(text).doesNotContain("\n").doesNotContain("\r").doesNotContain("\u001b").doesNotContain("\u202e")
          .hasSizeLessThan(1500);
    }
  }

  private static Condition readyCondition(List<Condition> conditions) {
    return Conditions.find(conditions, Constants.READY);
  }

  private static ClusterIdentityProvider clusterProvider(String name, String issuer, String clientId) {
    return Resources.clusterIdentityProvider(name, issuer, clientId);
  }
}
