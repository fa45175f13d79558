package io.devicelogin.operator.upgrade;

import static io.devicelogin.operator.testing.Logins.phase;
import static io.devicelogin.operator.testing.Logins.ready;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProvider;
import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderRef;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.idp.IssuedTokens;
import io.devicelogin.operator.idp.TokenPollResult;
import io.devicelogin.operator.status.Conditions;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.devicelogin.operator.testing.ScriptedIdp;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The operator and its CRDs of different releases (issue #15), built in the test instead of with an old jar: objects
 * carrying fields of a newer release (spec, status, nested), objects this version can't read at all (an enum value it
 * does not know: a newer release's objects after a rollback), and installed CRDs older than the operator. One object
 * never stops the operator; what it can't use is reported; no login is lost.
 */
class VersionSkewIT {

  private static final String NS = "team-a";
  private static final String ISSUER = "http://127.0.0.1:1/realms/x";

  private KubernetesClient client;
  private ScriptedIdp idp;
  private OperatorFixture fixture;
  private final List<String> issuedSecrets = new ArrayList<>();

  @BeforeEach
  void start() {
    idp = new ScriptedIdp(Clock.systemUTC(), Duration.ofSeconds(1));
    fixture = OperatorFixture.start(metrics -> idp);
    client = fixture.client();
  }

  @AfterEach
  void stop() {
    try {
      fixture.assertNoLeaks(issuedSecrets);
    } finally {
      fixture.close();
    }
  }

  @Test
  void objectsOfANewerReleaseNeverStopTheOperatorAndUnreadableOnesAreReportedAndLeftAlone() throws Exception {
    // A provider with fields of a newer release, at the top of spec and nested.
    create("identityproviders", """
        {"apiVersion": "devicelogin.io/v1alpha1", "kind": "IdentityProvider",
         "metadata": {"name": "newer", "namespace": "team-a"},
         "spec": {"issuerUrl": "%s", "clientId": "cli", "allowInsecureHttp": true,
                  "futureParameters": {"audience": "api"}, "futureList": [{"a": 1}]}}
        """.formatted(ISSUER));
    // A provider whose spec this version can't read (a changed type).
    create("identityproviders", """
        {"apiVersion": "devicelogin.io/v1alpha1", "kind": "IdentityProvider",
         "metadata": {"name": "changed", "namespace": "team-a"},
         "spec": {"issuerUrl": "%s", "clientId": "cli", "allowInsecureHttp": "sometimes"}}
        """.formatted(ISSUER));
    create("devicelogins", login("future", "\"futureGrant\": {\"mode\": \"x\"}, "
        + "\"identityProviderRef\": {\"name\": \"newer\", \"futureRefField\": 1}"));
    create("devicelogins", login("archive", ref("newer") + ", \"deletionPolicy\": \"Archive\""));
    create("devicelogins", login("via-changed", ref("changed")));

    DeviceLogin future = awaitLogin("future", phase(Phase.AwaitingUser));
    idp.script(1, issued("future@example.com"));
    awaitLogin("future", phase(Phase.Ready));

    DeviceLogin viaChanged = awaitLogin("via-changed", phase(Phase.Pending));
    assertThat(ready(viaChanged).getReason()).isEqualTo("ProviderNotReady");
    assertThat(ready(viaChanged).getMessage())
        .contains("can't read the provider: spec.allowInsecureHttp has a value this operator version does not know")
        .doesNotContain("sometimes");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
        Conditions.find(client.resources(IdentityProvider.class).inNamespace(NS).withName("changed").get()
            .getStatus().getConditions(), Constants.READY).getReason()).isEqualTo("Unreadable"));

    // The login this version can't read: an Event and the metric, no grant, no status, nothing else touched.
    await().atMost(Duration.ofSeconds(10)).until(() -> Logins.events(client, NS, "archive").stream()
        .anyMatch(e -> "Unreadable".equals(e.getReason())));
    assertThat(Logins.events(client, NS, "archive")).filteredOn(e -> "Unreadable".equals(e.getReason()))
        .singleElement().satisfies(e -> assertThat(e.getMessage())
            .contains("spec.deletionPolicy has a value this operator version does not know")
            .doesNotContain("Archive\""));
    assertThat(raw("devicelogins", "archive").getAdditionalProperties().get("status")).as("no status written").isNull();
    assertThat(idp.grantsStarted()).as("only the readable login started a grant").isEqualTo(1);
    assertThat(fixture.operator().scrapeMetrics())
        .contains("devicelogin_unreadable_resources{kind=\"DeviceLogin\"} 1.0")
        .contains("devicelogin_unreadable_resources{kind=\"IdentityProvider\"} 1.0");

    // A newer operator's status (after a rollback): unknown fields are fine, an unknown phase is left alone.
    updateStatus("future", status -> {
      status.put("futureInFlight", java.util.Map.of("failedAttempts", 3));
      ((java.util.Map<String, Object>) ((List<?>) status.get("conditions")).get(0)).put("futureField", true);
    });
    create("devicelogins", login("rolled-back", ref("newer")));
    awaitLogin("rolled-back", phase(Phase.AwaitingUser));
    updateStatus("rolled-back", status -> status.put("phase", "Verifying"));
    annotateRestart("rolled-back");
    await().atMost(Duration.ofSeconds(10)).until(() -> Logins.events(client, NS, "rolled-back").stream()
        .anyMatch(e -> "Unreadable".equals(e.getReason())
            && e.getMessage().contains("status.phase has a value this operator version does not know")));
    assertThat(idp.grantsStarted()).as("the unreadable status started nothing").isEqualTo(2);

    // The operator still reconciles everything else: a restart of the newer-status login, a brand-new login.
    annotateRestart("future");
    await().atMost(Duration.ofSeconds(10)).until(() -> idp.grantsStarted() == 3);
    awaitLogin("future", phase(Phase.AwaitingUser));
    client.resource(user(Resources.deviceLogin(NS, "late", "newer"), "late@example.com")).create();
    awaitLogin("late", phase(Phase.AwaitingUser));
    assertThat(readyz()).isEqualTo(200);

    // Fixed objects are taken up; unreadable ones can still be deleted.
    patchSpec("archive", "{\"spec\": {\"deletionPolicy\": \"Retain\"}}");
    awaitLogin("archive", phase(Phase.AwaitingUser));
    assertThat(fixture.operator().scrapeMetrics()).contains("devicelogin_unreadable_resources{kind=\"DeviceLogin\"} 1.0");
    client.resources(DeviceLogin.class).inNamespace(NS).withName("rolled-back").delete();
    await().atMost(Duration.ofSeconds(10)).until(() -> raw("devicelogins", "rolled-back") == null);
    assertThat(fixture.operator().scrapeMetrics()).contains("devicelogin_unreadable_resources{kind=\"DeviceLogin\"} 0.0");
    assertThat(fixture.logs().text()).doesNotContain("Stopping the operator", "will stop");
  }

  @Test
  void anOutdatedCrdIsReportedAndItsObjectsWaitUntilItIsUpgradedWithoutLosingALogin() {
    client.resource(Resources.identityProvider(NS, "corp", ISSUER, "cli")).create();
    client.resource(Resources.clusterIdentityProvider("cluster-corp", ISSUER, "cluster-cli")).create();

    CustomResourceDefinition original = crd("identityproviders.devicelogin.io");
    CustomResourceDefinition old = Serialization.clone(original);
    specSchema(old).getProperties().remove("allowedGroups");
    client.resource(old).update();
    fixture.restartOperator();

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      var condition = Conditions.find(client.resources(IdentityProvider.class).inNamespace(NS).withName("corp").get()
          .getStatus().getConditions(), Constants.READY);
      assertThat(condition.getReason()).isEqualTo("CRDOutdated");
      assertThat(condition.getMessage()).contains("identityproviders.devicelogin.io", "[spec.allowedGroups]",
          "helm upgrade");
    });
    assertThat(fixture.logs().text()).contains("The installed CustomResourceDefinition identityproviders.devicelogin.io "
        + "is older than this operator: it lacks [spec.allowedGroups]");
    assertThat(fixture.operator().scrapeMetrics())
        .contains("devicelogin_crd_outdated{crd=\"identityproviders.devicelogin.io\"} 1.0")
        .contains("devicelogin_crd_outdated{crd=\"clusteridentityproviders.devicelogin.io\"} 0.0");

    client.resource(user(Resources.deviceLogin(NS, "alice", "corp"), "alice@example.com")).create();
    DeviceLogin waiting = awaitLogin("alice", phase(Phase.Pending));
    assertThat(ready(waiting).getMessage()).contains("CRDOutdated");
    DeviceLogin viaCluster = user(Resources.deviceLogin(NS, "bob", "cluster-corp"), "bob@example.com");
    viaCluster.getSpec().setIdentityProviderRef(
        new IdentityProviderRef("cluster-corp", IdentityProviderRef.Kind.ClusterIdentityProvider));
    client.resource(viaCluster).create();
    awaitLogin("bob", phase(Phase.AwaitingUser));
    assertThat(idp.grantsStarted()).as("nothing started on the outdated kind").isEqualTo(1);

    // Upgraded: the waiting login starts, nothing was lost.
    original.getMetadata().setResourceVersion(null);
    client.resource(original).update();
    fixture.restartOperator();
    awaitLogin("alice", phase(Phase.AwaitingUser));
    idp.script(2, issued("alice@example.com"));
    awaitLogin("alice", phase(Phase.Ready));

    // The DeviceLogin CRD outdated: no new login starts on a spec the API server may have pruned; logins already
    // under way go on.
    CustomResourceDefinition loginsCrd = crd("devicelogins.devicelogin.io");
    CustomResourceDefinition oldLogins = Serialization.clone(loginsCrd);
    specSchema(oldLogins).getProperties().remove("renewBefore");
    client.resource(oldLogins).update();
    fixture.restartOperator();
    client.resource(user(Resources.deviceLogin(NS, "carol", "corp"), "carol@example.com")).create();
    DeviceLogin held = awaitLogin("carol", phase(Phase.Pending));
    assertThat(ready(held).getReason()).isEqualTo("CRDOutdated");
    assertThat(ready(held).getMessage()).contains("devicelogins.devicelogin.io", "[spec.renewBefore]");
    idp.script(1, issued("bob@example.com"));
    awaitLogin("bob", phase(Phase.Ready));
    assertThat(idp.grantsStarted()).isEqualTo(2);

    loginsCrd.getMetadata().setResourceVersion(null);
    client.resource(loginsCrd).update();
    fixture.restartOperator();
    awaitLogin("carol", phase(Phase.AwaitingUser));
    assertThat(idp.grantsStarted()).isEqualTo(3);
    assertThat(fixture.operator().scrapeMetrics())
        .contains("devicelogin_crd_outdated{crd=\"devicelogins.devicelogin.io\"} 0.0");
    assertThat(Logins.get(client, NS, "alice").getStatus().getPhase()).isEqualTo(Phase.Ready);
  }

  // ---- helpers

  /** A DeviceLogin of {@code name}@example.com as JSON, with {@code specFields} (identityProviderRef among them). */
  private static String login(String name, String specFields) {
    return """
        {"apiVersion": "devicelogin.io/v1alpha1", "kind": "DeviceLogin",
         "metadata": {"name": "%s", "namespace": "team-a"},
         "spec": {"user": "%s@example.com", %s}}
        """.formatted(name, name, specFields);
  }

  private static String ref(String provider) {
    return "\"identityProviderRef\": {\"name\": \"" + provider + "\"}";
  }

  private static DeviceLogin user(DeviceLogin login, String user) {
    login.getSpec().setUser(user);
    return login;
  }

  private static ResourceDefinitionContext context(String plural) {
    return new ResourceDefinitionContext.Builder().withGroup(Constants.GROUP).withVersion(Constants.VERSION)
        .withPlural(plural).withKind(plural.equals("devicelogins") ? "DeviceLogin" : "IdentityProvider")
        .withNamespaced(true).build();
  }

  /** Creates an object as kubectl would, with every field it has (no model class in between). */
  private void create(String plural, String json) {
    client.genericKubernetesResources(context(plural)).inNamespace(NS)
        .resource(Serialization.unmarshal(json, GenericKubernetesResource.class)).create();
  }

  private GenericKubernetesResource raw(String plural, String name) {
    return client.genericKubernetesResources(context(plural)).inNamespace(NS).withName(name).get();
  }

  @SuppressWarnings("unchecked")
  private void updateStatus(String name, Consumer<java.util.Map<String, Object>> change) {
    GenericKubernetesResource login = raw("devicelogins", name);
    change.accept((java.util.Map<String, Object>) login.getAdditionalProperties().get("status"));
    client.genericKubernetesResources(context("devicelogins")).inNamespace(NS).resource(login).updateStatus();
  }

  private void patchSpec(String name, String mergePatch) {
    client.genericKubernetesResources(context("devicelogins")).inNamespace(NS).withName(name)
        .patch(PatchContext.of(PatchType.JSON_MERGE), mergePatch);
  }

  private void annotateRestart(String name) {
    client.genericKubernetesResources(context("devicelogins")).inNamespace(NS).withName(name)
        .edit(r -> {
          r.getMetadata().setAnnotations(java.util.Map.of(Constants.RESTART_ANNOTATION, String.valueOf(System.nanoTime())));
          return r;
        });
  }

  private CustomResourceDefinition crd(String name) {
    return client.apiextensions().v1().customResourceDefinitions().withName(name).get();
  }

  private static JSONSchemaProps specSchema(CustomResourceDefinition crd) {
    return crd.getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema().getProperties().get("spec");
  }

  private int readyz() throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + fixture.operator().httpPort() + "/readyz")).build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  private TokenPollResult issued(String email) {
    IssuedTokens tokens = ScriptedIdp.tokens(email, "developers", Duration.ofMinutes(5));
    issuedSecrets.addAll(List.of(tokens.idToken(), tokens.accessToken(), tokens.refreshToken()));
    return new TokenPollResult.Issued(tokens);
  }

  private DeviceLogin awaitLogin(String name, Predicate<DeviceLogin> condition) {
    return Logins.awaitLogin(client, NS, name, condition);
  }
}
