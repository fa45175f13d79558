package io.devicelogin.operator.secret;

import io.devicelogin.operator.testing.ApiSecrets;
import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginSpec;
import io.devicelogin.operator.flow.Grant;
import io.devicelogin.operator.idp.IdpLimits;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

@EnableKubernetesMockClient(crud = true, kubernetesClientBuilderCustomizer = GrantStoreTest.JdkHttp.class)
class GrantStoreTest {

  /**
   * Both the JDK and the Vert.x HTTP client are on the classpath and fabric8 picks one at random; the extension
   * also builds a client (and mock server) before every test. Pinning the JDK client keeps this class fast and
   * deterministic.
   */
  public static class JdkHttp implements Consumer<KubernetesClientBuilder> {
    @Override
    public void accept(KubernetesClientBuilder builder) {
      builder.withHttpClientFactory(new JdkHttpClientFactory());
    }
  }

  static KubernetesClient client;

  static final Instant EXPIRES = Instant.parse("2025-03-01T10:10:00Z");
  static final String DEVICE_CODE = "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS";

  /** Each test gets its own namespace: the mock server's state is shared by the class. */
  static DeviceLogin login(String namespace, String name, String uid) {
    DeviceLogin login = new DeviceLogin();
    login.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).withUid(uid)
        .withGeneration(2L).build());
    login.setSpec(new DeviceLoginSpec());
    return login;
  }

  static DeviceLogin login() {
    return login("ns-" + UUID.randomUUID().toString().substring(0, 8), "alice", UUID.randomUUID().toString());
  }

  static Grant grant(URI complete) {
    return new Grant("grant-42", 2, "restart-1", "https://idp.example/realms/corp", "kubectl", DEVICE_CODE, "WDJB-MJHT",
        URI.create("https://idp.example/device"), complete, EXPIRES, Duration.ofSeconds(5));
  }

  Secret stored(DeviceLogin login) {
    return client.secrets().inNamespace(login.getMetadata().getNamespace())
        .withName(GrantStore.secretName(login)).get();
  }

  // Few, scenario-sized tests: the extension starts a mock server for every test method.

  @Test
  void aFreshStoreFindsTheSavedGrantAfterARestart() {
    DeviceLogin login = login();
    Grant grant = grant(URI.create("https://idp.example/device?user_code=WDJB-MJHT"));
    GrantStore store = new GrantStore(client, new ApiSecrets(client));
    assertThat(store.find(login)).as("nothing stored yet").isEmpty();
    store.save(login, grant);

    assertThat(new GrantStore(client, new ApiSecrets(client)).find(login)).as("after restart").contains(grant);

    // saving again (slow_down made the interval longer) updates the Secret
    Grant slower = grant.withInterval(Duration.ofSeconds(15));
    store.save(login, slower);
    assertThat(store.find(login)).contains(slower);
    assertThat(new GrantStore(client, new ApiSecrets(client)).find(login)).as("after restart").contains(slower);

    // a grant without verification_uri_complete
    DeviceLogin other = login(login.getMetadata().getNamespace(), "bob", UUID.randomUUID().toString());
    new GrantStore(client, new ApiSecrets(client)).save(other, grant(null));
    assertThat(new GrantStore(client, new ApiSecrets(client)).find(other)).contains(grant(null));
    assertThat(stored(other).getData()).doesNotContainKey("verification-uri-complete");

    // very long DeviceLogin names still give a valid Secret name
    DeviceLogin longName = login(login.getMetadata().getNamespace(), "a".repeat(253), UUID.randomUUID().toString());
    assertThat(GrantStore.secretName(longName))
        .hasSizeLessThanOrEqualTo(253).matches(NamesTest.DNS1123_SUBDOMAIN);
    new GrantStore(client, new ApiSecrets(client)).save(longName, grant(null));
    assertThat(new GrantStore(client, new ApiSecrets(client)).find(longName)).contains(grant(null));
  }

  @Test
  void onlyASecretOwnedByThisVeryDeviceLoginIsPickedUp() {
    DeviceLogin old = login();
    new GrantStore(client, new ApiSecrets(client)).save(old, grant(null));
    // same namespace and name, new object (deleted and re-created): a different uid
    DeviceLogin recreated = login(old.getMetadata().getNamespace(), "alice", UUID.randomUUID().toString());
    assertThat(new GrantStore(client, new ApiSecrets(client)).find(recreated)).isEmpty();
    assertThat(new GrantStore(client, new ApiSecrets(client)).find(old)).isPresent();

    // a Secret of that name that nobody owns, or that has no data
    DeviceLogin planted = login();
    String namespace = planted.getMetadata().getNamespace();
    client.secrets().inNamespace(namespace).resource(new SecretBuilder()
        .withNewMetadata().withName(GrantStore.secretName(planted)).endMetadata()
        .addToData("device-code", Base64.getEncoder().encodeToString("planted".getBytes()))
        .build()).create();
    assertThat(new GrantStore(client, new ApiSecrets(client)).find(planted)).isEmpty();
    DeviceLogin empty = login(namespace, "carol", UUID.randomUUID().toString());
    client.secrets().inNamespace(namespace).resource(new SecretBuilder()
        .withNewMetadata().withName(GrantStore.secretName(empty))
        .addNewOwnerReference().withApiVersion("devicelogin.io/v1alpha1").withKind("DeviceLogin").withName("carol")
        .withUid(empty.getMetadata().getUid()).endOwnerReference().endMetadata()
        .build()).create();
    assertThat(new GrantStore(client, new ApiSecrets(client)).find(empty)).isEmpty();
  }

  @Test
  void anOwnedButUnreadableGrantSecretReadsAsNoGrantAndIsReplacedByTheNextSave() {
    DeviceLogin login = login();
    GrantStore store = new GrantStore(client, new ApiSecrets(client));
    store.save(login, grant(null));
    String namespace = login.getMetadata().getNamespace();
    Secret good = stored(login);

    Map<String, String> badExpiry = new java.util.HashMap<>(good.getData());
    badExpiry.put("expires-at", Base64.getEncoder().encodeToString("next tuesday".getBytes()));
    Map<String, String> missingKey = new java.util.HashMap<>(good.getData());
    missingKey.remove("interval-seconds");
    Map<String, String> notBase64 = new java.util.HashMap<>(good.getData());
    notBase64.put("generation", "%%%");
    Map<String, String> noIssuer = new java.util.HashMap<>(good.getData()); // an older operator's grant
    noIssuer.remove("issuer-url");
    for (Map<String, String> data : List.of(Map.<String, String>of(), badExpiry, missingKey, notBase64, noIssuer)) {
      client.secrets().inNamespace(namespace).resource(new SecretBuilder(good).editMetadata()
          .withResourceVersion(null).endMetadata().withData(data).build()).update();
      assertThat(new GrantStore(client, new ApiSecrets(client)).find(login)).as("data %s", data.keySet()).isEmpty();
    }

    Grant fresh = grant(null).withInterval(Duration.ofSeconds(7));
    new GrantStore(client, new ApiSecrets(client)).save(login, fresh);
    assertThat(new GrantStore(client, new ApiSecrets(client)).find(login)).contains(fresh);
  }

  @Test
  void aGrantAtItsBoundsIsStoredAndReadBack() {
    DeviceLogin login = login();
    Grant largest = new Grant("grant-42", 2, "restart-1", "https://idp.example/realms/corp", "kubectl",
        "d".repeat(IdpLimits.MAX_TOKEN_CHARS), "W".repeat(IdpLimits.MAX_USER_CODE_CHARS),
        URI.create("https://idp.example/device"), URI.create("https://idp.example/device?user_code=WDJB-MJHT"), EXPIRES,
        Duration.ofSeconds(5));
    new GrantStore(client, new ApiSecrets(client)).save(login, largest);
    assertThat(SecretBounds.fits(stored(login))).isTrue();
    assertThat(new GrantStore(client, new ApiSecrets(client)).find(login)).contains(largest);
  }

  @Test
  void deleteRemovesTheSecret() {
    DeviceLogin login = login();
    GrantStore store = new GrantStore(client, new ApiSecrets(client));
    store.save(login, grant(null));
    assertThat(stored(login)).isNotNull();
    assertThat(store.find(login)).contains(grant(null));

    store.delete(login);
    assertThat(stored(login)).isNull();
    assertThat(store.find(login)).isEmpty();
    assertThat(new GrantStore(client, new ApiSecrets(client)).find(login)).isEmpty();
    store.delete(login); // idempotent
  }

  @Test
  void theSecretIsOwnedByTheDeviceLoginAndHoldsTheDeviceCodeOnlyInItsData() {
    DeviceLogin login = login();
    new GrantStore(client, new ApiSecrets(client)).save(login, grant(URI.create("https://idp.example/device?user_code=WDJB-MJHT")));
    Secret secret = stored(login);

    assertThat(secret.getMetadata().getName()).isEqualTo("devicelogin-grant-alice");
    assertThat(secret.getType()).isEqualTo("devicelogin.io/device-grant");
    assertThat(secret.getMetadata().getLabels())
        .containsEntry("app.kubernetes.io/managed-by", "devicelogin-operator")
        .containsEntry("devicelogin.io/component", "device-grant");
    assertThat(secret.getMetadata().getOwnerReferences()).singleElement().satisfies(ref -> {
      assertThat(ref.getUid()).isEqualTo(login.getMetadata().getUid());
      assertThat(ref.getKind()).isEqualTo("DeviceLogin");
      assertThat(ref.getApiVersion()).isEqualTo("devicelogin.io/v1alpha1");
      assertThat(ref.getName()).isEqualTo("alice");
      assertThat(ref.getController()).isTrue();
    });
    assertThat(new String(Base64.getDecoder().decode(secret.getData().get("device-code"))))
        .isEqualTo(DEVICE_CODE);
    assertThat(new String(Base64.getDecoder().decode(secret.getData().get("issuer-url"))))
        .isEqualTo("https://idp.example/realms/corp");
    assertThat(new String(Base64.getDecoder().decode(secret.getData().get("client-id")))).isEqualTo("kubectl");

    // nowhere else: not in metadata, not in plain text anywhere in the object
    assertThat(Serialization.asJson(secret.getMetadata())).doesNotContain(DEVICE_CODE);
    assertThat(Serialization.asJson(secret)).doesNotContain(DEVICE_CODE);
    assertThat(secret.getStringData()).isNullOrEmpty();
    Secret withoutData = new SecretBuilder(secret).withData(Map.of()).build();
    assertThat(Serialization.asJson(withoutData))
        .doesNotContain(DEVICE_CODE)
        .doesNotContain(Base64.getEncoder().encodeToString(DEVICE_CODE.getBytes()));
  }

  /**
   * A Secret at the grant Secret's name that is not this DeviceLogin's grant Secret (another type, not controlled by
   * it): never read as a grant, overwritten or deleted, even when it carries a complete grant's data.
   */
  @Test
  void aForeignSecretAtTheGrantNameIsNeverReadOverwrittenOrDeleted() {
    DeviceLogin model = login();
    new GrantStore(client, new ApiSecrets(client)).save(model, grant(null));
    Map<String, String> grantData = stored(model).getData();
    String namespace = model.getMetadata().getNamespace();
    int n = 0;
    Map<String, String> oversized = new java.util.HashMap<>(grantData);
    oversized.put("padding", "p".repeat(SecretBounds.MAX_DATA_CHARS));
    for (String variant : List.of("Opaque, controlled by the login", "grant type, controlled by another uid",
        "grant type, owned by the login but not as controller", "grant type, no owner",
        "grant type, controlled by the login, larger than the operator writes")) {
      DeviceLogin login = login(namespace, "victim-" + n++, UUID.randomUUID().toString());
      String ownerUid = variant.contains("another uid") ? UUID.randomUUID().toString() : login.getMetadata().getUid();
      SecretBuilder planted = new SecretBuilder().withNewMetadata().withName(GrantStore.secretName(login))
          .endMetadata().withType(variant.startsWith("Opaque") ? "Opaque" : "devicelogin.io/device-grant")
          .withData(variant.contains("larger") ? oversized : grantData);
      if (!variant.endsWith("no owner")) {
        planted.editMetadata().addNewOwnerReference().withApiVersion("devicelogin.io/v1alpha1").withKind("DeviceLogin")
            .withName(login.getMetadata().getName()).withUid(ownerUid).withController(!variant.contains("not as"))
            .endOwnerReference().endMetadata();
      }
      Secret before = client.secrets().inNamespace(namespace).resource(planted.build()).create();
      GrantStore store = new GrantStore(client, new ApiSecrets(client));

      assertThat(store.find(login)).as(variant + ": not read as a grant").isEmpty();
      assertThat(store.foreignSecret(login)).as(variant).hasValueSatisfying(message -> assertThat(message)
          .startsWith("Secret " + GrantStore.secretName(login) + " already exists and is not this DeviceLogin's "
              + "grant Secret")
          .doesNotContain(DEVICE_CODE));
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> store.save(login, grant(null))).as(variant)
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("it was not written over");
      store.delete(login);
      assertThat(stored(login)).as(variant + ": left exactly as it was").isEqualTo(before);
    }

    // this DeviceLogin's own grant Secret replaced by someone else's after it was stored: the next save (slow_down)
    // refuses to write over it and does not read it as the grant
    DeviceLogin login = login(namespace, "replaced", UUID.randomUUID().toString());
    GrantStore store = new GrantStore(client, new ApiSecrets(client));
    store.save(login, grant(null));
    assertThat(store.foreignSecret(login)).as("its own grant Secret").isEmpty();
    client.secrets().inNamespace(namespace).withName(GrantStore.secretName(login)).delete();
    Secret before = client.secrets().inNamespace(namespace).resource(new SecretBuilder().withNewMetadata()
        .withName(GrantStore.secretName(login)).endMetadata().withType("Opaque").addToData("k", "dg==").build())
        .create();
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> store.save(login, grant(null).withInterval(Duration.ofSeconds(10))))
        .isInstanceOf(IllegalStateException.class);
    assertThat(store.find(login)).isEmpty();
    store.delete(login);
    assertThat(stored(login)).isEqualTo(before);

    // its own grant Secret deleted by someone: saved again (created), not an endless conflict
    DeviceLogin gone = login(namespace, "gone", UUID.randomUUID().toString());
    GrantStore goneStore = new GrantStore(client, new ApiSecrets(client));
    goneStore.save(gone, grant(null));
    client.secrets().inNamespace(namespace).withName(GrantStore.secretName(gone)).delete();
    goneStore.save(gone, grant(null).withInterval(Duration.ofSeconds(10)));
    assertThat(new GrantStore(client, new ApiSecrets(client)).find(gone)).contains(grant(null).withInterval(Duration.ofSeconds(10)));
  }
}
