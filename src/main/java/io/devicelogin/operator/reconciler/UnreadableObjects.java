package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.TolerantResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports objects this operator version can't read (see {@link TolerantResource}): a Warning Event and a log line once
 * per version of the object, and {@code devicelogin_unreadable_resources{kind}} counting those unreadable now. The
 * reconcilers leave such an object alone; every other object keeps being reconciled.
 */
public final class UnreadableObjects {

  private static final Logger LOG = LoggerFactory.getLogger(UnreadableObjects.class);

  private final EventRecorder events;
  private final MeterRegistry registry;
  /** Per kind: the unreadable objects (namespace/name) and the resourceVersion last reported. */
  private final Map<String, Map<String, String>> unreadable = new ConcurrentHashMap<>();

  public UnreadableObjects(EventRecorder events, MeterRegistry registry) {
    this.events = events;
    this.registry = registry;
  }

  /**
   * Whether {@code resource} could not be read; if so, reports it (once per resourceVersion). {@code leftAlone} says
   * what the operator does instead, for the Event and the log.
   */
  public <R extends TolerantResource<?, ?>> boolean unreadable(R resource, String leftAlone) {
    String key = key(resource);
    Map<String, String> ofKind = ofKind(resource.getKind());
    if (resource.readProblem() == null) {
      ofKind.remove(key);
      return false;
    }
    String version = resource.getMetadata().getResourceVersion();
    if (!Objects.equals(ofKind.put(key, String.valueOf(version)), String.valueOf(version))) {
      String message = "This operator version can't read the object: " + resource.readProblem() + ". " + leftAlone
          + " Run the operator and the CRDs of the same release, or fix the object.";
      LOG.warn("{} {}: {}", resource.getKind(), key, message);
      events.warning(resource, ProviderResolver.UNREADABLE, message);
    }
    return true;
  }

  /** Forgets a deleted object. */
  public void forget(HasMetadata resource) {
    ofKind(resource.getKind()).remove(key(resource));
  }

  private Map<String, String> ofKind(String kind) {
    return unreadable.computeIfAbsent(kind, k -> {
      Map<String, String> objects = new ConcurrentHashMap<>();
      Gauge.builder("devicelogin.unreadable.resources", objects, Map::size)
          .description("Objects this operator version can't read and leaves alone, by kind")
          .tag("kind", k)
          .register(registry);
      return objects;
    });
  }

  private static String key(HasMetadata resource) {
    String namespace = resource.getMetadata().getNamespace();
    return (namespace == null ? "" : namespace + "/") + resource.getMetadata().getName();
  }
}
