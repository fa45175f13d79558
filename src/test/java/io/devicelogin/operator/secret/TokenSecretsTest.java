package io.devicelogin.operator.secret;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginSpec;
import io.devicelogin.operator.api.v1alpha1.Identity;
import io.devicelogin.operator.idp.IssuedTokens;
import io.devicelogin.operator.idp.ProviderConfig;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TokenSecretsTest {

  static final Instant NOW = Instant.parse("2025-03-01T10:00:00Z");
  static final String PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n";
  static final Identity ALICE =
      new Identity("Alice.Smith@Example.com", "f81d4fae-7dec", "Alice.Smith@Example.com", List.of("dev"));

  static DeviceLogin login(DeviceLoginSpec.DeletionPolicy policy, String secretName) {
    DeviceLogin login = new DeviceLogin();
    login.setMetadata(new ObjectMetaBuilder().withName("alice-login").withNamespace("team-a").withUid("uid-123")
        .withGeneration(1L).build());
    DeviceLoginSpec spec = new DeviceLoginSpec();
    spec.setDeletionPolicy(policy);
    spec.setSecretName(secretName);
    login.setSpec(spec);
    return login;
  }

  static IssuedTokens tokens(String refreshToken) {
    return new IssuedTokens("eyJhbGciOi.id.token", "access-token-value", refreshToken,
        Instant.parse("2025-03-01T11:00:00.123Z"), NOW, Map.of("sub", "f81d4fae-7dec"));
  }

  static ProviderConfig provider(String caBundle) {
    return new ProviderConfig(URI.create("https://idp.example/realms/corp"), "kubectl", "client-s3cret", caBundle,
        List.of("openid"));
  }

  static String decoded(Secret secret, String key) {
    return new String(Base64.getDecoder().decode(secret.getData().get(key)), StandardCharsets.UTF_8);
  }

  @Test
  void buildsTheContractSecret() {
    DeviceLogin login = login(null, null);
    String name = TokenSecrets.secretName(login, ALICE.getUsername());
    Secret s = TokenSecrets.build(login, name, provider(null), ALICE, tokens("refresh-token-value"), "grant-7");

    assertThat(name).isEqualTo("oidc-alice-smith-example-com");
    assertThat(s.getMetadata().getName()).isEqualTo("oidc-alice-smith-example-com");
    assertThat(s.getMetadata().getNamespace()).isEqualTo("team-a");
    assertThat(s.getType()).isEqualTo("devicelogin.io/oidc-tokens");
    assertThat(s.getData()).containsOnlyKeys(
        "id-token", "refresh-token", "access-token", "expiry", "idp-issuer-url", "client-id");
    assertThat(decoded(s, "id-token")).isEqualTo("eyJhbGciOi.id.token");
    assertThat(decoded(s, "refresh-token")).isEqualTo("refresh-token-value");
    assertThat(decoded(s, "access-token")).isEqualTo("access-token-value");
    assertThat(decoded(s, "expiry")).isEqualTo("2025-03-01T11:00:00Z");
    assertThat(decoded(s, "idp-issuer-url")).isEqualTo("https://idp.example/realms/corp");
    assertThat(decoded(s, "client-id")).isEqualTo("kubectl");
    assertThat(TokenSecrets.value(s, "client-id")).isEqualTo("kubectl");
    assertThat(TokenSecrets.value(s, "idp-certificate-authority-data")).isNull();
    assertThat(s.getStringData()).isNullOrEmpty();

    assertThat(s.getMetadata().getLabels()).containsExactlyInAnyOrderEntriesOf(Map.of(
        "app.kubernetes.io/managed-by", "devicelogin-operator",
        "devicelogin.io/username", "alice-smith-example-com"));
    assertThat(s.getMetadata().getAnnotations())
        .containsEntry("devicelogin.io/username", "Alice.Smith@Example.com")
        .containsEntry("devicelogin.io/subject", "f81d4fae-7dec")
        .containsEntry("devicelogin.io/devicelogin", "alice-login")
        .containsEntry("devicelogin.io/devicelogin-uid", "uid-123")
        .containsEntry(TokenSecrets.GRANT_ANNOTATION, "grant-7");
    // the client secret never goes into the user's Secret
    assertThat(s.toString()).doesNotContain("client-s3cret");
    assertThat(s.getData().values()).noneMatch(v -> decoded(v).contains("client-s3cret"));
  }

  private static String decoded(String base64) {
    return new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
  }

  @Test
  void caDataIsTheBase64PemOnlyWhenTheProviderHasACaBundle() {
    Secret s = TokenSecrets.build(login(null, null), "oidc-a", provider(PEM), ALICE, tokens("r"), "g");
    String value = decoded(s, "idp-certificate-authority-data");
    assertThat(value).isEqualTo(Base64.getEncoder().encodeToString(PEM.getBytes(StandardCharsets.UTF_8)));
    assertThat(new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8)).isEqualTo(PEM);
    assertThat(s.getData()).hasSize(7);
  }

  @Test
  void noRefreshTokenKeyWhenNoneWasIssued() {
    Secret s = TokenSecrets.build(login(null, null), "oidc-a", provider(null), ALICE, tokens(null), "g");
    assertThat(s.getData()).doesNotContainKey("refresh-token").containsKeys("id-token", "access-token");
  }

  @Test
  void ownerReferenceOnlyForDeletionPolicyDelete() {
    for (DeviceLoginSpec.DeletionPolicy policy :
        new DeviceLoginSpec.DeletionPolicy[] {null, DeviceLoginSpec.DeletionPolicy.Delete}) {
      Secret s = TokenSecrets.build(login(policy, null), "oidc-a", provider(null), ALICE, tokens("r"), "g");
      assertThat(s.getMetadata().getOwnerReferences()).as("policy %s", policy).singleElement()
          .satisfies(TokenSecretsTest::referencesTheLogin);
    }
    Secret retained = TokenSecrets.build(
        login(DeviceLoginSpec.DeletionPolicy.Retain, null), "oidc-a", provider(null), ALICE, tokens("r"), "g");
    assertThat(retained.getMetadata().getOwnerReferences()).isNullOrEmpty();
  }

  static void referencesTheLogin(OwnerReference ref) {
    assertThat(ref.getApiVersion()).isEqualTo("devicelogin.io/v1alpha1");
    assertThat(ref.getKind()).isEqualTo("DeviceLogin");
    assertThat(ref.getName()).isEqualTo("alice-login");
    assertThat(ref.getUid()).isEqualTo("uid-123");
    assertThat(ref.getController()).isTrue();
  }

  @Test
  void specSecretNameWinsOverTheDefault() {
    assertThat(TokenSecrets.secretName(login(null, "my-kubeconfig-tokens"), "alice@example.com"))
        .isEqualTo("my-kubeconfig-tokens");
    assertThat(TokenSecrets.secretName(login(null, null), "alice@example.com"))
        .isEqualTo("oidc-alice-example-com");
  }

  @Test
  void usernameLabelIsDnsSafeWithin63Characters() {
    Identity longName = new Identity("x".repeat(300) + "@example.com", "s", null, List.of());
    Secret s = TokenSecrets.build(login(null, null), "oidc-a", provider(null), longName, tokens("r"), "g");
    assertThat(s.getMetadata().getLabels().get("devicelogin.io/username"))
        .hasSizeLessThanOrEqualTo(63).matches(NamesTest.LABEL_VALUE);
    assertThat(s.getMetadata().getAnnotations().get("devicelogin.io/username")).isEqualTo(longName.getUsername());
  }

  @Test
  void valueOfMissingDataIsNull() {
    assertThat(TokenSecrets.value(new Secret(), "id-token")).isNull();
  }

  @Test
  void onlyTokensOfTheSameIssuerClientAndSubjectAreWrittenOverATokenSecret() {
    DeviceLogin login = login(null, "oidc-alice");
    Secret candidate = TokenSecrets.build(login, "oidc-alice", provider(null), ALICE, tokens("r"), "g-2");
    assertThat(TokenSecrets.conflict(null, candidate)).as("no Secret yet").isNull();

    DeviceLogin other = login(null, "oidc-alice");
    other.getMetadata().setName("alice-laptop");
    other.getMetadata().setUid("uid-other");
    Secret sameUserOtherLogin = TokenSecrets.build(other, "oidc-alice", provider(null), ALICE, tokens("r0"), "g-1");
    assertThat(TokenSecrets.conflict(sameUserOtherLogin, candidate))
        .as("the same person through the same issuer and client: the newer login takes it over").isNull();

    ProviderConfig otherIssuer = new ProviderConfig(URI.create("https://evil.example/realms/corp"), "kubectl", null,
        null, List.of("openid"));
    assertThat(TokenSecrets.conflict(
        TokenSecrets.build(other, "oidc-alice", otherIssuer, ALICE, tokens("r0"), "g-1"), candidate))
        .isEqualTo("Secret oidc-alice holds tokens of another issuer (https://evil.example/realms/corp)");
    ProviderConfig otherClient = new ProviderConfig(URI.create("https://idp.example/realms/corp"), "portal", null,
        null, List.of("openid"));
    assertThat(TokenSecrets.conflict(
        TokenSecrets.build(other, "oidc-alice", otherClient, ALICE, tokens("r0"), "g-1"), candidate))
        .isEqualTo("Secret oidc-alice holds tokens of another client (portal)");
    Identity bob = new Identity("bob@example.com", "sub-bob", "bob@example.com", List.of());
    assertThat(TokenSecrets.conflict(
        TokenSecrets.build(other, "oidc-alice", provider(null), bob, tokens("r0"), "g-1"), candidate))
        .isEqualTo("Secret oidc-alice holds the tokens of another user (bob@example.com)");
    Secret noSubject = new SecretBuilder(sameUserOtherLogin).editMetadata()
        .removeFromAnnotations("devicelogin.io/subject").removeFromAnnotations("devicelogin.io/username").endMetadata()
        .build();
    assertThat(TokenSecrets.conflict(noSubject, candidate)).as("a subject that is not recorded is not the same")
        .isEqualTo("Secret oidc-alice holds the tokens of another user");
    Secret opaque = new SecretBuilder(sameUserOtherLogin).withType("Opaque").build();
    assertThat(TokenSecrets.conflict(opaque, candidate))
        .isEqualTo("Secret oidc-alice already exists and is not a DeviceLogin token Secret (type Opaque)");
    // the client secret is never in a conflict message, and neither is a token
    assertThat(TokenSecrets.conflict(
        TokenSecrets.build(other, "oidc-alice", otherIssuer, bob, tokens("r0"), "g-1"), candidate))
        .doesNotContain("client-s3cret", "r0", "access-token-value", "eyJhbGciOi");
  }

  @Test
  void theWriterIsTheDeviceLoginWithTheRecordedUidNotJustTheName() {
    DeviceLogin login = login(DeviceLoginSpec.DeletionPolicy.Delete, null);
    Secret written = TokenSecrets.build(login, "oidc-alice", provider(null), ALICE, tokens("r"), "g");
    assertThat(written.getMetadata().getAnnotations())
        .containsEntry("devicelogin.io/devicelogin-uid", "uid-123")
        .containsEntry("devicelogin.io/devicelogin", "alice-login");
    assertThat(TokenSecrets.writtenBy(written, login)).isTrue();

    DeviceLogin recreated = login(DeviceLoginSpec.DeletionPolicy.Delete, null);
    recreated.getMetadata().setUid("uid-456"); // deleted and created again with the same name
    assertThat(TokenSecrets.writtenBy(written, recreated)).isFalse();
    Secret ownedByRecreated = new SecretBuilder(written).editMetadata()
        .withOwnerReferences(OwnerReferences.controller(recreated)).endMetadata().build();
    assertThat(TokenSecrets.writtenBy(ownedByRecreated, recreated))
        .as("the uid annotation decides, not an owner reference").isFalse();
    assertThat(TokenSecrets.writtenBy(new SecretBuilder(written).withType(GrantStore.TYPE).build(), login))
        .as("only a token Secret").isFalse();
  }

  @Test
  void aSecretOfAnOlderOperatorWithoutTheUidIsOursOnlyIfWeAreItsControllerOwner() {
    DeviceLogin login = login(DeviceLoginSpec.DeletionPolicy.Delete, null);
    Secret legacy = new SecretBuilder(TokenSecrets.build(login, "oidc-alice", provider(null), ALICE, tokens("r"), "g"))
        .editMetadata().removeFromAnnotations("devicelogin.io/devicelogin-uid").endMetadata().build();
    assertThat(TokenSecrets.writtenBy(legacy, login)).as("name and controller owner match").isTrue();

    DeviceLogin recreated = login(DeviceLoginSpec.DeletionPolicy.Delete, null);
    recreated.getMetadata().setUid("uid-456");
    assertThat(TokenSecrets.writtenBy(legacy, recreated)).as("same name, another object").isFalse();

    DeviceLogin retain = login(DeviceLoginSpec.DeletionPolicy.Retain, null);
    Secret legacyRetained = new SecretBuilder(
        TokenSecrets.build(retain, "oidc-alice", provider(null), ALICE, tokens("r"), "g"))
        .editMetadata().removeFromAnnotations("devicelogin.io/devicelogin-uid").endMetadata().build();
    assertThat(legacyRetained.getMetadata().getOwnerReferences()).isNullOrEmpty();
    assertThat(TokenSecrets.writtenBy(legacyRetained, retain))
        .as("without an owner (Retain) it can't be attributed: not taken for ours").isFalse();

    Secret otherName = new SecretBuilder(legacy).editMetadata()
        .addToAnnotations("devicelogin.io/devicelogin", "someone-else").endMetadata().build();
    assertThat(TokenSecrets.writtenBy(otherName, login)).as("owner matches, name does not").isFalse();
    Secret notController = new SecretBuilder(legacy).editMetadata().editFirstOwnerReference().withController(false)
        .endOwnerReference().endMetadata().build();
    assertThat(TokenSecrets.writtenBy(notController, login)).as("an owner that is not the controller").isFalse();
  }

  @Test
  void theRefreshMarkIsSetBeforeARefreshAndGoneWithTheRefreshedTokens() {
    DeviceLogin login = login(null, null);
    Secret written = new io.fabric8.kubernetes.api.model.SecretBuilder(
        TokenSecrets.build(login, "oidc-alice", provider(null), ALICE, tokens("refresh-1"), "grant-7"))
        .editMetadata().withResourceVersion("41").endMetadata().build();
    assertThat(TokenSecrets.refreshStarted(written)).as("a fresh token Secret has no refresh in flight").isNull();

    Secret marked = TokenSecrets.withRefreshStarted(written, "2025-03-01T10:40:00Z", "operator-0/instance-a");
    assertThat(TokenSecrets.refreshStarted(marked)).isEqualTo("2025-03-01T10:40:00Z");
    assertThat(TokenSecrets.refreshStartedBy(marked, "operator-0/instance-a")).as("the instance that set it").isTrue();
    assertThat(TokenSecrets.refreshStartedBy(marked, "operator-0/instance-b")).as("a restarted process").isFalse();
    assertThat(marked.getMetadata().getAnnotations()).as("the other annotations are kept")
        .containsAllEntriesOf(written.getMetadata().getAnnotations());
    assertThat(marked.getMetadata().getResourceVersion()).as("the update is refused if the Secret changed")
        .isEqualTo("41");
    assertThat(marked.getData()).as("only metadata changes; no token in the mark").isEqualTo(written.getData());
    assertThat(TokenSecrets.refreshStarted(written)).as("the original is not changed").isNull();

    Secret refreshed = TokenSecrets.withRefreshedTokens(marked, tokens("refresh-2"));
    assertThat(TokenSecrets.refreshStarted(refreshed)).as("the same update that stores the tokens clears it").isNull();
    assertThat(refreshed.getMetadata().getAnnotations()).doesNotContainKey(TokenSecrets.REFRESH_STARTED_BY_ANNOTATION);
    assertThat(decoded(refreshed, "refresh-token")).isEqualTo("refresh-2");
    assertThat(refreshed.getMetadata().getAnnotations()).containsKeys("devicelogin.io/grant-id",
        "devicelogin.io/subject", "devicelogin.io/devicelogin", "devicelogin.io/username");

    Secret latest = new io.fabric8.kubernetes.api.model.SecretBuilder(marked).editMetadata().withResourceVersion("42")
        .endMetadata().build();
    Secret stored = TokenSecrets.withTokenData(latest, refreshed.getData());
    assertThat(TokenSecrets.refreshStarted(stored)).isNull();
    assertThat(stored.getData()).isEqualTo(refreshed.getData());
    assertThat(stored.getMetadata().getResourceVersion()).isEqualTo("42");

    Secret answered = TokenSecrets.withoutRefreshStarted(marked);
    assertThat(TokenSecrets.refreshStarted(answered)).isNull();
    assertThat(answered.getData()).isEqualTo(written.getData());
    assertThat(TokenSecrets.withoutRefreshStarted(new Secret()).getMetadata().getAnnotations())
        .as("nothing to remove is fine").isNullOrEmpty();
  }
}
