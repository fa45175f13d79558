package io.devicelogin.operator.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The indexed CRUD store must answer exactly as fabric8's stock one: the same seeded random requests (create, get,
 * replace, merge patch, delete with and without finalizers, lists by namespace and label) go to both, and every
 * answer — status code, stored data, labels, finalizers, deletion mark, names listed — must be the same. Names are
 * shared between kinds and namespaces so that the index has to tell them apart.
 */
class IndexedCrudDispatcherTest {

  private static final long SEED = 4242;
  private static final int OPERATIONS = 1500;

  @Test
  void answersEveryRequestAsTheStockCrudStore() {
    KubernetesMockServer stock = start(new KubernetesCrudDispatcher());
    KubernetesMockServer indexed = start(new IndexedCrudDispatcher());
    try (KubernetesClient stockClient = stock.createClient();
        KubernetesClient indexedClient = indexed.createClient()) {
      List<String> expected = run(stockClient, new Random(SEED));
      List<String> actual = run(indexedClient, new Random(SEED));
      for (int i = 0; i < expected.size(); i++) {
        assertThat(actual.get(i)).as("operation %d (seed %d)", i, SEED).isEqualTo(expected.get(i));
      }
      assertThat(actual).hasSameSizeAs(expected);
      // The sequence reaches every kind of answer, so the comparison is not vacuous.
      Map<String, Long> outcomes = expected.stream()
          .map(line -> line.substring(line.indexOf("->") + 3).split(" ")[0])
          .collect(Collectors.groupingBy(o -> o, TreeMap::new, Collectors.counting()));
      assertThat(outcomes).containsKeys("200", "404", "409", "list");
      assertThat(expected).anyMatch(line -> line.contains("deleting=true"));
      assertThat(expected).anyMatch(line -> line.startsWith("2 ") && line.contains("-> 200 data={k="));
    } finally {
      stock.destroy();
      indexed.destroy();
    }
  }

  private static KubernetesMockServer start(KubernetesCrudDispatcher dispatcher) {
    KubernetesMockServer server =
        new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
    server.init(InetAddress.getLoopbackAddress(), 0);
    return server;
  }

  private static List<String> run(KubernetesClient client, Random random) {
    List<String> log = new ArrayList<>();
    for (int i = 0; i < OPERATIONS; i++) {
      String namespace = "ns-" + random.nextInt(3);
      String name = "obj-" + random.nextInt(12);
      int kind = random.nextInt(3);
      int op = random.nextInt(8);
      String what = op + " " + kindName(kind) + " " + (kind == 2 ? "" : namespace + "/") + name;
      log.add(what + " -> " + outcome(() -> apply(client, random, kind, op, namespace, name)));
    }
    return log;
  }

  private static String kindName(int kind) {
    return switch (kind) {
      case 0 -> "configmap";
      case 1 -> "secret";
      default -> "namespace";
    };
  }

  private static String apply(KubernetesClient client, Random random, int kind, int op, String namespace,
      String name) {
    String value = "v" + random.nextInt(1000);
    String label = "l" + random.nextInt(2);
    HasMetadata object = switch (kind) {
      case 0 -> new ConfigMapBuilder().withNewMetadata().withName(name).withNamespace(namespace)
          .addToLabels("group", label).endMetadata().addToData("k", value).build();
      case 1 -> new SecretBuilder().withNewMetadata().withName(name).withNamespace(namespace)
          .addToLabels("group", label).endMetadata()
          .addToData("k", java.util.Base64.getEncoder().encodeToString(value.getBytes())).build();
      default -> new NamespaceBuilder().withNewMetadata().withName(name).addToLabels("group", label).endMetadata()
          .build();
    };
    var resource = client.resource(object);
    return switch (op) {
      case 0, 1 -> "200 " + describe(resource.create());
      case 2 -> {
        HasMetadata found = resource.get();
        yield found == null ? "404" : "200 " + describe(found);
      }
      case 3 -> {
        HasMetadata found = resource.get();
        if (found == null) {
          yield "404";
        }
        object.getMetadata().setResourceVersion(found.getMetadata().getResourceVersion());
        object.getMetadata().setFinalizers(found.getMetadata().getFinalizers());
        yield "200 " + describe(resource.update());
      }
      case 4 -> "200 " + describe(resource.patch(PatchContext.of(PatchType.JSON_MERGE),
          "{\"metadata\":{\"labels\":{\"patched\":\"" + value + "\"}}}"));
      case 5 -> "200 " + describe(resource.patch(PatchContext.of(PatchType.JSON_MERGE),
          "{\"metadata\":{\"finalizers\":" + (random.nextBoolean() ? "[\"test/keep\"]" : "[]") + "}}"));
      case 6 -> "200 deleted=" + resource.delete().size();
      default -> "list " + list(client, kind, namespace, label);
    };
  }

  private static String list(KubernetesClient client, int kind, String namespace, String label) {
    List<? extends HasMetadata> items = switch (kind) {
      case 0 -> client.configMaps().inNamespace(namespace).withLabel("group", label).list().getItems();
      case 1 -> client.secrets().inNamespace(namespace).list().getItems();
      default -> client.namespaces().withLabel("group", label).list().getItems();
    };
    return items.stream().map(o -> o.getMetadata().getName()).sorted().toList().toString();
  }

  private static String describe(HasMetadata object) {
    Object data = object instanceof ConfigMap cm ? cm.getData()
        : object instanceof Secret secret ? secret.getData()
        : object instanceof Namespace ? "-" : object;
    return "data=" + data + " labels=" + new TreeMap<>(object.getMetadata().getLabels()) + " finalizers="
        + object.getMetadata().getFinalizers() + " deleting=" + (object.getMetadata().getDeletionTimestamp() != null);
  }

  private static String outcome(Callable<String> call) {
    try {
      return call.call();
    } catch (KubernetesClientException e) {
      return String.valueOf(e.getCode());
    } catch (Exception e) {
      return e.getClass().getSimpleName();
    }
  }
}
