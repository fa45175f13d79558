package io.devicelogin.operator.install;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * operator/ (the kustomize base) is the chart with default values, without Helm's own labels, plus a Namespace and
 * the CRDs. After changing the chart: {@code mvn -B test -Dtest=OperatorBaseTest -Doperator.update=true}.
 */
class OperatorBaseTest {

  static final Path BASE = Path.of("operator");
  static final Path MANIFEST = BASE.resolve("devicelogin-operator.yaml");

  /**
   * The chart's default rendering as the base holds it: Helm's labels and source comments dropped, and without the
   * CRDs, which the base lists from its own crds/ (first, so that kubectl and GitOps tools apply them before the
   * operator that needs them).
   */
  static String chartDefaultsWithoutHelmLabels() {
    StringBuilder out = new StringBuilder("# Generated from charts/devicelogin-operator with default values; do not edit.\n"
        + "# Regenerate: mvn -B test -Dtest=OperatorBaseTest -Doperator.update=true\n");
    for (String line : Chart.renderYaml("crds: {enabled: false}").split("\n", -1)) {
      String trimmed = line.trim();
      if (trimmed.startsWith("helm.sh/chart:") || trimmed.equals("app.kubernetes.io/managed-by: Helm")
          || trimmed.startsWith("# Source:")) {
        continue;
      }
      out.append(line).append('\n');
    }
    return out.toString().stripTrailing() + "\n";
  }

  @BeforeAll
  static void updateOnRequest() throws IOException {
    if (Boolean.getBoolean("operator.update")) {
      Files.writeString(MANIFEST, chartDefaultsWithoutHelmLabels());
    }
  }

  @Test
  void baseEqualsTheChartDefaultsObjectByObject() throws IOException {
    String expected = chartDefaultsWithoutHelmLabels();
    Map<String, JsonNode> fromChart = byKey(Chart.parse(expected).objects());
    Map<String, JsonNode> fromBase = byKey(baseObjects());
    assertThat(fromBase.keySet()).as("objects in operator/ (besides Namespace and CRDs); regenerate with "
        + "-Doperator.update=true").isEqualTo(fromChart.keySet());
    fromChart.forEach((key, object) -> assertThat(fromBase.get(key)).as("%s in operator/", key).isEqualTo(object));
    assertThat(Chart.parse(Files.readString(MANIFEST)).objects())
        .allSatisfy(o -> assertThat(o.getMetadata().getLabels()).doesNotContainKeys("helm.sh/chart",
            "app.kubernetes.io/managed-by"));
  }

  @Test
  void kustomizationListsTheNamespaceAndTheCrdsBeforeTheManifest() throws IOException {
    List<String> resources = resources();
    List<String> crdFiles;
    try (var crds = Files.list(BASE.resolve("crds"))) {
      crdFiles = crds.map(f -> "crds/" + f.getFileName()).sorted().toList();
    }
    List<String> expected = new ArrayList<>(List.of("namespace.yaml"));
    expected.addAll(crdFiles);
    expected.add("devicelogin-operator.yaml");
    assertThat(resources).as("kubectl apply -k and GitOps tools apply in this order").isEqualTo(expected);
    assertThat(Files.readString(MANIFEST)).doesNotContain("CustomResourceDefinition");
    Namespace namespace = Serialization.unmarshal(Files.readString(BASE.resolve("namespace.yaml")), Namespace.class);
    assertThat(namespace.getMetadata().getName()).isEqualTo(Chart.NAMESPACE);
  }

  /** With kubectl on the PATH, {@code kubectl kustomize operator} builds the same objects. */
  @Test
  void kubectlKustomizeBuildsTheSameObjects() throws Exception {
    Process process;
    try {
      process = new ProcessBuilder("kubectl", "kustomize", BASE.toString()).redirectErrorStream(false).start();
    } catch (IOException e) {
      Assumptions.abort("kubectl is not installed: " + e.getMessage());
      return;
    }
    String yaml = new String(process.getInputStream().readAllBytes());
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as(new String(process.getErrorStream().readAllBytes())).isZero();
    List<HasMetadata> built = new ArrayList<>(Chart.parse(yaml).objects());
    assertThat(built).filteredOn(o -> o instanceof CustomResourceDefinition).hasSize(3);
    assertThat(built).filteredOn(o -> o instanceof Namespace).hasSize(1);
    built.removeIf(o -> o instanceof CustomResourceDefinition || o instanceof Namespace);
    assertThat(byKey(built)).isEqualTo(byKey(Chart.parse(chartDefaultsWithoutHelmLabels()).objects()));
  }

  private static List<String> resources() throws IOException {
    JsonNode kustomization = Serialization.yamlMapper().readTree(Files.readString(BASE.resolve("kustomization.yaml")));
    List<String> resources = new ArrayList<>();
    kustomization.get("resources").forEach(r -> resources.add(r.asText()));
    return resources;
  }

  /** The objects the kustomization lists, except the Namespace and the CRDs (covered by CrdsInSyncTest). */
  private static List<HasMetadata> baseObjects() throws IOException {
    List<HasMetadata> objects = new ArrayList<>();
    for (String resource : resources()) {
      if (resource.startsWith("crds/") || resource.equals("namespace.yaml")) {
        continue;
      }
      objects.addAll(Chart.parse(Files.readString(BASE.resolve(resource))).objects());
    }
    return objects;
  }

  private static Map<String, JsonNode> byKey(List<HasMetadata> objects) {
    Map<String, JsonNode> byKey = new TreeMap<>();
    for (HasMetadata o : objects) {
      String key = o.getKind() + "/" + o.getMetadata().getNamespace() + "/" + o.getMetadata().getName();
      assertThat(byKey.put(key, Serialization.jsonMapper().valueToTree(o))).as("duplicate %s", key).isNull();
    }
    return byKey;
  }
}
