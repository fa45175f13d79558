package io.devicelogin.operator.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.core.type.TypeReference;
import io.fabric8.kubernetes.api.model.DefaultKubernetesResourceList;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.lang.reflect.Field;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import org.junit.jupiter.api.Test;

/**
 * Objects written against newer CRDs, or by a newer operator (a rollback), read by this version: unknown fields are
 * ignored anywhere, and a spec or status that can't be read marks the object instead of failing the list that carries
 * every other object (which would stop the informer and the operator).
 */
class TolerantResourceTest {

  /** The serialization fabric8 clients use (informers, JOSDK's clone of the primary resource). */
  private final KubernetesSerialization serialization = new KubernetesSerialization();

  private static final String NEWER_LOGIN = """
      {"apiVersion": "devicelogin.io/v1alpha1", "kind": "DeviceLogin",
       "metadata": {"name": "alice", "namespace": "team-a", "uid": "u-1", "generation": 2},
       "newTopLevel": {"x": 1},
       "spec": {"identityProviderRef": {"name": "corp", "kind": "IdentityProvider", "newRefField": "x"},
                "user": "alice@example.com", "grant": "AuthorizationCode", "renewBefore": "5m"},
       "status": {"phase": "Ready", "futureUrl": "https://idp.example/authorize",
                  "identity": {"username": "alice@example.com", "newIdentityField": [1, 2]},
                  "conditions": [{"type": "Ready", "status": "True", "reason": "Issued", "newConditionField": true}],
                  "newStatusObject": {"failedAttempts": 3}}}
      """;

  @Test
  void unknownFieldsInSpecStatusAndNestedObjectsAreIgnored() {
    DeviceLogin login = serialization.unmarshal(NEWER_LOGIN, DeviceLogin.class);

    assertThat(login.readProblem()).isNull();
    assertThat(login.getSpec().getUser()).isEqualTo("alice@example.com");
    assertThat(login.getSpec().getRenewBefore()).isEqualTo("5m");
    assertThat(login.getSpec().getIdentityProviderRef().getName()).isEqualTo("corp");
    assertThat(login.getStatus().getPhase()).isEqualTo(Phase.Ready);
    assertThat(login.getStatus().getIdentity().getUsername()).isEqualTo("alice@example.com");
    assertThat(login.getStatus().getConditions()).singleElement()
        .satisfies(c -> assertThat(c.getReason()).isEqualTo("Issued"));
    assertThat(serialization.asJson(login)).doesNotContain("newTopLevel", "grant", "futureUrl");
  }

  @Test
  void aSpecWithAnUnknownEnumValueIsKeptUnreadAndNamedWithoutItsValue() {
    String json = NEWER_LOGIN.replace("\"renewBefore\": \"5m\"", "\"deletionPolicy\": \"ArchiveSecretly\"");

    DeviceLogin login = serialization.unmarshal(json, DeviceLogin.class);

    assertThat(login.readProblem())
        .isEqualTo("spec.deletionPolicy has a value this operator version does not know")
        .doesNotContain("ArchiveSecretly");
    assertThat(login.getSpec()).isNull();
    assertThat(login.getMetadata().getName()).isEqualTo("alice");
    assertThat(login.getStatus().getPhase()).isEqualTo(Phase.Ready);
    // written back as it came, so a clone (JOSDK clones every primary) or a patch diff keeps it and its problem
    assertThat(serialization.asJson(login)).contains("ArchiveSecretly");
    DeviceLogin clone = serialization.clone(login);
    assertThat(clone.readProblem()).isEqualTo(login.readProblem());
    assertThat(serialization.asJson(clone)).isEqualTo(serialization.asJson(login));
  }

  @Test
  void aStatusOfANewerOperatorThatCantBeReadMarksTheObjectAndKeepsTheSpec() {
    String json = NEWER_LOGIN.replace("\"phase\": \"Ready\"", "\"phase\": \"Verifying\"");

    DeviceLogin login = serialization.unmarshal(json, DeviceLogin.class);

    assertThat(login.readProblem()).isEqualTo("status.phase has a value this operator version does not know");
    assertThat(login.getSpec().getUser()).isEqualTo("alice@example.com");
    assertThat(serialization.asJson(login)).contains("Verifying");
  }

  @Test
  void aChangedTypeIsNamedByItsPath() {
    String json = NEWER_LOGIN.replace("\"user\": \"alice@example.com\"", "\"user\": {\"email\": \"a@b\"}");

    DeviceLogin login = serialization.unmarshal(json, DeviceLogin.class);

    assertThat(login.readProblem()).isEqualTo("spec.user does not have the type this operator version expects");
  }

  @Test
  void oneUnreadableObjectDoesNotFailTheListOfAllOthers() {
    String good = """
        {"apiVersion": "devicelogin.io/v1alpha1", "kind": "IdentityProvider",
         "metadata": {"name": "good", "namespace": "team-a"},
         "spec": {"issuerUrl": "https://idp.example", "clientId": "cli", "requireUser": true,
                  "namespaceSelector": {"matchLabels": {"a": "b"}}}}
        """;
    String bad = good.replace("\"good\"", "\"bad\"")
        .replace("\"requireUser\": true", "\"allowInsecureHttp\": \"sometimes\"");
    String list = "{\"apiVersion\": \"devicelogin.io/v1alpha1\", \"kind\": \"IdentityProviderList\", "
        + "\"metadata\": {\"resourceVersion\": \"7\"}, \"items\": [" + good + "," + bad + "]}";

    DefaultKubernetesResourceList<IdentityProvider> providers = serialization.unmarshal(
        new ByteArrayInputStream(list.getBytes(StandardCharsets.UTF_8)),
        new TypeReference<DefaultKubernetesResourceList<IdentityProvider>>() {});

    assertThat(providers.getItems()).extracting(p -> p.getMetadata().getName()).containsExactly("good", "bad");
    assertThat(providers.getItems().get(0).readProblem()).isNull();
    assertThat(providers.getItems().get(0).getSpec().getClientId()).isEqualTo("cli");
    assertThat(providers.getItems().get(1).readProblem()).startsWith("spec.allowInsecureHttp ");
  }

  /**
   * Every class reachable from the three kinds' spec and status ignores unknown fields: a new model class without it
   * would bring the informer-stopping failure back for the next field added to it.
   */
  @Test
  void everyModelClassIgnoresUnknownFields() {
    Set<Class<?>> seen = new HashSet<>();
    Deque<Class<?>> todo = new ArrayDeque<>(List.of(
        DeviceLoginSpec.class, DeviceLoginStatus.class, IdentityProviderSpec.class, IdentityProviderStatus.class));
    while (!todo.isEmpty()) {
      Class<?> type = todo.pop();
      if (!seen.add(type)) {
        continue;
      }
      assertThat(type.getAnnotation(JsonIgnoreProperties.class))
          .as(type.getSimpleName() + " must be @JsonIgnoreProperties(ignoreUnknown = true)")
          .isNotNull()
          .satisfies(a -> assertThat(a.ignoreUnknown()).isTrue());
      for (Class<?> c = type; c != Object.class; c = c.getSuperclass()) {
        for (Field field : c.getDeclaredFields()) {
          modelTypes(field.getGenericType(), todo);
        }
      }
    }
    assertThat(seen).contains(Condition.class, Identity.class, IdentityProviderRef.class, SecretKeyReference.class);
  }

  private static void modelTypes(Type type, Deque<Class<?>> todo) {
    if (type instanceof ParameterizedType parameterized) {
      for (Type argument : parameterized.getActualTypeArguments()) {
        modelTypes(argument, todo);
      }
    } else if (type instanceof Class<?> c && c.getPackage() == DeviceLogin.class.getPackage() && !c.isEnum()) {
      todo.push(c);
    }
  }
}
