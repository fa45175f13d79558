package io.devicelogin.operator.upgrade;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compares the CRDs installed in the cluster with the ones this operator was built with. A CRD older than the operator
 * lacks fields the operator uses, and the API server silently drops those fields from every object a user writes: a
 * provider's new setting would quietly not exist. So a kind whose installed schema lacks a field is reported (at start,
 * in a metric, and in the conditions of the objects the operator then leaves alone) until the CRD is upgraded.
 *
 * <p>Checked at start and again, at most once per {@link #RECHECK_AFTER_MILLIS}, when a reconcile asks: an upgraded CRD
 * is noticed within a minute without a watch on CRDs (the operator may only GET its own three by name).
 */
public final class InstalledCrds implements CrdSchemas {

  /** How long one reading of the installed CRDs is trusted. */
  public static final long RECHECK_AFTER_MILLIS = 60_000;

  private static final Logger LOG = LoggerFactory.getLogger(InstalledCrds.class);

  /** The plural.group names of the operator's CRDs, as the classpath carries them under {@code crds/}. */
  private static final List<String> NAMES = List.of(
      "devicelogins." + Constants.GROUP, "identityproviders." + Constants.GROUP,
      "clusteridentityproviders." + Constants.GROUP);

  private final KubernetesClient client;
  private final Map<String, Set<String>> expected;
  private final Map<String, List<String>> missing = new ConcurrentHashMap<>();
  private final Set<String> unreadable = ConcurrentHashMap.newKeySet();
  private volatile long checkedAt = Long.MIN_VALUE;

  /**
   * @param expected per CRD name, the field paths of the schema the operator was built with
   */
  InstalledCrds(KubernetesClient client, Map<String, Set<String>> expected, MeterRegistry registry) {
    this.client = client;
    this.expected = Map.copyOf(expected);
    for (String name : NAMES) {
      Gauge.builder("devicelogin.crd.outdated", missing, m -> m.getOrDefault(name, List.of()).isEmpty() ? 0 : 1)
          .description("1 while the installed CRD lacks fields this operator version uses (upgrade the CRDs)")
          .tag("crd", name)
          .register(registry);
    }
  }

  /** With the schemas this operator was built with (its own {@code crds/}, on the classpath). */
  public static InstalledCrds of(KubernetesClient client, MeterRegistry registry) {
    Map<String, Set<String>> expected = new java.util.HashMap<>();
    for (String name : NAMES) {
      expected.put(name, fields(bundled(name)));
    }
    return new InstalledCrds(client, expected, registry);
  }

  private static CustomResourceDefinition bundled(String name) {
    try (InputStream in = InstalledCrds.class.getResourceAsStream("/crds/" + name + "-v1.yml")) {
      if (in == null) {
        throw new IllegalStateException("the operator jar lacks crds/" + name + "-v1.yml");
      }
      return Serialization.unmarshal(new String(in.readAllBytes(), StandardCharsets.UTF_8),
          CustomResourceDefinition.class);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Reads the installed CRDs now; logs what changed since the last reading. */
  public void check() {
    checkedAt = System.currentTimeMillis();
    for (String name : NAMES) {
      CustomResourceDefinition installed;
      try {
        installed = client.apiextensions().v1().customResourceDefinitions().withName(name).get();
      } catch (KubernetesClientException e) {
        // RBAC of an older chart, or a passing API error: nothing known, nothing held back
        missing.remove(name);
        if (unreadable.add(name)) {
          LOG.warn("Cannot read the CustomResourceDefinition {} ({}); not checking whether it is current", name,
              e.getCode() == 0 ? e.getMessage() : "HTTP " + e.getCode());
        }
        continue;
      }
      unreadable.remove(name);
      List<String> lacking = installed == null ? List.of() : lacking(expected.get(name), fields(installed));
      List<String> before = missing.put(name, lacking);
      if (!lacking.equals(before == null ? List.of() : before)) {
        if (lacking.isEmpty()) {
          LOG.info("The CustomResourceDefinition {} is current now", name);
        } else {
          LOG.warn("The installed CustomResourceDefinition {} is older than this operator: it lacks {}. The API "
              + "server drops these fields from every object, so the operator leaves objects that need them alone "
              + "until the CRDs are upgraded ({})", name, lacking, HOW_TO_UPGRADE);
        }
      }
    }
  }

  /** How a person upgrades the CRDs; named in log lines and conditions. */
  public static final String HOW_TO_UPGRADE =
      "helm upgrade with crds.enabled=true (the default), or kubectl apply -f crds/ of this operator's release";

  /**
   * The fields of {@code kind}'s schema the installed CRD lacks (empty when it is current or can't be read); reads the
   * CRDs again when the last reading is older than {@link #RECHECK_AFTER_MILLIS}.
   */
  @Override
  public List<String> missingFields(Class<? extends HasMetadata> kind) {
    if (System.currentTimeMillis() - checkedAt > RECHECK_AFTER_MILLIS) {
      synchronized (this) {
        if (System.currentTimeMillis() - checkedAt > RECHECK_AFTER_MILLIS) {
          check();
        }
      }
    }
    return missing.getOrDefault(HasMetadata.getPlural(kind) + "." + HasMetadata.getGroup(kind), List.of());
  }

  /** What a condition says while {@code kind}'s CRD lacks {@code fields}. */
  public static String outdatedMessage(Class<? extends HasMetadata> kind, List<String> fields) {
    String crd = HasMetadata.getPlural(kind) + "." + HasMetadata.getGroup(kind);
    return "The installed CustomResourceDefinition " + crd + " is older than this operator and lacks " + fields
        + "; the API server drops these fields, so the operator does not act on this object until the CRD is "
        + "upgraded: " + HOW_TO_UPGRADE + ".";
  }

  /** Every field path of the served version's schema: {@code spec.scopes[]}, {@code status.identity.groups[]}… */
  static Set<String> fields(CustomResourceDefinition crd) {
    Set<String> fields = new TreeSet<>();
    for (CustomResourceDefinitionVersion version : crd.getSpec().getVersions()) {
      if (Constants.VERSION.equals(version.getName()) && version.getSchema() != null) {
        collect("", version.getSchema().getOpenAPIV3Schema(), fields);
      }
    }
    return fields;
  }

  private static void collect(String path, JSONSchemaProps schema, Set<String> fields) {
    if (schema == null) {
      return;
    }
    if (schema.getProperties() != null) {
      schema.getProperties().forEach((name, property) -> {
        String child = path.isEmpty() ? name : path + "." + name;
        fields.add(child);
        collect(child, property, fields);
      });
    }
    if (schema.getItems() != null) {
      collect(path + "[]", schema.getItems().getSchema(), fields);
    }
    if (schema.getAdditionalProperties() != null) {
      collect(path + "{}", schema.getAdditionalProperties().getSchema(), fields);
    }
  }

  private static List<String> lacking(Set<String> wanted, Set<String> installed) {
    List<String> lacking = new ArrayList<>();
    for (String field : wanted) {
      // a field under one already listed adds nothing a person needs to know
      if (!installed.contains(field) && lacking.stream().noneMatch(l -> field.startsWith(l + ".")
          || field.startsWith(l + "[]") || field.startsWith(l + "{}"))) {
        lacking.add(field);
      }
    }
    return List.copyOf(lacking);
  }
}
