package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderRef;
import io.devicelogin.operator.api.v1alpha1.ProviderResource;
import io.devicelogin.operator.flow.TenancyPolicy;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Applies {@link TenancyPolicy} to a DeviceLogin and the provider it names: reads the labels of the login's namespace
 * (for a ClusterIdentityProvider's namespaceSelector) from an informer on Namespaces, which also wakes the logins of a
 * namespace whose labels change.
 */
final class TenancyRules {

  private static final String CLUSTER_PROVIDER_NAMESPACE_INDEX = "cluster-provider-namespace";

  private final KubernetesClient client;
  private InformerEventSource<Namespace, DeviceLogin> namespaces;

  TenancyRules(KubernetesClient client) {
    this.client = client;
  }

  /** The Namespace informer: a change of a namespace's labels wakes its DeviceLogins naming a ClusterIdentityProvider. */
  InformerEventSource<Namespace, DeviceLogin> eventSource(EventSourceContext<DeviceLogin> context) {
    context.getPrimaryCache().addIndexer(CLUSTER_PROVIDER_NAMESPACE_INDEX, login -> namesClusterProvider(login)
        ? List.of(login.getMetadata().getNamespace()) : List.of());
    namespaces = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Namespace.class, DeviceLogin.class)
            .withName("namespaces")
            .withWatchAllNamespaces()
            .withSecondaryToPrimaryMapper(namespace -> context.getPrimaryCache()
                .byIndex(CLUSTER_PROVIDER_NAMESPACE_INDEX, namespace.getMetadata().getName()).stream()
                .map(ResourceID::fromResource)
                .collect(Collectors.toSet()))
            .withOnUpdateFilter(TenancyRules::labelsChanged)
            .build(),
        context);
    return namespaces;
  }

  /** The rule {@code login} breaks by using {@code provider}, or empty. */
  Optional<TenancyPolicy.Violation> check(DeviceLogin login, ProviderResource provider) {
    IdentityProviderRef ref = login.getSpec().getIdentityProviderRef();
    String namespace = login.getMetadata().getNamespace();
    return TenancyPolicy.check(login.getSpec(), namespace, ref.effectiveKind().name() + " " + ref.getName(),
        provider.getSpec(), () -> labels(namespace));
  }

  /**
   * From the cache; a namespace the cache has not seen yet (its watch event may come after its DeviceLogin's) is read
   * from the API server. A namespace that does not exist has no labels.
   */
  private Map<String, String> labels(String name) {
    Namespace namespace = namespaces.get(new ResourceID(name))
        .orElseGet(() -> client.namespaces().withName(name).get());
    return namespace == null || namespace.getMetadata().getLabels() == null
        ? Map.of() : namespace.getMetadata().getLabels();
  }

  private static boolean namesClusterProvider(DeviceLogin login) {
    IdentityProviderRef ref = login.getSpec() == null ? null : login.getSpec().getIdentityProviderRef();
    return ref != null && ref.effectiveKind() == IdentityProviderRef.Kind.ClusterIdentityProvider;
  }

  private static boolean labelsChanged(HasMetadata newNamespace, HasMetadata oldNamespace) {
    return !Objects.equals(newNamespace.getMetadata().getLabels(), oldNamespace.getMetadata().getLabels());
  }
}
