package io.devicelogin.operator.reconciler;

import static io.devicelogin.operator.testing.Logins.awaitLogin;
import static io.devicelogin.operator.testing.Logins.phase;
import static io.devicelogin.operator.testing.Logins.ready;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.id.ClientID;
import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProvider;
import io.devicelogin.operator.api.v1alpha1.Condition;
import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderRef;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderStatus;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.SecretKeyReference;
import io.devicelogin.operator.status.Conditions;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.DiscoveryMode;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testidp.Login;
import io.devicelogin.operator.testidp.RecordedRequest;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.devicelogin.operator.testing.RunningOperator;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * IdentityProvider and ClusterIdentityProvider against the mock API server and {@link FakeIdp} over real HTTP: the
 * Ready condition and endpoints in status, every way discovery can go wrong, and a ClusterIdentityProvider whose client
 * secret lives in the operator's namespace carrying a DeviceLogin to Ready.
 */
class IdentityProviderIT {

  /** The namespace {@link RunningOperator} gives the operator. */
  private static final String OPERATOR_NAMESPACE = "devicelogin-system";

  private static final String CLUSTER_CLIENT = "cluster-cli";
  private static final String CLUSTER_SECRET = "cluster-secret-" + UUID.randomUUID();

  private static OperatorFixture fixture;
  private static KubernetesClient client;
  private static FakeIdp idp;
  private static final List<FakeIdp> brokenIdps = new ArrayList<>();

  @BeforeAll
  static void start() {
    idp = FakeIdp.start().interval(1).requireClientSecret(CLUSTER_CLIENT, CLUSTER_SECRET);
    fixture = OperatorFixture.start();
    client = fixture.client();
    client.resource(Resources.clientSecret(OPERATOR_NAMESPACE, "cluster-client", "secret", CLUSTER_SECRET)).create();
  }

  @AfterAll
  static void stop() {
    try {
      fixture.close();
    } finally {
      brokenIdps.forEach(FakeIdp::close);
      idp.close();
    }
  }

  @AfterEach
  void noLeaks() {
    List<String> secrets = new ArrayList<>(Logins.secretsOf(idp));
    secrets.add(CLUSTER_SECRET);
    brokenIdps.forEach(broken -> secrets.addAll(Logins.secretsOf(broken)));
    fixture.assertNoLeaks(secrets);
  }

  @Test
  void aWorkingProviderIsReadyWithItsEndpoints() {
    IdentityProvider created = client.resource(Resources.identityProvider("ready", "corp", idp.issuer(), "cli")).create();

    IdentityProvider ready = awaitProvider(() -> get("ready", "corp"), "True");
    Condition condition = readyCondition(ready);
    assertThat(condition.getReason()).isEqualTo("Discovered");
    assertThat(condition.getMessage()).contains("device authorization endpoint");
    assertThat(condition.getLastTransitionTime()).matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z");
    assertThat(condition.getObservedGeneration()).isEqualTo(created.getMetadata().getGeneration());
    IdentityProviderStatus status = ready.getStatus();
    assertThat(status.getDeviceAuthorizationEndpoint()).isEqualTo(idp.deviceAuthorizationEndpoint().toString());
    assertThat(status.getTokenEndpoint()).isEqualTo(idp.tokenEndpoint().toString());
    assertThat(status.getObservedGeneration()).isNotNull().isEqualTo(ready.getMetadata().getGeneration());
    assertThat(idp.requestsTo(idp.discoveryUri())).extracting(RecordedRequest::method).contains("GET");
  }

  @Test
  void discoveryAnsweringHtmlIsReportedAsDiscoveryFailed() {
    Condition condition = notReadyWith(DiscoveryMode.NOT_JSON, "html");
    assertThat(condition.getReason()).isEqualTo("DiscoveryFailed");
    assertThat(condition.getMessage()).contains(".well-known/openid-configuration")
        .contains("not a valid OIDC discovery document");
  }

  @Test
  void discoveryAnsweringServerErrorsIsReportedAsIdpUnavailable() {
    Condition condition = notReadyWith(DiscoveryMode.SERVER_ERROR, "broken");
    assertThat(condition.getReason()).isEqualTo("IdPUnavailable");
    assertThat(condition.getMessage()).contains("HTTP 500");

    // a DeviceLogin of this provider waits, saying why, without starting a grant
    client.resource(Resources.deviceLogin("broken", "alice", "corp", "alice@example.com")).create();
    DeviceLogin pending = awaitLogin(client, "broken", "alice", phase(Phase.Pending));
    assertThat(ready(pending).getReason()).isEqualTo("IdPUnavailable");
    assertThat(ready(pending).getMessage()).contains("HTTP 500");
    assertThat(brokenIdps.get(brokenIdps.size() - 1).logins()).isEmpty();
  }

  @Test
  void anIdpWithoutDeviceEndpointIsNotReadyAndSaysSo() {
    Condition condition = notReadyWith(DiscoveryMode.NO_DEVICE_ENDPOINT, "nodevice");
    assertThat(condition.getReason()).isEqualTo("GrantNotSupported");
    assertThat(condition.getMessage()).contains("device_authorization_endpoint").contains("grant: AuthorizationCode");

    client.resource(Resources.deviceLogin("nodevice", "alice", "corp", "alice@example.com")).create();
    DeviceLogin pending = awaitLogin(client, "nodevice", "alice", phase(Phase.Pending));
    assertThat(ready(pending).getReason()).isEqualTo("ProviderNotReady");
    assertThat(ready(pending).getMessage()).contains("device_authorization_endpoint");
    assertThat(pending.getStatus().getUserCode()).isNull();
  }

  @Test
  void aDiscoveryDocumentForAnotherIssuerIsRefused() {
    FakeIdp broken = brokenIdp(DiscoveryMode.WRONG_ISSUER);
    Condition condition = notReadyWith(broken, "wrongissuer");
    assertThat(condition.getReason()).isEqualTo("DiscoveryFailed");
    assertThat(condition.getMessage()).contains(broken.issuer() + "-other").contains("issuerUrl");
  }

  @Test
  void anHttpIssuerIsRefusedUnlessAllowInsecureHttp() {
    FakeIdp plain = brokenIdp(DiscoveryMode.NORMAL);
    IdentityProvider provider = Resources.identityProvider("insecure", "corp", plain.issuer(), "cli");
    provider.getSpec().setAllowInsecureHttp(null);
    IdentityProvider created = client.resource(provider).create();

    IdentityProvider refused = awaitProvider(() -> get("insecure", "corp"), "False");
    Condition condition = readyCondition(refused);
    assertThat(condition.getReason()).isEqualTo("InsecureIssuer");
    assertThat(condition.getMessage()).contains("http://").contains("allowInsecureHttp");
    assertThat(refused.getStatus().getObservedGeneration()).isEqualTo(created.getMetadata().getGeneration());
    assertThat(refused.getStatus().getDeviceAuthorizationEndpoint()).isNull();
    assertThat(plain.requests()).as("nothing is sent to an http:// issuer that is not allowed").isEmpty();

    // the admin opts in: a new generation, now Ready
    IdentityProvider current = get("insecure", "corp");
    current.getSpec().setAllowInsecureHttp(true);
    client.resource(current).update();
    IdentityProvider allowed = awaitProvider(() -> get("insecure", "corp"), "True");
    assertThat(allowed.getMetadata().getGeneration()).isGreaterThan(created.getMetadata().getGeneration());
    assertThat(allowed.getStatus().getObservedGeneration()).isEqualTo(allowed.getMetadata().getGeneration());
    assertThat(readyCondition(allowed).getReason()).isEqualTo("Discovered");
  }

  @Test
  void aClusterIdentityProviderTakesItsClientSecretFromTheOperatorNamespace() {
    ClusterIdentityProvider provider = clusterProvider("corp-cluster", idp.issuer(), CLUSTER_CLIENT,
        new SecretKeyReference("cluster-client", "secret"));
    client.resource(provider).create();
    ClusterIdentityProvider ready = awaitProvider(
        () -> client.resources(ClusterIdentityProvider.class).withName("corp-cluster").get(), "True");
    assertThat(readyCondition(ready).getReason()).isEqualTo("Discovered");
    assertThat(ready.getStatus().getDeviceAuthorizationEndpoint()).isEqualTo(idp.deviceAuthorizationEndpoint().toString());
    assertThat(ready.getStatus().getTokenEndpoint()).isEqualTo(idp.tokenEndpoint().toString());
    assertThat(ready.getStatus().getObservedGeneration()).isEqualTo(ready.getMetadata().getGeneration());

    DeviceLogin wanted = Resources.deviceLogin("apps", "alice", "corp-cluster", "alice@example.com");
    wanted.getSpec().setIdentityProviderRef(
        new IdentityProviderRef("corp-cluster", IdentityProviderRef.Kind.ClusterIdentityProvider));
    client.resource(wanted).create();
    Login login = idp.login(awaitLogin(client, "apps", "alice", phase(Phase.AwaitingUser)).getStatus().getUserCode());
    assertThat(login.clientId()).isEqualTo(CLUSTER_CLIENT);
    login.approve(Claims.user("alice").groups("developers"));
    DeviceLogin done = awaitLogin(client, "apps", "alice", phase(Phase.Ready));
    assertThat(ready(done).getReason()).isEqualTo("Issued");
    Secret secret = client.secrets().inNamespace("apps").withName("oidc-alice-example-com").get();
    assertThat(secret).as("the token Secret lives with the DeviceLogin").isNotNull();
    assertThat(secret.getType()).isEqualTo("devicelogin.io/oidc-tokens");
    assertThat(decode(secret, "client-id")).isEqualTo(CLUSTER_CLIENT);
    assertThat(decode(secret, "idp-issuer-url")).isEqualTo(idp.issuer());

    String basic = new ClientSecretBasic(new ClientID(CLUSTER_CLIENT), new com.nimbusds.oauth2.sdk.auth.Secret(
        CLUSTER_SECRET)).toHTTPAuthorizationHeader();
    List<RecordedRequest> tokenRequests = idp.requestsTo(idp.tokenEndpoint()).stream()
        .filter(r -> login.deviceCode().equals(r.param("device_code"))).toList();
    assertThat(tokenRequests).isNotEmpty().allSatisfy(r -> assertThat(r.authorization()).isEqualTo(basic));
  }

  @Test
  void aClusterIdentityProviderIgnoresSecretsOutsideTheOperatorNamespace() {
    // the Secret exists, but in the DeviceLogin's namespace, which a ClusterIdentityProvider must not read from
    client.resource(Resources.clientSecret("tenant", "tenant-client", "secret", CLUSTER_SECRET)).create();
    client.resource(clusterProvider("tenant-cluster", idp.issuer(), CLUSTER_CLIENT,
        new SecretKeyReference("tenant-client", "secret"))).create();
    ClusterIdentityProvider notReady = awaitProvider(
        () -> client.resources(ClusterIdentityProvider.class).withName("tenant-cluster").get(), "False");
    assertThat(readyCondition(notReady).getReason()).isEqualTo("ClientSecretNotAllowed");
    assertThat(readyCondition(notReady).getMessage()).contains(OPERATOR_NAMESPACE + "/tenant-client");

    DeviceLogin wanted = Resources.deviceLogin("tenant", "alice", "tenant-cluster", "alice@example.com");
    wanted.getSpec().setIdentityProviderRef(
        new IdentityProviderRef("tenant-cluster", IdentityProviderRef.Kind.ClusterIdentityProvider));
    client.resource(wanted).create();
    DeviceLogin pending = awaitLogin(client, "tenant", "alice", phase(Phase.Pending));
    assertThat(ready(pending).getReason()).isEqualTo("ProviderNotReady");
    assertThat(ready(pending).getMessage()).contains("ClusterIdentityProvider")
        .contains(OPERATOR_NAMESPACE + "/tenant-client");
  }

  // ---- helpers

  private Condition notReadyWith(DiscoveryMode mode, String namespace) {
    return notReadyWith(brokenIdp(mode), namespace);
  }

  private Condition notReadyWith(FakeIdp broken, String namespace) {
    IdentityProvider created =
        client.resource(Resources.identityProvider(namespace, "corp", broken.issuer(), "cli")).create();
    IdentityProvider notReady = awaitProvider(() -> get(namespace, "corp"), "False");
    assertThat(notReady.getStatus().getObservedGeneration()).isEqualTo(created.getMetadata().getGeneration());
    assertThat(notReady.getStatus().getDeviceAuthorizationEndpoint()).isNull();
    assertThat(notReady.getStatus().getTokenEndpoint()).isNull();
    assertThat(broken.requestsTo(broken.discoveryUri())).as("discovery was asked").isNotEmpty();
    Condition condition = readyCondition(notReady);
    assertThat(condition.getObservedGeneration()).isEqualTo(created.getMetadata().getGeneration());
    return condition;
  }

  private static FakeIdp brokenIdp(DiscoveryMode mode) {
    FakeIdp broken = FakeIdp.start().interval(1).discovery(mode);
    brokenIdps.add(broken);
    return broken;
  }

  private static IdentityProvider get(String namespace, String name) {
    return client.resources(IdentityProvider.class).inNamespace(namespace).withName(name).get();
  }

  private static <P extends CustomResource<? extends IdentityProviderSpec, IdentityProviderStatus>> P awaitProvider(
      Supplier<P> provider, String readyStatus) {
    return await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(provider::get,
        p -> p != null && p.getStatus() != null && readyCondition(p) != null
            && readyStatus.equals(readyCondition(p).getStatus())
            && p.getMetadata().getGeneration().equals(p.getStatus().getObservedGeneration()));
  }

  private static Condition readyCondition(
      CustomResource<? extends IdentityProviderSpec, IdentityProviderStatus> provider) {
    return Conditions.find(provider.getStatus().getConditions(), Constants.READY);
  }

  private static ClusterIdentityProvider clusterProvider(
      String name, String issuer, String clientId, SecretKeyReference secretRef) {
    ClusterIdentityProvider provider = Resources.clusterIdentityProvider(name, issuer, clientId);
    provider.getSpec().setClientSecretRef(secretRef);
    return provider;
  }


  private static String decode(Secret secret, String key) {
    return new String(Base64.getDecoder().decode(secret.getData().get(key)), StandardCharsets.UTF_8);
  }
}
