package io.devicelogin.operator.reconciler;

import static io.devicelogin.operator.testing.Logins.awaitLogin;
import static io.devicelogin.operator.testing.Logins.phase;
import static io.devicelogin.operator.testing.Logins.ready;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProvider;
import io.devicelogin.operator.api.v1alpha1.Condition;
import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderRef;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.LabelSelector;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.SecretKeyReference;
import io.devicelogin.operator.status.Conditions;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testidp.RecordedRequest;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The provider-side tenancy rules, attacked the way a tenant would from outside: through the API server stand-in, with
 * a {@link FakeIdp} that records every request, so "nothing was sent to the IdP" is checked on the wire.
 */
class TenancyIT {

  /** The namespace {@link io.devicelogin.operator.testing.RunningOperator} gives the operator. */
  private static final String OPERATOR_NAMESPACE = "devicelogin-system";
  private static final String TENANT_LABEL = "devicelogin.example.com/tenant";

  private static OperatorFixture fixture;
  private static KubernetesClient client;
  private static final List<FakeIdp> idps = new ArrayList<>();
  private static final List<String> planted = new ArrayList<>();

  @BeforeAll
  static void start() {
    fixture = OperatorFixture.start();
    client = fixture.client();
  }

  @AfterAll
  static void stop() {
    try {
      fixture.close();
    } finally {
      idps.forEach(FakeIdp::close);
    }
  }

  @AfterEach
  void noLeaks() {
    List<String> secrets = new ArrayList<>(planted);
    idps.forEach(idp -> secrets.addAll(Logins.secretsOf(idp)));
    fixture.assertNoLeaks(secrets);
  }

  // ---- requireUser: the RFC 8628 §5.4 phishing login

  @Test
  void aPhishingLoginWithoutUserOnTheCorporateProviderEndsUserRequiredBeforeAnyRequest() {
    FakeIdp idp = idp();
    client.resource(Resources.clusterIdentityProvider("corp-sso", idp.issuer(), "cli")).create();
    awaitClusterProviderReady("corp-sso");

    // mallory's login names no user: whoever approves it would hand their tokens to mallory's namespace
    client.resource(clusterLogin("mallory", "phish", "corp-sso", null)).create();
    DeviceLogin refused = awaitLogin(client, "mallory", "phish", phase(Phase.Failed));
    assertThat(ready(refused).getReason()).isEqualTo("UserRequired");
    assertThat(ready(refused).getMessage()).contains("ClusterIdentityProvider corp-sso", "spec.user",
        "No request was sent to the IdP");
    assertThat(refused.getStatus().getUserCode()).isNull();
    assertThat(refused.getStatus().getVerificationUriComplete()).as("nothing to send a victim").isNull();
    assertThat(client.secrets().inNamespace("mallory").list().getItems()).as("no grant started").isEmpty();

    // a namespaced IdentityProvider requires it by default too
    client.resource(Resources.identityProvider("mallory", "own", idp.issuer(), "cli")).create();
    client.resource(Resources.deviceLogin("mallory", "phish-own", "own")).create();
    assertThat(ready(awaitLogin(client, "mallory", "phish-own", phase(Phase.Failed))).getReason())
        .isEqualTo("UserRequired");

    // the same login naming its user goes to the IdP: the check above could have seen a request
    client.resource(clusterLogin("mallory", "honest", "corp-sso", "mallory@example.com")).create();
    awaitLogin(client, "mallory", "honest", phase(Phase.AwaitingUser));
    assertThat(idp.requestsTo(idp.deviceAuthorizationEndpoint())).as("only the login naming its user started")
        .hasSize(1);
    assertThat(idp.requestsTo(idp.tokenEndpoint())).allSatisfy(r -> assertThat(r.param("device_code"))
        .isEqualTo(idp.lastLogin().deviceCode()));
  }

  // ---- namespaceSelector

  @Test
  void aClusterProviderServesOnlyTheNamespacesItSelectsAndStopsRefreshingOneThatLeaves() {
    FakeIdp idp = idp();
    namespace("sel-in", Map.of(TENANT_LABEL, "true"));
    namespace("sel-out", Map.of(TENANT_LABEL, "false"));
    ClusterIdentityProvider provider = Resources.clusterIdentityProvider("corp-selected", idp.issuer(), "cli");
    provider.getSpec().setNamespaceSelector(new LabelSelector(Map.of(TENANT_LABEL, "true"), null));
    client.resource(provider).create();
    awaitClusterProviderReady("corp-selected");

    client.resource(clusterLogin("sel-out", "alice", "corp-selected", "alice@example.com")).create();
    DeviceLogin refused = awaitLogin(client, "sel-out", "alice", phase(Phase.Failed));
    assertThat(ready(refused).getReason()).isEqualTo("NamespaceNotAllowed");
    assertThat(ready(refused).getMessage()).contains("ClusterIdentityProvider corp-selected", "sel-out",
        "namespaceSelector", "No request was sent to the IdP");
    assertThat(idp.requestsTo(idp.deviceAuthorizationEndpoint())).isEmpty();

    client.resource(clusterLogin("sel-in", "alice", "corp-selected", "alice@example.com")).create();
    String userCode = awaitLogin(client, "sel-in", "alice", phase(Phase.AwaitingUser)).getStatus().getUserCode();
    assertThat(idp.requestsTo(idp.deviceAuthorizationEndpoint())).hasSize(1);
    idp.login(userCode).approve(Claims.user("alice"));
    DeviceLogin done = awaitLogin(client, "sel-in", "alice", phase(Phase.Ready));

    // the admin takes the namespace out: its Ready login is not refreshed again, at once, not at its renewal time
    client.namespaces().withName("sel-in").edit(ns -> new NamespaceBuilder(ns).editMetadata()
        .removeFromLabels(TENANT_LABEL).endMetadata().build());
    DeviceLogin stopped = awaitLogin(client, "sel-in", "alice", phase(Phase.Failed), Duration.ofSeconds(20));
    assertThat(ready(stopped).getReason()).isEqualTo("NamespaceNotAllowed");
    assertThat(ready(stopped).getMessage()).contains("no longer refreshed", done.getStatus().getSecretName());
    assertThat(idp.refreshCount()).isZero();
    assertThat(client.secrets().inNamespace("sel-in").withName(done.getStatus().getSecretName()).get())
        .as("the tokens already issued stay until they expire or the DeviceLogin is deleted").isNotNull();
  }

  @Test
  void aProviderThatStartsRequiringUserStopsRefreshingLoginsWithoutOne() {
    FakeIdp idp = idp();
    ClusterIdentityProvider provider = Resources.clusterIdentityProvider("corp-lenient", idp.issuer(), "cli");
    provider.getSpec().setRequireUser(false);
    client.resource(provider).create();
    awaitClusterProviderReady("corp-lenient");
    client.resource(clusterLogin("lenient", "bob", "corp-lenient", null)).create();
    idp.login(awaitLogin(client, "lenient", "bob", phase(Phase.AwaitingUser)).getStatus().getUserCode())
        .approve(Claims.user("bob"));
    DeviceLogin done = awaitLogin(client, "lenient", "bob", phase(Phase.Ready));

    // the admin turns requireUser on: the spec change wakes the login, which is not refreshed again
    client.resources(ClusterIdentityProvider.class).withName("corp-lenient").edit(p -> {
      p.getSpec().setRequireUser(true);
      return p;
    });
    DeviceLogin stopped = awaitLogin(client, "lenient", "bob", phase(Phase.Failed));
    assertThat(ready(stopped).getReason()).isEqualTo("UserRequired");
    assertThat(ready(stopped).getMessage()).contains("no longer refreshed");
    assertThat(idp.refreshCount()).isZero();
    assertThat(client.secrets().inNamespace("lenient").withName(done.getStatus().getSecretName()).get()).isNotNull();
  }

  // ---- allowedScopes

  @Test
  void scopesTheProviderDoesNotAllowEndScopeNotAllowedBeforeAnyRequest() {
    FakeIdp idp = idp();
    IdentityProvider provider = Resources.identityProvider("scopes", "corp", idp.issuer(), "cli");
    provider.getSpec().setAllowedScopes(List.of("groups"));
    client.resource(provider).create();

    DeviceLogin greedy = Resources.deviceLogin("scopes", "greedy", "corp", "alice@example.com");
    greedy.getSpec().setScopes(List.of("openid", "groups", "admin:all", "offline_access"));
    client.resource(greedy).create();
    DeviceLogin refused = awaitLogin(client, "scopes", "greedy", phase(Phase.Failed));
    assertThat(ready(refused).getReason()).isEqualTo("ScopeNotAllowed");
    assertThat(ready(refused).getMessage()).contains("[admin:all]", "allowedScopes", "No request was sent to the IdP")
        .doesNotContain("[admin:all, ");
    assertThat(idp.requestsTo(idp.deviceAuthorizationEndpoint())).isEmpty();

    DeviceLogin modest = Resources.deviceLogin("scopes", "modest", "corp", "alice@example.com");
    modest.getSpec().setScopes(List.of("openid", "groups"));
    client.resource(modest).create();
    awaitLogin(client, "scopes", "modest", phase(Phase.AwaitingUser));
    assertThat(idp.requestsTo(idp.deviceAuthorizationEndpoint())).singleElement()
        .satisfies(r -> assertThat(r.param("scope")).isEqualTo("openid groups"));
  }

  // ---- clientSecretRef: no reading other Secrets of the namespace, no oracle

  @Test
  void aClientSecretRefToAnyOtherSecretIsRefusedWithOneMessageAndTheValueNeverLeaves() {
    FakeIdp idp = idp();
    String refreshToken = "victim-refresh-" + UUID.randomUUID();
    String deviceCode = "victim-device-code-" + UUID.randomUUID();
    String unlabelled = "unlabelled-" + UUID.randomUUID();
    String labelledToken = "labelled-token-" + UUID.randomUUID();
    planted.addAll(List.of(refreshToken, deviceCode, unlabelled, labelledToken));
    // the Secret "victim" the tenant's provider names (key "value"), in every shape an attacker might find it
    Map<String, Supplier<Secret>> cases = new LinkedHashMap<>();
    cases.put("another user's token Secret", () -> secret(Constants.TOKEN_SECRET_TYPE, refreshToken, false, true));
    cases.put("a grant Secret", () -> secret("devicelogin.io/device-grant", deviceCode, false, true));
    cases.put("an unlabelled Secret", () -> secret("Opaque", unlabelled, false, false));
    cases.put("a token Secret labelled as a client secret", () -> secret(Constants.TOKEN_SECRET_TYPE, labelledToken,
        true, false));
    cases.put("no Secret at all", () -> null);
    Map<String, Condition> seen = new LinkedHashMap<>();
    for (var c : cases.entrySet()) {
      Secret secret = c.getValue().get();
      if (secret != null) {
        client.resource(secret).create();
      }
      IdentityProvider provider = Resources.identityProvider("stealer", "own", idp.issuer(), "cli");
      provider.getSpec().setClientSecretRef(new SecretKeyReference("victim", "value"));
      client.resource(provider).create();
      IdentityProvider notReady = awaitProvider("stealer", "own", "False");
      seen.put(c.getKey(), Conditions.find(notReady.getStatus().getConditions(), Constants.READY));
      client.resource(Resources.deviceLogin("stealer", "alice", "own", "alice@example.com")).create();
      DeviceLogin pending = awaitLogin(client, "stealer", "alice", phase(Phase.Pending));
      assertThat(ready(pending).getReason()).as(c.getKey()).isEqualTo("ProviderNotReady");
      client.resources(DeviceLogin.class).inNamespace("stealer").withName("alice").delete();
      client.resources(IdentityProvider.class).inNamespace("stealer").withName("own").delete();
      client.secrets().inNamespace("stealer").withName("victim").delete();
      await().atMost(Duration.ofSeconds(20)).until(() -> Logins.get(client, "stealer", "alice") == null
          && client.resources(IdentityProvider.class).inNamespace("stealer").withName("own").get() == null);
    }
    assertThat(seen.values()).extracting(Condition::getReason).containsOnly("ClientSecretNotAllowed");
    assertThat(seen.values()).extracting(Condition::getMessage).as("no oracle: one message, byte for byte")
        .containsOnly(seen.get("no Secret at all").getMessage());
    assertThat(seen.get("no Secret at all").getMessage()).contains(Constants.CLIENT_SECRET_LABEL, "stealer/victim",
        "'value'");
    assertThat(idp.requests()).as("not even discovery with a refused client secret").isEmpty();

    // the same provider with a proper client-secret Secret works, and its value is what goes out: the checks above
    // would have seen a value sent
    String clientSecret = "proper-" + UUID.randomUUID();
    planted.add(clientSecret);
    idp.requireClientSecret("cli", clientSecret);
    client.resource(Resources.clientSecret("stealer", "victim", "value", clientSecret)).create();
    IdentityProvider provider = Resources.identityProvider("stealer", "own", idp.issuer(), "cli");
    provider.getSpec().setClientSecretRef(new SecretKeyReference("victim", "value"));
    client.resource(provider).create();
    awaitProvider("stealer", "own", "True");
    client.resource(Resources.deviceLogin("stealer", "alice", "own", "alice@example.com")).create();
    awaitLogin(client, "stealer", "alice", phase(Phase.AwaitingUser));
    List<String> sent = sentValues(idp);
    assertThat(sent).anySatisfy(value -> assertThat(value).contains(clientSecret));
    for (String stolen : List.of(refreshToken, deviceCode, unlabelled, labelledToken)) {
      assertThat(sent).noneSatisfy(value -> assertThat(value).contains(stolen));
    }
  }

  // ---- email_verified

  @Test
  void anEmailTheIdpDoesNotSayItVerifiedIsRefusedUnlessTheProviderSaysItIsNeverSent() {
    FakeIdp idp = idp();
    client.resource(Resources.identityProvider("email", "strict", idp.issuer(), "cli")).create();
    IdentityProvider entra = Resources.identityProvider("email", "entra", idp.issuer(), "cli");
    entra.getSpec().setEmailVerifiedClaim(IdentityProviderSpec.EmailVerifiedClaim.NotSent);
    client.resource(entra).create();

    client.resource(Resources.deviceLogin("email", "strict", "strict", "erin@example.com")).create();
    idp.login(awaitLogin(client, "email", "strict", phase(Phase.AwaitingUser)).getStatus().getUserCode())
        .approve(Claims.user("erin").withoutEmailVerified());
    DeviceLogin refused = awaitLogin(client, "email", "strict", phase(Phase.Failed));
    assertThat(ready(refused).getReason()).isEqualTo("IdentityMismatch");
    assertThat(ready(refused).getMessage()).contains("email_verified is absent", "emailVerifiedClaim: NotSent");
    assertThat(client.secrets().inNamespace("email").withName("oidc-erin-example-com").get()).isNull();

    client.resource(Resources.deviceLogin("email", "entra", "entra", "erin@example.com")).create();
    idp.login(awaitLogin(client, "email", "entra", phase(Phase.AwaitingUser)).getStatus().getUserCode())
        .approve(Claims.user("erin").withoutEmailVerified());
    DeviceLogin accepted = awaitLogin(client, "email", "entra", phase(Phase.Ready));
    assertThat(accepted.getStatus().getIdentity().getUsername()).isEqualTo("erin@example.com");
  }

  // ---- helpers

  private static FakeIdp idp() {
    FakeIdp idp = FakeIdp.start().interval(1);
    idps.add(idp);
    return idp;
  }

  private static DeviceLogin clusterLogin(String namespace, String name, String provider, String user) {
    DeviceLogin login = Resources.deviceLogin(namespace, name, provider, user);
    login.getSpec().setIdentityProviderRef(
        new IdentityProviderRef(provider, IdentityProviderRef.Kind.ClusterIdentityProvider));
    return login;
  }

  private static void namespace(String name, Map<String, String> labels) {
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).withLabels(labels)
        .endMetadata().build()).create();
  }

  private static Secret secret(String type, String value, boolean clientSecretLabel, boolean managed) {
    SecretBuilder secret = new SecretBuilder().withNewMetadata().withNamespace("stealer").withName("victim")
        .endMetadata().withType(type)
        .addToData("value", Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8)));
    if (clientSecretLabel) {
      secret.editMetadata().addToLabels(Constants.CLIENT_SECRET_LABEL, "true").endMetadata();
    }
    if (managed) {
      secret.editMetadata().addToLabels(Constants.MANAGED_BY_LABEL, Constants.MANAGED_BY).endMetadata();
    }
    return secret.build();
  }

  /** Everything requests to {@code idp} carried that could hold a secret: form values, Authorization decoded. */
  private static List<String> sentValues(FakeIdp idp) {
    List<String> values = new ArrayList<>();
    for (RecordedRequest request : idp.requests()) {
      request.form().values().forEach(values::addAll);
      String authorization = request.authorization();
      if (authorization != null) {
        values.add(authorization);
        if (authorization.startsWith("Basic ")) {
          values.add(URLDecoder.decode(new String(Base64.getDecoder().decode(authorization.substring(6)),
              StandardCharsets.UTF_8), StandardCharsets.UTF_8));
        }
      }
    }
    return values;
  }

  private static void awaitClusterProviderReady(String name) {
    await().atMost(Duration.ofSeconds(20)).until(
        () -> client.resources(ClusterIdentityProvider.class).withName(name).get(),
        p -> p != null && p.getStatus() != null && "True".equals(readyStatus(p.getStatus().getConditions())));
  }

  private static IdentityProvider awaitProvider(String namespace, String name, String status) {
    return await().atMost(Duration.ofSeconds(20)).until(
        () -> client.resources(IdentityProvider.class).inNamespace(namespace).withName(name).get(),
        p -> p != null && p.getStatus() != null && status.equals(readyStatus(p.getStatus().getConditions()))
            && p.getMetadata().getGeneration().equals(p.getStatus().getObservedGeneration()));
  }

  private static String readyStatus(List<Condition> conditions) {
    Condition ready = Conditions.find(conditions, Constants.READY);
    return ready == null ? null : ready.getStatus();
  }
}
