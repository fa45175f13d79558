package io.devicelogin.operator.secret;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.idp.RedirectResponse;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.cache.BasicItemStore;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.net.HttpURLConnection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Paste-back via the cluster API: Secrets of type {@value Constants#AUTHORIZATION_RESPONSE_TYPE} a person or portal
 * creates, key {@value Constants#REDIRECT_URL_KEY} holding the URL the browser was sent to, label
 * {@value Constants#DEVICELOGIN_LABEL} naming the DeviceLogin (same namespace). An informer per watched namespace (as
 * {@link SecretInformer}) wakes the DeviceLogin a Secret names; the login reads, judges and deletes it.
 *
 * <p>Anyone who may create Secrets in a namespace can label any number of them: the informer keeps a Secret's URL only
 * if it is such a Secret with nothing but a URL of at most {@link RedirectResponse#MAX_URL_CHARS}; of any other a stub
 * without data (name, uid, label, type), which reads as unreadable and is deleted only if it has the paste-back type.
 */
public final class PastedResponses {

  private static final String BY_LOGIN = "devicelogin";
  private static final Logger LOG = LoggerFactory.getLogger(PastedResponses.class);

  private final KubernetesClient client;
  private final Map<String, InformerEventSource<Secret, DeviceLogin>> informers = new HashMap<>();

  public PastedResponses(KubernetesClient client) {
    this.client = client;
  }

  /** The informers, one per namespace the DeviceLogin controller watches (one for all if it watches all). */
  public List<InformerEventSource<Secret, DeviceLogin>> eventSources(EventSourceContext<DeviceLogin> context) {
    Set<String> namespaces = context.getControllerConfiguration().getEffectiveNamespaces();
    for (String namespace : namespaces) {
      InformerEventSource<Secret, DeviceLogin> informer = new InformerEventSource<>(
          InformerEventSourceConfiguration.from(Secret.class, DeviceLogin.class)
              .withName(namespaces.size() == 1 ? "pasted-responses" : "pasted-responses-" + namespace)
              .withNamespaces(Set.of(namespace))
              .withLabelSelector(Constants.DEVICELOGIN_LABEL)
              .withItemStore(new KeptResponses())
              .withSecondaryToPrimaryMapper(PastedResponses::login)
              .withOnDeleteFilter((secret, unknown) -> false)
              .build(),
          context);
      informer.addIndexers(Map.of(BY_LOGIN, secret -> login(secret).stream()
          .map(id -> id.getNamespace().orElse("") + "/" + id.getName()).toList()));
      informers.put(namespace, informer);
    }
    return List.copyOf(informers.values());
  }

  /** The paste-back Secrets that name {@code login}, oldest first. */
  public List<Secret> of(DeviceLogin login) {
    String namespace = login.getMetadata().getNamespace();
    InformerEventSource<Secret, DeviceLogin> informer =
        informers.size() == 1 ? informers.values().iterator().next() : informers.get(namespace);
    if (informer == null) {
      return List.of();
    }
    return informer.byIndex(BY_LOGIN, namespace + "/" + login.getMetadata().getName()).stream()
        .sorted(Comparator.comparing((Secret s) -> String.valueOf(s.getMetadata().getCreationTimestamp()))
            .thenComparing(s -> s.getMetadata().getName()))
        .toList();
  }

  /**
   * Deletes, unread, every paste-back Secret naming {@code login}: responses that come too late (its state was used, or
   * the login ended) are refused.
   *
   * @param why why they are refused, for the log line
   */
  public void refuseAll(DeviceLogin login, String why) {
    for (Secret secret : of(login)) {
      LOG.info("DeviceLogin {}/{}: refused the response pasted in Secret {}: {}", login.getMetadata().getNamespace(),
          login.getMetadata().getName(), secret.getMetadata().getName(), why);
      delete(secret);
    }
  }

  /** What a paste-back Secret holds; a stub (not one, or too large) is unreadable. */
  public static RedirectResponse read(Secret secret) {
    String url = secret.getData() == null ? null : GrantStore.decode(secret.getData().get(Constants.REDIRECT_URL_KEY));
    return url == null
        ? new RedirectResponse.Unreadable("the Secret holds no key " + Constants.REDIRECT_URL_KEY + " with at most "
            + RedirectResponse.MAX_URL_CHARS + " characters")
        : RedirectResponse.fromUrl(url);
  }

  /**
   * Deletes a consumed paste-back Secret as it was read (conditional on its resourceVersion); one that is gone already,
   * or was changed since (its update event brings it back to be judged again), is left.
   */
  public void delete(Secret secret) {
    try {
      client.secrets().inNamespace(secret.getMetadata().getNamespace()).withName(secret.getMetadata().getName())
          .lockResourceVersion(secret.getMetadata().getResourceVersion()).delete();
    } catch (KubernetesClientException e) {
      if (e.getCode() != HttpURLConnection.HTTP_NOT_FOUND && e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
        throw e;
      }
    }
  }

  /** The DeviceLogin a paste-back Secret names, if it has the paste-back type. */
  private static Set<ResourceID> login(Secret secret) {
    String name = secret.getMetadata().getLabels() == null ? null
        : secret.getMetadata().getLabels().get(Constants.DEVICELOGIN_LABEL);
    return name == null || name.isEmpty() || !Constants.AUTHORIZATION_RESPONSE_TYPE.equals(secret.getType())
        ? Set.of()
        : Set.of(new ResourceID(name, secret.getMetadata().getNamespace()));
  }

  /** Keeps the URL of a well-formed paste-back Secret, and of anything else a stub without data. */
  private static final class KeptResponses extends BasicItemStore<Secret> {

    /** Base64 of the longest URL read, plus room for the key name. */
    private static final int MAX_DATA_CHARS = (RedirectResponse.MAX_URL_CHARS + 2) / 3 * 4 + 64;

    KeptResponses() {
      super(Cache::metaNamespaceKeyFunc);
    }

    @Override
    public Secret put(String key, Secret secret) {
      Map<String, String> data = secret.getData();
      String url = data == null ? null : data.get(Constants.REDIRECT_URL_KEY);
      boolean readable = Constants.AUTHORIZATION_RESPONSE_TYPE.equals(secret.getType()) && url != null
          && url.length() + Constants.REDIRECT_URL_KEY.length() <= MAX_DATA_CHARS;
      String label = secret.getMetadata().getLabels() == null ? null
          : secret.getMetadata().getLabels().get(Constants.DEVICELOGIN_LABEL);
      String type = secret.getType();
      return super.put(key, new SecretBuilder()
          .withNewMetadata()
          .withName(secret.getMetadata().getName())
          .withNamespace(secret.getMetadata().getNamespace())
          .withUid(secret.getMetadata().getUid())
          .withResourceVersion(secret.getMetadata().getResourceVersion())
          .withCreationTimestamp(secret.getMetadata().getCreationTimestamp())
          .withLabels(label == null || label.length() > 253 ? null : Map.of(Constants.DEVICELOGIN_LABEL, label))
          .endMetadata()
          .withType(type == null || type.length() > 253 ? null : type)
          .withData(readable ? Map.of(Constants.REDIRECT_URL_KEY, url) : null)
          .build());
    }
  }
}
