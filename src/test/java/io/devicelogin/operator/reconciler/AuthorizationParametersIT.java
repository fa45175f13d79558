package io.devicelogin.operator.reconciler;

import static io.devicelogin.operator.testing.Logins.awaitLogin;
import static io.devicelogin.operator.testing.Logins.phase;
import static io.devicelogin.operator.testing.Logins.ready;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.oauth2.sdk.util.URLUtils;
import com.nimbusds.openid.connect.sdk.AuthenticationRequest;
import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProvider;
import io.devicelogin.operator.api.v1alpha1.Condition;
import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginSpec;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderRef;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderStatus;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.status.Conditions;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testidp.Login;
import io.devicelogin.operator.testidp.RecordedRequest;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * spec.authorizationParameters from outside (mock API server, {@link FakeIdp} over HTTP): the admin's parameters
 * reach the IdP on the device authorization request and in the authorization URL and on nothing else; a provider
 * whose map names a protocol parameter is never used, whoever wrote it (the mock API server runs no CEL, like an
 * object that reached the operator without admission).
 */
class AuthorizationParametersIT {

  private static final Map<String, String> PARAMETERS = Map.of(
      "audience", "https://api.example.com/", "organization", "org_5Kd9", "acr_values", "urn:mfa");

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
      List<String> secrets = new ArrayList<>(planted);
      idps.forEach(idp -> secrets.addAll(Logins.secretsOf(idp)));
      fixture.assertNoLeaks(secrets);
      fixture.close();
    } finally {
      idps.forEach(FakeIdp::close);
    }
  }

  @Test
  void theParametersGoOnTheDeviceAuthorizationRequestAndNotOnTokenRefreshOrRevocation() {
    FakeIdp idp = idp().tokenLifetime(30);
    IdentityProvider provider = Resources.identityProvider("dev-params", "corp", idp.issuer(), "cli");
    provider.getSpec().setAuthorizationParameters(PARAMETERS);
    client.resource(provider).create();
    DeviceLogin wanted = Resources.deviceLogin("dev-params", "alice", "corp", "alice@example.com");
    wanted.getSpec().setRenewBefore("27s"); // refreshed about 3 s after the login
    wanted.getSpec().setDeletionPolicy(DeviceLoginSpec.DeletionPolicy.Delete);
    client.resource(wanted).create();

    Login login = idp.login(awaitLogin(client, "dev-params", "alice", phase(Phase.AwaitingUser)).getStatus()
        .getUserCode());
    login.approve(Claims.user("alice"));
    awaitLogin(client, "dev-params", "alice", phase(Phase.Ready));
    await().atMost(Duration.ofSeconds(20)).until(() -> idp.refreshCount() >= 1);
    client.resources(DeviceLogin.class).inNamespace("dev-params").withName("alice").delete();
    await().atMost(Duration.ofSeconds(20)).until(() -> idp.revocationCount() >= 1);

    List<RecordedRequest> device = idp.requestsTo(idp.deviceAuthorizationEndpoint());
    assertThat(device).hasSize(1);
    PARAMETERS.forEach((name, value) -> assertThat(device.get(0).form().get(name)).as(name).containsExactly(value));
    assertThat(device.get(0).param("client_id")).isEqualTo("cli");
    assertThat(device.get(0).param("scope")).isEqualTo("openid profile email offline_access");

    List<RecordedRequest> token = idp.requestsTo(idp.tokenEndpoint());
    List<RecordedRequest> revocation = idp.requestsTo(idp.revocationEndpoint());
    assertThat(token).extracting(r -> r.param("grant_type"))
        .contains("urn:ietf:params:oauth:grant-type:device_code", "refresh_token");
    assertThat(revocation).isNotEmpty();
    List<RecordedRequest> others = new ArrayList<>(token);
    others.addAll(revocation);
    assertThat(others).allSatisfy(r -> assertThat(r.form().keySet()).doesNotContainAnyElementsOf(PARAMETERS.keySet()));
  }

  @Test
  void theParametersAreInTheAuthorizationUrlAndNotOnTheCodeExchange() throws Exception {
    FakeIdp idp = idp();
    IdentityProvider provider = Resources.identityProvider("code-params", "corp", idp.issuer(), "cli");
    provider.getSpec().setGrant(IdentityProviderSpec.GrantType.AuthorizationCode);
    provider.getSpec().setRedirectUri("http://localhost:8000/");
    provider.getSpec().setAuthorizationParameters(PARAMETERS);
    client.resource(provider).create();
    client.resource(Resources.deviceLogin("code-params", "alice", "corp", "alice@example.com")).create();
    URI url = URI.create(awaitLogin(client, "code-params", "alice",
        dl -> dl.getStatus().getPhase() == Phase.AwaitingUser && dl.getStatus().getAuthorizationUrl() != null)
        .getStatus().getAuthorizationUrl());

    Map<String, List<String>> query = URLUtils.parseParameters(url.getRawQuery());
    PARAMETERS.forEach((name, value) -> assertThat(query.get(name)).as(name).containsExactly(value));
    AuthenticationRequest request = AuthenticationRequest.parse(url);
    assertThat(request.getClientID().getValue()).isEqualTo("cli");
    assertThat(request.getScope().toStringList()).containsExactly("openid", "profile", "email", "offline_access");

    String redirect = idp.signIn(url, Claims.user("alice")); // the IdP parses the URL and accepts it
    paste("code-params", "alice", redirect);
    awaitLogin(client, "code-params", "alice", phase(Phase.Ready));
    assertThat(idp.codeExchanges()).hasSize(1)
        .allSatisfy(r -> assertThat(r.form().keySet()).doesNotContainAnyElementsOf(PARAMETERS.keySet()));
    assertThat(idp.requestsTo(idp.deviceAuthorizationEndpoint())).isEmpty();
  }

  @Test
  void aClusterProviderOverridingClientIdIsNotReadyAndSendsNothing() {
    FakeIdp idp = idp();
    ClusterIdentityProvider provider = Resources.clusterIdentityProvider("overrides-client", idp.issuer(), "cli");
    provider.getSpec().setAuthorizationParameters(Map.of("audience", "api", "client_id", "someone-elses-client"));
    client.resource(provider).create();

    ClusterIdentityProvider notReady = awaitProvider(
        () -> client.resources(ClusterIdentityProvider.class).withName("overrides-client").get());
    Condition condition = readyCondition(notReady);
    assertThat(condition.getReason()).isEqualTo(ProviderResolver.PARAMETER_NOT_ALLOWED)
        .isEqualTo("ParameterNotAllowed");
    assertThat(condition.getMessage()).startsWith("spec.authorizationParameters: ")
        .contains("'client_id' is a protocol parameter").doesNotContain("audience")
        .doesNotContain("someone-elses-client");

    DeviceLogin wanted = Resources.deviceLogin("uses-cluster", "alice", "overrides-client", "alice@example.com");
    wanted.getSpec().setIdentityProviderRef(
        new IdentityProviderRef("overrides-client", IdentityProviderRef.Kind.ClusterIdentityProvider));
    client.resource(wanted).create();
    DeviceLogin waiting = awaitLogin(client, "uses-cluster", "alice", dl -> ready(dl) != null
        && ready(dl).getMessage() != null && ready(dl).getMessage().contains("client_id"));
    assertThat(waiting.getStatus().getPhase()).isNotIn(Phase.AwaitingUser, Phase.Ready);
    assertThat(waiting.getStatus().getUserCode()).isNull();
    assertThat(idp.requestsTo(idp.deviceAuthorizationEndpoint())).isEmpty();
    assertThat(idp.requestsTo(idp.tokenEndpoint())).isEmpty();
    assertThat(idp.requests()).as("not even discovery").isEmpty();
  }

  @Test
  void aTenantCannotOverrideScopeToEscapeAllowedScopes() {
    FakeIdp idp = idp();
    List<String> keys = List.of("scope", "Scope", "SCOPE");
    for (int i = 0; i < keys.size(); i++) {
      String key = keys.get(i);
      String ns = "tenant-scope-" + i;
      IdentityProvider provider = Resources.identityProvider(ns, "corp", idp.issuer(), "cli");
      provider.getSpec().setAllowedScopes(List.of("openid", "groups"));
      provider.getSpec().setAuthorizationParameters(Map.of(key, "openid admin offline_access"));
      client.resource(provider).create();
      client.resource(Resources.deviceLogin(ns, "alice", "corp", "alice@example.com")).create();

      IdentityProvider notReady = awaitProvider(
          () -> client.resources(IdentityProvider.class).inNamespace(ns).withName("corp").get());
      assertThat(readyCondition(notReady).getReason()).as(key).isEqualTo("ParameterNotAllowed");
      assertThat(readyCondition(notReady).getMessage()).contains("'" + key + "' is a protocol parameter");
      DeviceLogin waiting = awaitLogin(client, ns, "alice", dl -> ready(dl) != null
          && ready(dl).getMessage() != null && ready(dl).getMessage().contains("'" + key + "'"));
      assertThat(waiting.getStatus().getUserCode()).isNull();
    }
    assertThat(idp.requests()).as("nothing reached the IdP, with or without the tenant's scope").isEmpty();
  }

  @Test
  void fixingTheMapMakesTheProviderReadyAndItsParametersAreSent() {
    FakeIdp idp = idp();
    IdentityProvider provider = Resources.identityProvider("fixed", "corp", idp.issuer(), "cli");
    provider.getSpec().setAuthorizationParameters(Map.of("audience", "api", "redirect_uri", "https://evil.example/"));
    client.resource(provider).create();
    assertThat(readyCondition(awaitProvider(
        () -> client.resources(IdentityProvider.class).inNamespace("fixed").withName("corp").get())).getReason())
        .isEqualTo("ParameterNotAllowed");

    client.resources(IdentityProvider.class).inNamespace("fixed").withName("corp")
        .edit(p -> {
          p.getSpec().setAuthorizationParameters(Map.of("audience", "api"));
          return p;
        });
    client.resource(Resources.deviceLogin("fixed", "alice", "corp", "alice@example.com")).create();
    awaitLogin(client, "fixed", "alice", phase(Phase.AwaitingUser));
    assertThat(idp.requestsTo(idp.deviceAuthorizationEndpoint())).singleElement()
        .satisfies(r -> assertThat(r.param("audience")).isEqualTo("api"))
        .satisfies(r -> assertThat(r.form()).doesNotContainKey("redirect_uri"));
  }

  // ---- helpers

  private static FakeIdp idp() {
    FakeIdp idp = FakeIdp.start().interval(1);
    idps.add(idp);
    return idp;
  }

  private static void paste(String namespace, String login, String redirectUrl) {
    planted.add(redirectUrl);
    client.resource(new SecretBuilder().withNewMetadata().withNamespace(namespace).withName(login + "-response")
        .addToLabels(Constants.DEVICELOGIN_LABEL, login).endMetadata()
        .withType(Constants.AUTHORIZATION_RESPONSE_TYPE)
        .addToData(Constants.REDIRECT_URL_KEY, Base64.getEncoder().encodeToString(
            redirectUrl.getBytes(StandardCharsets.UTF_8)))
        .build()).create();
  }

  /** Waits until the provider's Ready condition is False for its current generation. */
  private static <P extends CustomResource<? extends IdentityProviderSpec, IdentityProviderStatus>> P awaitProvider(
      Supplier<P> provider) {
    return await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(provider::get,
        p -> p != null && p.getStatus() != null && readyCondition(p) != null
            && "False".equals(readyCondition(p).getStatus())
            && p.getMetadata().getGeneration().equals(p.getStatus().getObservedGeneration()));
  }

  private static Condition readyCondition(
      CustomResource<? extends IdentityProviderSpec, IdentityProviderStatus> provider) {
    return Conditions.find(provider.getStatus().getConditions(), Constants.READY);
  }
}
