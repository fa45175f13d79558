package io.devicelogin.operator.secret;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.informers.cache.BasicItemStore;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The operator's own Secrets (grant and token Secrets, label {@code app.kubernetes.io/managed-by}), read from
 * informers instead of GETs and LISTs. What this process writes is put in front of the informer's cache at once
 * (JOSDK's recent-write cache), so the next reconcile reads its own writes. A Secret someone else wrote under such a
 * name without the label is not seen here: every write is a create (refused if the name is taken) or an update
 * conditional on the resourceVersion read, so a stale or missing cache entry makes a write fail, never overwrite.
 *
 * <p>Anyone who may create Secrets in a watched namespace can also put the label on them: the cache keeps a labelled
 * Secret whole only if it can be the operator's ({@link SecretBounds#fits}), any other as a stub without data that is
 * never read as the operator's ({@link SecretBounds#kept}); such a Secret is not indexed and wakes no DeviceLogin. The
 * trimming is done by the informer's item store, so there is one informer (with its own store) per watched namespace:
 * JOSDK would give one store to all of a controller's namespaces, and each namespace's re-list would then drop the
 * other namespaces' entries.
 *
 * <p>Events: a token Secret deleted (or its label removed) wakes the DeviceLogin that wrote it; a change of its writer
 * made by someone else wakes the DeviceLogin it names now; so does a response the callback endpoint stored in (or
 * refused for) a grant Secret. The operator's own writes wake nothing (JOSDK skips the
 * events of writes it has cached), so a DeviceLogin whose Secret another DeviceLogin took over learns it at its next
 * look (its renewal time) and ends Superseded then.
 */
public final class SecretInformer implements OwnSecrets {

  private static final String BY_GRANT = "grant-id";

  /**
   * Changes by others that wake a DeviceLogin: a token Secret's writer, and the callback endpoint storing or refusing
   * an IdP's response on a grant Secret.
   */
  private static final List<String> WAKING_ANNOTATIONS = List.of(TokenSecrets.WRITER_UID_ANNOTATION,
      GrantStore.RESPONSE_ANNOTATION, GrantStore.REFUSED_ANNOTATION);

  private final Map<String, InformerEventSource<Secret, DeviceLogin>> informers = new HashMap<>();

  /**
   * The informers, one per namespace the DeviceLogin controller watches (one for all if it watches all); created once,
   * when JOSDK prepares the controller's event sources.
   */
  public List<InformerEventSource<Secret, DeviceLogin>> eventSources(EventSourceContext<DeviceLogin> context) {
    Set<String> namespaces = context.getControllerConfiguration().getEffectiveNamespaces();
    for (String namespace : namespaces) {
      InformerEventSource<Secret, DeviceLogin> informer = new InformerEventSource<>(
          InformerEventSourceConfiguration.from(Secret.class, DeviceLogin.class)
              .withName(namespaces.size() == 1 ? "secrets" : "secrets-" + namespace)
              .withNamespaces(Set.of(namespace))
              .withLabelSelector(Constants.MANAGED_BY_LABEL + "=" + Constants.MANAGED_BY)
              .withItemStore(new KeptSecrets())
              .withSecondaryToPrimaryMapper(SecretInformer::writer)
              .withOnAddFilter(secret -> false)
              .withOnUpdateFilter((updated, previous) -> WAKING_ANNOTATIONS.stream().anyMatch(key -> !Objects.equals(
                  TokenSecrets.annotation(updated, key), TokenSecrets.annotation(previous, key))))
              .withOnDeleteFilter((secret, unknown) -> Constants.TOKEN_SECRET_TYPE.equals(secret.getType()))
              .build(),
          context);
      informer.addIndexers(Map.of(BY_GRANT, secret -> {
        String grant = SecretBounds.fits(secret) ? TokenSecrets.grantId(secret) : null;
        return grant == null ? List.of() : List.of(secret.getMetadata().getNamespace() + "/" + grant);
      }));
      informers.put(namespace, informer);
    }
    return List.copyOf(informers.values());
  }

  /** The DeviceLogin a Secret that can be the operator's names as its writer (same namespace), or none. */
  private static Set<ResourceID> writer(Secret secret) {
    String name = SecretBounds.fits(secret) ? TokenSecrets.annotation(secret, Constants.DEVICELOGIN_ANNOTATION) : null;
    return name == null ? Set.of() : Set.of(new ResourceID(name, secret.getMetadata().getNamespace()));
  }

  /** The informer of {@code namespace}: the only one, or that namespace's; null if it is not watched. */
  private InformerEventSource<Secret, DeviceLogin> informer(String namespace) {
    return informers.size() == 1 ? informers.values().iterator().next() : informers.get(namespace);
  }

  @Override
  public Optional<Secret> get(String namespace, String name) {
    InformerEventSource<Secret, DeviceLogin> informer = informer(namespace);
    return informer == null ? Optional.empty() : informer.get(new ResourceID(name, namespace));
  }

  @Override
  public List<Secret> byGrant(String namespace, String grantId) {
    InformerEventSource<Secret, DeviceLogin> informer = informer(namespace);
    return informer == null ? List.of() : informer.byIndex(BY_GRANT, namespace + "/" + grantId);
  }

  @Override
  public void created(Secret stored) {
    informer(stored.getMetadata().getNamespace()).handleRecentResourceCreate(ResourceID.fromResource(stored), stored);
  }

  @Override
  public void updated(Secret stored, Secret previous) {
    InformerEventSource<Secret, DeviceLogin> informer = informer(stored.getMetadata().getNamespace());
    ResourceID id = ResourceID.fromResource(stored);
    if (informer.get(id).isEmpty()) {
      // written over a Secret read with a GET (not labelled, or not seen yet): JOSDK would compare resource versions
      // with a cache entry that is not there (NullPointerException); for the cache this write is an add
      informer.handleRecentResourceCreate(id, stored);
    } else {
      informer.handleRecentResourceUpdate(id, stored, previous);
    }
  }

  /** An informer's item store that keeps what {@link SecretBounds#kept} keeps of each Secret. */
  private static final class KeptSecrets extends BasicItemStore<Secret> {

    KeptSecrets() {
      super(Cache::metaNamespaceKeyFunc);
    }

    @Override
    public Secret put(String key, Secret secret) {
      return super.put(key, SecretBounds.kept(secret));
    }
  }
}
