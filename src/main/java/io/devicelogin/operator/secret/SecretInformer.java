package io.devicelogin.operator.secret;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.fabric8.kubernetes.api.model.Secret;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The operator's own Secrets (grant and token Secrets, label {@code app.kubernetes.io/managed-by}), read from one
 * informer instead of GETs and LISTs. What this process writes is put in front of the informer's cache at once
 * (JOSDK's recent-write cache), so the next reconcile reads its own writes. A Secret someone else wrote under such a
 * name without the label is not seen here: every write is a create (refused if the name is taken) or an update
 * conditional on the resourceVersion read, so a stale or missing cache entry makes a write fail, never overwrite.
 *
 * <p>Events: a token Secret deleted (or its label removed) wakes the DeviceLogin that wrote it; a change of its writer
 * made by someone else wakes the DeviceLogin it names now. The operator's own writes wake nothing (JOSDK skips the
 * events of writes it has cached), so a DeviceLogin whose Secret another DeviceLogin took over learns it at its next
 * look (its renewal time) and ends Superseded then.
 */
public final class SecretInformer implements OwnSecrets {

  private static final String BY_GRANT = "grant-id";

  private InformerEventSource<Secret, DeviceLogin> informer;

  /** The informer; created once, when JOSDK prepares the DeviceLogin controller's event sources. */
  public InformerEventSource<Secret, DeviceLogin> eventSource(EventSourceContext<DeviceLogin> context) {
    informer = new InformerEventSource<>(
        InformerEventSourceConfiguration.from(Secret.class, DeviceLogin.class)
            .withName("secrets")
            .withNamespacesInheritedFromController()
            .withLabelSelector(Constants.MANAGED_BY_LABEL + "=" + Constants.MANAGED_BY)
            .withSecondaryToPrimaryMapper(SecretInformer::writer)
            .withOnAddFilter(secret -> false)
            .withOnUpdateFilter((updated, previous) -> !Objects.equals(
                TokenSecrets.annotation(updated, TokenSecrets.WRITER_UID_ANNOTATION),
                TokenSecrets.annotation(previous, TokenSecrets.WRITER_UID_ANNOTATION)))
            .withOnDeleteFilter((secret, unknown) -> Constants.TOKEN_SECRET_TYPE.equals(secret.getType()))
            .build(),
        context);
    informer.addIndexers(Map.of(BY_GRANT, secret -> {
      String grant = TokenSecrets.grantId(secret);
      return grant == null ? List.of() : List.of(secret.getMetadata().getNamespace() + "/" + grant);
    }));
    return informer;
  }

  /** The DeviceLogin a Secret names as its writer (same namespace), or none. */
  private static Set<ResourceID> writer(Secret secret) {
    String name = TokenSecrets.annotation(secret, Constants.DEVICELOGIN_ANNOTATION);
    return name == null ? Set.of() : Set.of(new ResourceID(name, secret.getMetadata().getNamespace()));
  }

  @Override
  public Optional<Secret> get(String namespace, String name) {
    return informer.get(new ResourceID(name, namespace));
  }

  @Override
  public List<Secret> byGrant(String namespace, String grantId) {
    return informer.byIndex(BY_GRANT, namespace + "/" + grantId);
  }

  @Override
  public void created(Secret stored) {
    informer.handleRecentResourceCreate(ResourceID.fromResource(stored), stored);
  }

  @Override
  public void updated(Secret stored, Secret previous) {
    ResourceID id = ResourceID.fromResource(stored);
    if (informer.get(id).isEmpty()) {
      // written over a Secret read with a GET (not labelled, or not seen yet): JOSDK would compare resource versions
      // with a cache entry that is not there (NullPointerException); for the cache this write is an add
      informer.handleRecentResourceCreate(id, stored);
    } else {
      informer.handleRecentResourceUpdate(id, stored, previous);
    }
  }
}
