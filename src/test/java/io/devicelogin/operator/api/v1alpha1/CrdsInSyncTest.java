package io.devicelogin.operator.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * crds/ must be exactly what the build generates from the Java model. The generator sorts printer columns by name;
 * kubectl shows them in file order, so the committed CRDs keep the order the annotations are declared in.
 *
 * <p>The Helm chart and the GitOps base carry byte-identical copies of crds/ ({@link #COPIES}).
 *
 * <p>After changing the model: {@code mvn -B test -Dtest=CrdsInSyncTest -Dcrds.update=true} rewrites crds/ and the
 * copies.
 */
class CrdsInSyncTest {

  private static final Path GENERATED = Path.of(System.getProperty("crd.generated.dir", "target/generated-crds"));
  private static final Path COMMITTED = Path.of("crds");
  /** Copies of crds/ that must stay identical to it: the Helm chart's and the kustomize base's. */
  static final List<Path> COPIES =
      List.of(Path.of("charts", "devicelogin-operator", "files", "crds"), Path.of("operator", "crds"));

  @ParameterizedTest
  @ValueSource(classes = {DeviceLogin.class, IdentityProvider.class, ClusterIdentityProvider.class})
  void committedCrdMatchesTheJavaModel(Class<? extends HasMetadata> type) throws IOException {
    String file = HasMetadata.getFullResourceName(type) + "-v1.yml";
    CustomResourceDefinition expected = withDeclaredColumnOrder(
        Serialization.unmarshal(Files.readString(GENERATED.resolve(file)), CustomResourceDefinition.class), type);
    Path committed = COMMITTED.resolve(file);
    if (Boolean.getBoolean("crds.update")) {
      Files.createDirectories(COMMITTED);
      String yaml = "# Generated from the Java model by the build; do not edit.\n"
          + "# Regenerate: mvn -B test -Dtest=CrdsInSyncTest -Dcrds.update=true\n" + Serialization.asYaml(expected);
      Files.writeString(committed, yaml);
      for (Path copy : COPIES) {
        Files.createDirectories(copy);
        Files.writeString(copy.resolve(file), yaml);
      }
    }
    assertThat(committed)
        .as("crds/%s is missing; run mvn -B test -Dtest=CrdsInSyncTest -Dcrds.update=true", file)
        .exists();
    CustomResourceDefinition actual =
        Serialization.unmarshal(Files.readString(committed), CustomResourceDefinition.class);
    assertThat(actual)
        .as("crds/%s differs from the Java model; run mvn -B test -Dtest=CrdsInSyncTest -Dcrds.update=true", file)
        .isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(classes = {DeviceLogin.class, IdentityProvider.class, ClusterIdentityProvider.class})
  void helmChartAndGitOpsBaseCarryTheSameCrd(Class<? extends HasMetadata> type) throws IOException {
    String file = HasMetadata.getFullResourceName(type) + "-v1.yml";
    String committed = Files.readString(COMMITTED.resolve(file));
    for (Path copy : COPIES) {
      assertThat(copy.resolve(file))
          .as("%s/%s differs from crds/%s; run mvn -B test -Dtest=CrdsInSyncTest -Dcrds.update=true", copy, file, file)
          .exists()
          .hasContent(committed);
    }
  }

  @Test
  void copiesHoldNoOtherCrd() throws IOException {
    for (Path copy : COPIES) {
      try (var files = Files.list(copy)) {
        try (var expected = Files.list(COMMITTED)) {
          assertThat(files.map(f -> f.getFileName().toString()).sorted().toList()).as("files in %s", copy)
              .isEqualTo(expected.map(f -> f.getFileName().toString()).sorted().toList());
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(classes = {DeviceLogin.class, IdentityProvider.class, ClusterIdentityProvider.class})
  void everySchemaPropertyHasADescription(Class<? extends HasMetadata> type) throws IOException {
    String file = HasMetadata.getFullResourceName(type) + "-v1.yml";
    var schema = Serialization.jsonMapper().valueToTree(
        Serialization.unmarshal(Files.readString(COMMITTED.resolve(file)), CustomResourceDefinition.class)
            .getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema());
    List<String> undocumented = new java.util.ArrayList<>();
    for (String top : List.of("spec", "status")) {
      if (!schema.get("properties").get(top).has("description")) {
        undocumented.add("." + top);
      }
    }
    collectUndocumented(schema.get("properties").get("spec"), ".spec", undocumented);
    collectUndocumented(schema.get("properties").get("status"), ".status", undocumented);
    assertThat(undocumented).as("fields without a description in %s", file).isEmpty();
  }

  private static void collectUndocumented(
      com.fasterxml.jackson.databind.JsonNode node, String path, List<String> undocumented) {
    var properties = node.get("properties");
    if (properties == null) {
      return;
    }
    properties.fields().forEachRemaining(entry -> {
      String child = path + "." + entry.getKey();
      if (!entry.getValue().has("description")) {
        undocumented.add(child);
      }
      collectUndocumented(entry.getValue(), child, undocumented);
      if (entry.getValue().has("items")) {
        collectUndocumented(entry.getValue().get("items"), child + "[]", undocumented);
      }
    });
  }

  private static CustomResourceDefinition withDeclaredColumnOrder(
      CustomResourceDefinition crd, Class<? extends HasMetadata> type) {
    List<String> declared = Arrays.stream(type.getAnnotationsByType(AdditionalPrinterColumn.class))
        .map(AdditionalPrinterColumn::name)
        .toList();
    crd.getSpec().getVersions().forEach(version -> version.getAdditionalPrinterColumns()
        .sort(Comparator.comparingInt((CustomResourceColumnDefinition c) -> declared.indexOf(c.getName()))));
    return crd;
  }
}
