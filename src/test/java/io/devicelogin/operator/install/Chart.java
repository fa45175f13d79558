package io.devicelogin.operator.install;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** charts/devicelogin-operator rendered by the helm library bundled in helm-java, parsed with fabric8. */
final class Chart {

  static final Path DIR = Path.of("charts", "devicelogin-operator");
  static final String RELEASE = "devicelogin-operator";
  static final String NAMESPACE = "devicelogin-system";

  private final List<HasMetadata> objects;

  private Chart(List<HasMetadata> objects) {
    this.objects = objects;
  }

  /** {@code helm template devicelogin-operator charts/devicelogin-operator -n devicelogin-system [-f values]}. */
  static Chart render(String valuesYaml) {
    return parse(renderYaml(valuesYaml));
  }

  static String renderYaml(String valuesYaml) {
    TemplateCommand template = new Helm(DIR).template().withName(RELEASE).withNamespace(NAMESPACE);
    if (valuesYaml != null) {
      try {
        Path values = Files.createTempFile(Path.of("target"), "values", ".yaml");
        Files.writeString(values, valuesYaml);
        template.withValuesFile(values);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return template.call();
  }

  static Chart parse(String yaml) {
    List<HasMetadata> objects = new ArrayList<>();
    for (String document : yaml.split("(?m)^---\\s*$")) {
      boolean empty = document.lines().allMatch(l -> l.isBlank() || l.trim().startsWith("#"));
      if (!empty) {
        objects.add(Serialization.unmarshal(document, HasMetadata.class));
      }
    }
    return new Chart(objects);
  }

  List<HasMetadata> objects() {
    return objects;
  }

  <T extends HasMetadata> List<T> all(Class<T> type) {
    return objects.stream().filter(type::isInstance).map(type::cast).toList();
  }

  List<HasMetadata> kind(String kind) {
    return objects.stream().filter(o -> kind.equals(o.getKind())).toList();
  }

  <T extends HasMetadata> T one(Class<T> type) {
    List<T> found = all(type);
    if (found.size() != 1) {
      throw new AssertionError("expected one " + type.getSimpleName() + ", found " + found.size());
    }
    return found.get(0);
  }

  <T extends HasMetadata> Optional<T> find(Class<T> type, String namespace, String name) {
    return all(type).stream()
        .filter(o -> Objects.equals(namespace, o.getMetadata().getNamespace()) && name.equals(o.getMetadata().getName()))
        .findFirst();
  }
}
