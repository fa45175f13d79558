package io.devicelogin.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginSpec;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginStatus;
import io.devicelogin.operator.api.v1alpha1.Identity;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.flow.StartedGrant;
import io.devicelogin.operator.idp.IssuedTokens;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.secret.GrantStore;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.status.Rfc3339;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testidp.RecordedRequest;
import io.devicelogin.operator.testing.ApiSecrets;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue #10, items 3, 4 and parts of 5, performed from outside as a tenant would: re-pointing a provider under pending
 * and Ready logins, taking over another person's token Secret with an IdP of one's own, a DeviceLogin deleted and
 * re-created with the same name, a Secret planted at the grant Secret's name, and a token Secret of someone else found
 * after a restart. The IdPs are {@link FakeIdp}s recording every request, so "never sent there" is checked on what
 * arrived.
 */
class SecretBindingIT {

  private static final String CLIENT_ID = "cli";

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
    } finally {
      try {
        fixture.close();
      } finally {
        idps.forEach(FakeIdp::close);
      }
    }
  }

  private static FakeIdp idp() {
    FakeIdp idp = FakeIdp.start().interval(1).tokenLifetime(30);
    idps.add(idp);
    return idp;
  }

  /** A provider whose logins need no spec.user (these attacks are about Secrets, not about who may log in). */
  private static void provider(String namespace, String name, FakeIdp idp) {
    client.resource(Resources.anyUser(Resources.identityProvider(namespace, name, idp.issuer(), CLIENT_ID))).create();
  }

  private static void editProvider(String namespace, String name, Consumer<IdentityProviderSpec> edit) {
    client.resources(IdentityProvider.class).inNamespace(namespace).withName(name)
        .edit(p -> {
          edit.accept(p.getSpec());
          return p;
        });
  }

  private static DeviceLogin create(String namespace, String name, String provider, Consumer<DeviceLoginSpec> spec) {
    DeviceLogin login = Resources.deviceLogin(namespace, name, provider);
    spec.accept(login.getSpec());
    return client.resource(login).create();
  }

  private static DeviceLogin approve(String namespace, String name, FakeIdp idp, Claims user) {
    String userCode = Logins.awaitLogin(client, namespace, name, Logins.phase(Phase.AwaitingUser)).getStatus()
        .getUserCode();
    idp.login(userCode).approve(user);
    return Logins.awaitLogin(client, namespace, name, Logins.phase(Phase.Ready));
  }

  private static Secret secret(String namespace, String name) {
    return client.secrets().inNamespace(namespace).withName(name).get();
  }

  private static void deleteAndAwait(String namespace, String name) {
    client.resources(DeviceLogin.class).inNamespace(namespace).withName(name).delete();
    await().atMost(Duration.ofSeconds(20)).until(() -> Logins.get(client, namespace, name) == null);
  }

  /** Whether any request {@code idp} received carried {@code value} in a form parameter or the Authorization header. */
  private static boolean received(FakeIdp idp, String value) {
    for (RecordedRequest request : idp.requests()) {
      if (request.authorization() != null && request.authorization().contains(value)) {
        return true;
      }
      if (request.form().values().stream().flatMap(List::stream).anyMatch(v -> v.contains(value))) {
        return true;
      }
    }
    return false;
  }

  private static List<RecordedRequest> tokenRequests(FakeIdp idp) {
    return idp.requestsTo(idp.tokenEndpoint());
  }

  // ---- attack 3: re-point live logins

  @Test
  void issuerUrlEditedUnderAPendingLoginEndsItAndTheDeviceCodeNeverReachesTheNewIssuer() {
    String ns = "re-point-pending";
    FakeIdp original = idp();
    FakeIdp attacker = idp();
    provider(ns, "corp", original);
    create(ns, "login", "corp", spec -> { });
    Logins.awaitLogin(client, ns, "login", Logins.phase(Phase.AwaitingUser));
    String deviceCode = original.lastLogin().deviceCode();

    editProvider(ns, "corp", spec -> spec.setIssuerUrl(attacker.issuer()));
    DeviceLogin ended = Logins.awaitLogin(client, ns, "login", Logins.reason("ProviderChanged"));

    assertThat(ended.getStatus().getPhase()).isEqualTo(Phase.Failed);
    assertThat(Logins.ready(ended).getMessage())
        .contains("started at issuer " + original.issuer() + " with client id " + CLIENT_ID)
        .contains("issuerUrl is now " + attacker.issuer())
        .contains("devicelogin.io/restart");
    assertThat(ended.getStatus().getUserCode()).as("the user code is no longer shown").isNull();
    assertThat(tokenRequests(attacker)).as("no poll at the new issuer").isEmpty();
    assertThat(attacker.requestsTo(attacker.deviceAuthorizationEndpoint())).isEmpty();
    assertThat(received(attacker, deviceCode)).as("the device code never reached the new issuer").isFalse();
    int polls = original.lastLogin().pollCount();
    await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3))
        .until(() -> original.lastLogin().pollCount() == polls);
    await().atMost(Duration.ofSeconds(10)).until(() -> secret(ns, "devicelogin-grant-login") == null);
    assertThat(fixture.cluster().requests()).as("the grant Secret is deleted only as this login last wrote it")
        .filteredOn(r -> ns.equals(r.namespace()) && "DELETE".equals(r.method()) && !r.fromTest()
            && r.bare().endsWith("/secrets/devicelogin-grant-login"))
        .isNotEmpty().allMatch(r -> r.bodyContains("\"preconditions\"") && r.bodyContains("\"resourceVersion\""));
  }

  @Test
  void clientIdEditedUnderAPendingLoginEndsItAndTheDeviceCodeIsNeverSentWithTheNewClient() {
    String ns = "re-client-pending";
    FakeIdp idp = idp();
    provider(ns, "corp", idp);
    create(ns, "login", "corp", spec -> { });
    Logins.awaitLogin(client, ns, "login", Logins.phase(Phase.AwaitingUser));

    editProvider(ns, "corp", spec -> spec.setClientId("other-client"));
    DeviceLogin ended = Logins.awaitLogin(client, ns, "login", Logins.reason("ProviderChanged"));

    assertThat(ended.getStatus().getPhase()).isEqualTo(Phase.Failed);
    assertThat(Logins.ready(ended).getMessage()).contains("clientId is now other-client (was cli)");
    assertThat(tokenRequests(idp)).as("no poll with the new client id")
        .noneMatch(r -> "other-client".equals(r.param("client_id")));
    assertThat(idp.logins()).as("no second grant started").hasSize(1);
  }

  @Test
  void issuerUrlEditedUnderAReadyLoginStopsRenewalAndDeletionRevokesNothingAtTheNewIssuer() {
    String ns = "re-point-ready";
    FakeIdp original = idp();
    FakeIdp attacker = idp();
    provider(ns, "corp", original);
    create(ns, "login", "corp", spec -> spec.setRenewBefore("24s")); // renewal 6 s after the login
    approve(ns, "login", original, Claims.user("alice"));
    Secret before = secret(ns, "oidc-alice-example-com");
    String refreshToken = TokenSecrets.value(before, TokenSecrets.REFRESH_TOKEN);

    editProvider(ns, "corp", spec -> spec.setIssuerUrl(attacker.issuer()));
    DeviceLogin ended = Logins.awaitLogin(client, ns, "login", Logins.reason("ProviderChanged"));

    assertThat(ended.getStatus().getPhase()).isEqualTo(Phase.Failed);
    assertThat(Logins.ready(ended).getMessage())
        .contains("issued by " + original.issuer())
        .contains("issuerUrl is now " + attacker.issuer())
        .contains("delete Secret oidc-alice-example-com");
    assertThat(original.refreshCount()).as("no refresh anywhere").isZero();
    assertThat(tokenRequests(attacker)).isEmpty();
    assertThat(secret(ns, "oidc-alice-example-com")).as("the valid tokens stay until they expire").isEqualTo(before);

    deleteAndAwait(ns, "login");
    assertThat(attacker.revocationCount()).as("no revocation at the new issuer").isZero();
    assertThat(received(attacker, refreshToken)).as("the refresh token never reached the new issuer").isFalse();
    assertThat(original.revocationCount()).isZero();
    assertThat(secret(ns, "oidc-alice-example-com")).as("deletionPolicy Delete").isNull();
    assertThat(Logins.events(client, ns, "login")).as("a Warning Event says why it was not revoked")
        .anyMatch(e -> "Warning".equals(e.getType()) && "RevocationFailed".equals(e.getReason())
            && e.getMessage().contains("could not be revoked") && e.getMessage().contains(attacker.issuer()));
  }

  @Test
  void clientIdEditedUnderAReadyLoginStopsRenewalAndDeletionRevokesNothing() {
    String ns = "re-client-ready";
    FakeIdp idp = idp();
    provider(ns, "corp", idp);
    create(ns, "login", "corp", spec -> spec.setRenewBefore("24s"));
    approve(ns, "login", idp, Claims.user("bob"));

    editProvider(ns, "corp", spec -> spec.setClientId("other-client"));
    DeviceLogin ended = Logins.awaitLogin(client, ns, "login", Logins.reason("ProviderChanged"));
    assertThat(Logins.ready(ended).getMessage()).contains("clientId is now other-client (was cli)");
    assertThat(idp.refreshCount()).isZero();

    deleteAndAwait(ns, "login");
    assertThat(idp.revocationCount()).as("the refresh token is not sent with another client").isZero();
    assertThat(Logins.events(client, ns, "login"))
        .anyMatch(e -> "RevocationFailed".equals(e.getReason()) && e.getMessage().contains("other-client"));
  }

  // ---- attack 4: overwrite or delete another user's token Secret

  @Test
  void aTenantsOwnIdpIssuingTheVictimsSubjectCanNotTakeOverOrDeleteTheVictimsSecret() {
    String ns = "takeover";
    FakeIdp victimIdp = FakeIdp.start().interval(1).tokenLifetime(40);
    idps.add(victimIdp);
    FakeIdp tenantIdp = idp();
    provider(ns, "corp", victimIdp);
    provider(ns, "evil", tenantIdp);
    create(ns, "victim", "corp", spec -> spec.setRenewBefore("26s")); // renewal 14 s after the login
    approve(ns, "victim", victimIdp, Claims.user("alice"));
    Secret victims = secret(ns, "oidc-alice-example-com");

    create(ns, "tenant", "evil", spec -> spec.setSecretName("oidc-alice-example-com"));
    String userCode = Logins.awaitLogin(client, ns, "tenant", Logins.phase(Phase.AwaitingUser)).getStatus()
        .getUserCode();
    tenantIdp.login(userCode).approve(Claims.user("alice")); // the same sub and email, from another issuer
    DeviceLogin refused = Logins.awaitLogin(client, ns, "tenant", Logins.phase(Phase.Failed));

    assertThat(Logins.ready(refused).getReason()).isEqualTo("SecretConflict");
    assertThat(Logins.ready(refused).getMessage())
        .contains("Secret oidc-alice-example-com holds tokens of another issuer (" + victimIdp.issuer() + ")");
    assertThat(secret(ns, "oidc-alice-example-com")).as("unchanged byte for byte").isEqualTo(victims);
    assertThat(tenantIdp.revokedTokens()).as("the tenant's refused tokens are revoked where they came from")
        .containsExactly(tenantIdp.lastLogin().issuedTokens().get(0).refreshToken());
    assertThat(victimIdp.revocationCount()).isZero();

    deleteAndAwait(ns, "tenant");
    assertThat(secret(ns, "oidc-alice-example-com")).as("deleting the tenant's DeviceLogin leaves it")
        .isEqualTo(victims);
    assertThat(victimIdp.revocationCount()).isZero();
    DeviceLogin victim = Logins.awaitLogin(client, ns, "victim", Logins.reason("Refreshed"), Duration.ofSeconds(30));
    assertThat(victim.getStatus().getPhase()).as("still the writer: renewed, not Superseded").isEqualTo(Phase.Ready);
    assertThat(victimIdp.refreshCount()).isEqualTo(1);
  }

  @Test
  void aDeviceLoginDeletedAndRecreatedWithTheSameNameIsNotTheWriterOfTheOldOnesSecret() {
    String ns = "recreate";
    FakeIdp idp = idp();
    provider(ns, "corp", idp);
    create(ns, "alice", "corp", spec -> spec.setDeletionPolicy(DeviceLoginSpec.DeletionPolicy.Retain));
    approve(ns, "alice", idp, Claims.user("alice"));
    deleteAndAwait(ns, "alice");
    Secret retained = secret(ns, "oidc-alice-example-com");
    assertThat(retained).as("deletionPolicy Retain").isNotNull();
    int revocations = idp.revocationCount();

    // the same name again, with a status naming the old Secret (as a restore from a backup would bring back),
    // due for renewal now
    DeviceLogin again = create(ns, "alice", "corp", spec -> { });
    DeviceLoginStatus status = new DeviceLoginStatus();
    status.setPhase(Phase.Ready);
    status.setObservedGeneration(again.getMetadata().getGeneration());
    status.setSecretName("oidc-alice-example-com");
    status.setIdentity(new Identity("alice@example.com", "sub-alice", "alice@example.com", List.of()));
    status.setTokenExpiresAt(Rfc3339.format(Instant.now().plusSeconds(25)));
    status.setRenewalTime(Rfc3339.format(Instant.now()));
    // the operator writes the status of the new login meanwhile: retried on 409
    await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> {
      client.resources(DeviceLogin.class).inNamespace(ns).withName("alice").editStatus(dl -> {
        dl.setStatus(status);
        return dl;
      });
      return true;
    });

    DeviceLogin ended = Logins.awaitLogin(client, ns, "alice", Logins.reason("Superseded"));
    assertThat(ended.getStatus().getPhase()).isEqualTo(Phase.Expired);
    assertThat(idp.refreshCount()).as("the old login's refresh token is not used").isZero();
    assertThat(secret(ns, "oidc-alice-example-com")).isEqualTo(retained);

    deleteAndAwait(ns, "alice");
    assertThat(secret(ns, "oidc-alice-example-com")).as("not deleted by a DeviceLogin that did not write it")
        .isEqualTo(retained);
    assertThat(idp.revocationCount()).as("nor its refresh token revoked").isEqualTo(revocations);
  }

  /**
   * Token Secrets of an earlier operator version have no uid annotation: one owned (controller) by its DeviceLogin
   * stays that DeviceLogin's and is renewed; one without an owner (deletionPolicy Retain) can't be attributed, so its
   * login stops at the renewal and deleting it revokes and deletes nothing.
   */
  @Test
  void tokenSecretsOfAnEarlierVersionAreOursOnlyWithOurControllerOwnerReference() {
    String ns = "legacy";
    FakeIdp idp = idp();
    provider(ns, "corp", idp);
    create(ns, "owned", "corp", spec -> spec.setRenewBefore("24s"));
    create(ns, "retained", "corp", spec -> {
      spec.setRenewBefore("24s");
      spec.setDeletionPolicy(DeviceLoginSpec.DeletionPolicy.Retain);
    });
    approve(ns, "owned", idp, Claims.user("olga"));
    approve(ns, "retained", idp, Claims.user("rita"));
    for (String user : List.of("olga", "rita")) { // as the earlier version wrote them
      client.secrets().inNamespace(ns).withName("oidc-" + user + "-example-com").edit(s -> new SecretBuilder(s)
          .editMetadata().removeFromAnnotations(TokenSecrets.WRITER_UID_ANNOTATION).endMetadata().build());
    }
    Secret retained = secret(ns, "oidc-rita-example-com");

    Logins.awaitLogin(client, ns, "owned", Logins.reason("Refreshed"));
    DeviceLogin stopped = Logins.awaitLogin(client, ns, "retained", Logins.reason("Superseded"));
    assertThat(Logins.ready(stopped).getMessage()).contains("written by an earlier operator version");
    assertThat(idp.refreshCount()).as("only the attributable Secret was refreshed").isEqualTo(1);
    assertThat(secret(ns, "oidc-rita-example-com")).isEqualTo(retained);

    deleteAndAwait(ns, "retained");
    assertThat(secret(ns, "oidc-rita-example-com")).isEqualTo(retained);
    assertThat(idp.revocationCount()).isZero();
    deleteAndAwait(ns, "owned");
    assertThat(idp.revocationCount()).as("its own refresh token is revoked").isEqualTo(1);
    assertThat(secret(ns, "oidc-olga-example-com")).isNull();
  }

  // ---- item 5: grant Secrets checked before they are read, written or deleted; recovery re-checks the identity

  @Test
  void aSecretPlantedAtTheGrantSecretsNameIsNeverReadOverwrittenOrDeleted() {
    String ns = "planted-grant";
    FakeIdp idp = idp();
    provider(ns, "corp", idp);
    String plantedCode = "planted-device-code-" + System.nanoTime();
    planted.add(plantedCode);
    Map<String, String> grantData = Map.of("grant-id", "g-planted", "generation", "1", "issuer-url", idp.issuer(),
        "client-id", CLIENT_ID, "device-code", plantedCode, "user-code", "PLNT-CODE", "verification-uri",
        "https://phish.example/device", "expires-at", Instant.now().plusSeconds(600).toString(), "interval-seconds",
        "1");
    Map<String, String> encoded = new java.util.HashMap<>();
    grantData.forEach((k, v) -> encoded.put(k, Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8))));
    List<Secret> plantedSecrets = new ArrayList<>();
    for (String type : List.of("Opaque", GrantStore.TYPE)) {
      String name = GrantStore.TYPE.equals(type) ? "typed" : "opaque";
      plantedSecrets.add(client.secrets().inNamespace(ns).resource(new SecretBuilder().withNewMetadata()
          .withName("devicelogin-grant-" + name).endMetadata().withType(type).withData(encoded).build()).create());
      create(ns, name, "corp", spec -> { });
    }
    for (Secret plantedSecret : plantedSecrets) {
      String name = plantedSecret.getMetadata().getName().substring("devicelogin-grant-".length());
      DeviceLogin refused = Logins.awaitLogin(client, ns, name, Logins.phase(Phase.Failed));
      assertThat(Logins.ready(refused).getReason()).isEqualTo("SecretConflict");
      assertThat(Logins.ready(refused).getMessage()).startsWith("Secret " + plantedSecret.getMetadata().getName()
          + " already exists and is not this DeviceLogin's grant Secret");
      assertThat(refused.getStatus().getUserCode()).as("the planted user code is not published").isNull();
    }
    assertThat(idp.requestsTo(idp.deviceAuthorizationEndpoint())).as("no grant started").isEmpty();
    assertThat(tokenRequests(idp)).as("the planted device code is not polled").isEmpty();
    for (Secret plantedSecret : plantedSecrets) {
      String name = plantedSecret.getMetadata().getName();
      assertThat(secret(ns, name)).as(name + " not overwritten").isEqualTo(plantedSecret);
      deleteAndAwait(ns, name.substring("devicelogin-grant-".length()));
      assertThat(secret(ns, name)).as(name + " not deleted").isEqualTo(plantedSecret);
    }
  }

  /**
   * After a restart, the token Secret of a login's grant (as a crash between the Secret write and the status write
   * leaves it) is checked again before the login is recorded Ready: one holding someone else's ID token is refused and
   * deleted, its refresh token revoked at the login's own issuer; one naming another issuer is refused and deleted with
   * nothing sent anywhere.
   */
  @Test
  void aRestartedOperatorFindingATokenSecretOfSomeoneElseOrAnotherIssuerRefusesItAndDeletesIt() {
    FakeIdp idp = idp();
    FakeIdp elsewhere = idp();
    String otherUser = "restart-other-user";
    String otherIssuer = "restart-other-issuer";
    for (String ns : List.of(otherUser, otherIssuer)) {
      provider(ns, "corp", idp);
      create(ns, "login", "corp", spec -> spec.setUser("alice@example.com"));
      Logins.awaitLogin(client, ns, "login", Logins.phase(Phase.AwaitingUser));
    }
    fixture.stopOperator();
    String bobsRefreshToken = "planted-refresh-bob-" + System.nanoTime();
    try {
      // put there by someone with write access to Secrets, or left by an older operator
      plantTokens(otherUser, null, "bob", bobsRefreshToken);
      plantTokens(otherIssuer, elsewhere.issuer(), "alice", "planted-refresh-alice-" + System.nanoTime());
    } finally {
      fixture.startOperator();
    }
    List<Integer> polls = idp.logins().stream().map(l -> l.pollCount()).toList();

    DeviceLogin refused = Logins.awaitLogin(client, otherUser, "login", Logins.phase(Phase.Failed));
    assertThat(Logins.ready(refused).getReason()).isEqualTo("IdentityMismatch");
    assertThat(Logins.ready(refused).getMessage()).contains("'bob@example.com'")
        .contains("spec.user is 'alice@example.com'")
        .contains("Secret oidc-alice-example-com was deleted and its refresh token revoked");
    assertThat(refused.getStatus().getSecretName()).as("never recorded as the login's Secret").isNull();
    DeviceLogin foreign = Logins.awaitLogin(client, otherIssuer, "login", Logins.phase(Phase.Failed));
    assertThat(Logins.ready(foreign).getReason()).isEqualTo("ProviderChanged");
    assertThat(Logins.ready(foreign).getMessage())
        .contains("does not hold tokens issued by " + idp.issuer() + " to client id " + CLIENT_ID)
        .contains("nothing was revoked");
    for (String ns : List.of(otherUser, otherIssuer)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> secret(ns, "oidc-alice-example-com") == null);
    }
    assertThat(idp.revokedTokens()).as("only the attributable refresh token is revoked")
        .containsExactly(bobsRefreshToken);
    assertThat(elsewhere.requests()).as("nothing sent to the issuer the Secret names").isEmpty();
    assertThat(idp.logins().stream().map(l -> l.pollCount()).toList()).as("the used device codes are not polled")
        .isEqualTo(polls);
    assertThat(idp.logins()).hasSize(2);
  }

  /**
   * Writes the token Secret of the login's grant holding an ID token of {@code user}, recording {@code issuer} (null:
   * the grant's) and the grant's client id.
   */
  private static void plantTokens(String ns, String issuer, String user, String refreshToken) {
    DeviceLogin login = Logins.get(client, ns, "login");
    StartedGrant grant = new GrantStore(client, new ApiSecrets(client)).find(login).orElseThrow();
    String recordedIssuer = issuer == null ? grant.issuerUrl() : issuer;
    Instant now = Instant.now();
    String idToken = new PlainJWT(new JWTClaimsSet.Builder().issuer(recordedIssuer).audience(CLIENT_ID)
        .subject("sub-" + user).claim("email", user + "@example.com").claim("email_verified", true)
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plusSeconds(300))).build()).serialize();
    String accessToken = "planted-access-" + System.nanoTime();
    planted.addAll(List.of(idToken, refreshToken, accessToken));
    new TokenSecrets(client, new ApiSecrets(client)).write(TokenSecrets.build(login, "oidc-alice-example-com",
        new ProviderConfig(URI.create(recordedIssuer), grant.clientId(), null, null, List.of("openid")),
        new Identity(user + "@example.com", "sub-" + user, user + "@example.com", List.of()),
        new IssuedTokens(idToken, accessToken, refreshToken, now.plusSeconds(300), now, Map.of()), grant.id()), null);
  }
}
