package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProvider;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderRef;
import io.devicelogin.operator.api.v1alpha1.ProviderResource;
import io.devicelogin.operator.flow.TenancyPolicy;
import io.devicelogin.operator.idp.ProviderConfig;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The provider a DeviceLogin names, from informer caches (no API request per reconcile), resolved and checked against
 * its tenancy rules. A provider that is created, deleted or whose spec changes wakes the DeviceLogins that name it
 * (status-only changes do not: thousands of logins may share one provider).
 */
final class Providers {

  private static final String PROVIDER_INDEX = "provider";

  /** A provider, and whether and how it can be used (the resource is null when it does not exist). */
  record Provider(ProviderResource resource, ProviderResolution resolution) {

    /** The provider's configuration, or null when it is not ready. */
    ProviderConfig config() {
      return resolution instanceof ProviderResolution.Ready ready ? ready.config() : null;
    }

    /** The provider's configuration with the login's own scopes (spec.scopes), or null when it is not ready. */
    ProviderConfig config(DeviceLogin login) {
      List<String> scopes = login.getSpec().getScopes();
      return config() == null || scopes == null || scopes.isEmpty() ? config() : config().withScopes(scopes);
    }
  }

  private final ProviderResolver resolver;
  private final TenancyRules tenancy;
  private InformerEventSource<IdentityProvider, DeviceLogin> identityProviders;
  private InformerEventSource<ClusterIdentityProvider, DeviceLogin> clusterIdentityProviders;

  Providers(ProviderResolver resolver, TenancyRules tenancy) {
    this.resolver = resolver;
    this.tenancy = tenancy;
  }

  List<EventSource<?, DeviceLogin>> eventSources(EventSourceContext<DeviceLogin> context) {
    context.getPrimaryCache().addIndexer(PROVIDER_INDEX, login -> List.of(providerKey(login)));
    identityProviders = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(IdentityProvider.class, DeviceLogin.class)
            .withName("identityproviders")
            .withNamespacesInheritedFromController()
            .withSecondaryToPrimaryMapper(provider -> loginsNaming(context, IdentityProviderRef.Kind.IdentityProvider,
                provider.getMetadata().getNamespace(), provider.getMetadata().getName()))
            .withOnUpdateFilter(Providers::specChanged)
            .build(),
        context);
    clusterIdentityProviders = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(ClusterIdentityProvider.class, DeviceLogin.class)
            .withName("clusteridentityproviders")
            .withWatchAllNamespaces()
            .withSecondaryToPrimaryMapper(provider -> loginsNaming(context,
                IdentityProviderRef.Kind.ClusterIdentityProvider, null, provider.getMetadata().getName()))
            .withOnUpdateFilter(Providers::specChanged)
            .build(),
        context);
    return List.of(identityProviders, clusterIdentityProviders, tenancy.eventSource(context));
  }

  private static boolean specChanged(HasMetadata newProvider, HasMetadata oldProvider) {
    return !Objects.equals(newProvider.getMetadata().getGeneration(), oldProvider.getMetadata().getGeneration());
  }

  private static Set<ResourceID> loginsNaming(
      EventSourceContext<DeviceLogin> context, IdentityProviderRef.Kind kind, String namespace, String name) {
    return context.getPrimaryCache().byIndex(PROVIDER_INDEX, providerKey(kind, namespace, name)).stream()
        .map(ResourceID::fromResource)
        .collect(Collectors.toSet());
  }

  /** The provider a DeviceLogin names, as an index key: kind, then namespace (IdentityProvider only) and name. */
  private static String providerKey(DeviceLogin login) {
    IdentityProviderRef ref = login.getSpec() == null ? null : login.getSpec().getIdentityProviderRef();
    if (ref == null) {
      return "";
    }
    return providerKey(ref.effectiveKind(), login.getMetadata().getNamespace(), ref.getName());
  }

  private static String providerKey(IdentityProviderRef.Kind kind, String namespace, String name) {
    return kind == IdentityProviderRef.Kind.ClusterIdentityProvider ? kind + "/" + name
        : kind + "/" + namespace + "/" + name;
  }

  /** The provider the login names, from the informer caches, or null when it does not exist. */
  private ProviderResource resource(DeviceLogin login) {
    IdentityProviderRef ref = login.getSpec().getIdentityProviderRef();
    return ref.effectiveKind() == IdentityProviderRef.Kind.ClusterIdentityProvider
        ? clusterIdentityProviders.get(new ResourceID(ref.getName())).orElse(null)
        : identityProviders.get(new ResourceID(ref.getName(), login.getMetadata().getNamespace())).orElse(null);
  }

  /** The tenancy rule the login breaks with the provider it names (none while that provider does not exist). */
  Optional<TenancyPolicy.Violation> tenancyViolation(DeviceLogin login) {
    ProviderResource resource = resource(login);
    // a missing or unreadable provider is reported by resolving it (ProviderNotReady), not judged by rules it can't
    // show
    return resource == null || resource.readProblem() != null ? Optional.empty() : tenancy.check(login, resource);
  }

  Provider provider(DeviceLogin login) {
    IdentityProviderRef ref = login.getSpec().getIdentityProviderRef();
    ProviderResource resource = resource(login);
    if (resource == null) {
      String where = ref.effectiveKind() == IdentityProviderRef.Kind.ClusterIdentityProvider
          ? "ClusterIdentityProvider " + ref.getName()
          : "IdentityProvider " + ref.getName() + " in namespace " + login.getMetadata().getNamespace();
      return new Provider(null, new ProviderResolution.NotReady(
          "NotFound", where + " does not exist; create it or fix spec.identityProviderRef", false));
    }
    return new Provider(resource, resolver.resolve(resource, false));
  }
}
