package io.devicelogin.operator.secret;

import static io.devicelogin.operator.secret.TokenSecretsTest.ALICE;
import static io.devicelogin.operator.secret.TokenSecretsTest.NOW;
import static io.devicelogin.operator.secret.TokenSecretsTest.login;
import static io.devicelogin.operator.secret.TokenSecretsTest.provider;
import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginSpec;
import io.devicelogin.operator.idp.IdpLimits;
import io.devicelogin.operator.idp.IssuedTokens;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntryBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SecretBoundsTest {

  private static final DeviceLogin LOGIN = login(DeviceLoginSpec.DeletionPolicy.Delete, null);

  /** The largest token Secret the operator writes: every token and the CA bundle at their bounds. */
  private static Secret largestTokenSecret() {
    String token = "t".repeat(IdpLimits.MAX_TOKEN_CHARS);
    IssuedTokens tokens = new IssuedTokens(token, token, token, Instant.parse("2025-03-01T11:00:00.123Z"), NOW,
        Map.of("sub", ALICE.getSubject()));
    return TokenSecrets.build(LOGIN, "oidc-alice", provider("c".repeat(64 * 1024)), ALICE, tokens, "grant-7");
  }

  private static Secret withData(Secret secret, int chars) {
    return new SecretBuilder(secret).addToData("padding", "p".repeat(chars)).build();
  }

  @Test
  void whatTheOperatorWritesFitsAtEveryBound() {
    Secret largest = largestTokenSecret();
    assertThat(SecretBounds.fits(largest)).isTrue();
    assertThat(SecretBounds.kept(largest)).as("kept as it is").isSameAs(largest);

    assertThat(SecretBounds.MAX_DATA_CHARS).as("about 378 KiB").isBetween(370 * 1024, 384 * 1024);
  }

  @Test
  void aLabelledSecretThatCanNotBeTheOperatorsIsKeptAsAStubWithoutData() {
    Secret written = TokenSecrets.build(LOGIN, "oidc-alice", provider(null), ALICE, TokenSecretsTest.tokens("r"), "g");
    Secret oversized = withData(written, 512 * 1024);
    Secret opaque = new SecretBuilder(written).withType("Opaque").build();
    Secret noData = new SecretBuilder(written).withData(null).build();
    Secret stringData = new SecretBuilder(written).addToStringData("id-token", "x").build();
    Secret bigAnnotation = new SecretBuilder(written).editMetadata()
        .addToAnnotations("note", "n".repeat(SecretBounds.MAX_METADATA_CHARS)).endMetadata().build();
    Secret bigUsername = new SecretBuilder(oversized).editMetadata()
        .addToAnnotations("devicelogin.io/username", "u".repeat(200_000)).endMetadata().build();
    for (Secret secret : new Secret[] {oversized, opaque, noData, stringData, bigAnnotation, bigUsername}) {
      assertThat(SecretBounds.fits(secret)).isFalse();
      Secret stub = SecretBounds.kept(secret);
      assertThat(stub.getData()).isNullOrEmpty();
      assertThat(stub.getStringData()).isNullOrEmpty();
      assertThat(stub.getMetadata().getLabels()).isNullOrEmpty();
      assertThat(stub.getMetadata().getAnnotations()).doesNotContainKey("note");
      assertThat(stub.getType()).isEqualTo(secret.getType());
      assertThat(SecretBounds.fits(stub)).as("a stub is never the operator's").isFalse();
      assertThat(TokenSecrets.writtenBy(stub, LOGIN)).isFalse();
      assertThat(TokenSecrets.conflict(stub, written)).startsWith("Secret oidc-alice already exists and is not a "
          + "DeviceLogin token Secret");
    }
    Secret stub = SecretBounds.kept(oversized);
    assertThat(stub.getMetadata().getAnnotations()).as("the annotations the operator reads, if short")
        .containsEntry("devicelogin.io/devicelogin-uid", "uid-123").containsEntry("devicelogin.io/grant-id", "g");
    assertThat(stub.getMetadata().getOwnerReferences()).hasSize(1);
    assertThat(SecretBounds.kept(bigUsername).getMetadata().getAnnotations())
        .doesNotContainKey("devicelogin.io/username");
    assertThat(TokenSecrets.writtenBy(oversized, LOGIN)).as("even read whole (a GET), never the operator's")
        .isFalse();
    assertThat(TokenSecrets.conflict(oversized, written)).isEqualTo("Secret oidc-alice already exists and is not a "
        + "DeviceLogin token Secret (its data is missing or larger than the operator writes)");
    Secret longType = new SecretBuilder(oversized).withType("x".repeat(100_000)).build();
    assertThat(SecretBounds.kept(longType).getType()).hasSizeLessThan(100);
  }

  @Test
  void managedFieldsAreNotKept() {
    Secret written = TokenSecrets.build(LOGIN, "oidc-alice", provider(null), ALICE, TokenSecretsTest.tokens("r"), "g");
    Secret withManagedFields = new SecretBuilder(written).editMetadata()
        .addToManagedFields(new ManagedFieldsEntryBuilder().withManager("kubectl").withOperation("Update").build())
        .endMetadata().build();
    Secret kept = SecretBounds.kept(withManagedFields);
    assertThat(kept.getMetadata().getManagedFields()).isEmpty();
    assertThat(kept.getData()).isEqualTo(written.getData());
    assertThat(kept.getMetadata().getAnnotations()).isEqualTo(written.getMetadata().getAnnotations());
    assertThat(withManagedFields.getMetadata().getManagedFields()).as("the informer's object is not changed")
        .hasSize(1);
  }
}
