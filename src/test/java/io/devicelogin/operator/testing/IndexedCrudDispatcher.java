package io.devicelogin.operator.testing;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.server.mock.KubernetesAttributesExtractor;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.crud.Attribute;
import io.fabric8.mockwebserver.crud.AttributeSet;
import io.fabric8.mockwebserver.http.MockResponse;
import java.net.HttpURLConnection;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * fabric8's CRUD mock with an index by object name. The stock dispatcher finds an object by scanning every stored
 * object's attributes, so each GET, PATCH, PUT, POST and DELETE costs time proportional to everything stored — with
 * thousands of DeviceLogins the mock API server, not the operator, is what a benchmark measures. Requests naming one
 * object are answered here from the index (same matching rule, only among the objects of that name); lists and
 * watches go to the stock code unchanged. {@code IndexedCrudDispatcherTest} runs the same random requests against
 * both and requires the same answers.
 */
final class IndexedCrudDispatcher extends KubernetesCrudDispatcher {

  private final Map<String, Set<AttributeSet>> byName = new ConcurrentHashMap<>();

  @Override
  public MockResponse handleGet(String path) {
    AttributeSet query = attributeExtractor.fromPath(path);
    if (isWatch(path) || !query.containsKey(KubernetesAttributesExtractor.NAME)) {
      return super.handleGet(path);
    }
    Map.Entry<AttributeSet, String> found = findResource(query);
    MockResponse response = new MockResponse();
    if (found == null) {
      return response.setResponseCode(HttpURLConnection.HTTP_NOT_FOUND);
    }
    return response.setResponseCode(HttpURLConnection.HTTP_OK).setBody(found.getValue());
  }

  /** As the stock delete of one object: removed when it has no finalizers, else marked for deletion once. */
  @Override
  public MockResponse handleDelete(String path) {
    AttributeSet query = attributeExtractor.fromPath(path);
    if (!query.containsKey(KubernetesAttributesExtractor.NAME)) {
      return super.handleDelete(path);
    }
    synchronized (map) {
      Map.Entry<AttributeSet, String> found = findResource(query);
      MockResponse response = new MockResponse();
      if (found == null) {
        return response.setResponseCode(HttpURLConnection.HTTP_NOT_FOUND);
      }
      GenericKubernetesResource resource = Serialization.unmarshal(found.getValue(), GenericKubernetesResource.class);
      if (resource.getFinalizers().isEmpty()) {
        processEvent(path, query, found.getKey(), null, null);
      } else if (!resource.isMarkedForDeletion()) {
        resource.getMetadata().setDeletionTimestamp(ZonedDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS)
            .format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        resource.getMetadata().setResourceVersion(String.valueOf(requestResourceVersion()));
        processEvent(path, query, found.getKey(), resource, Serialization.asJson(resource));
      }
      return response.setResponseCode(HttpURLConnection.HTTP_OK).setBody(found.getValue());
    }
  }

  @Override
  public Map.Entry<AttributeSet, String> findResource(AttributeSet query) {
    String name = name(query);
    if (name == null) {
      return super.findResource(query);
    }
    for (AttributeSet candidate : byName.getOrDefault(name, Set.of())) {
      String value = map.get(candidate);
      if (value != null && candidate.matches(query)) {
        return Map.entry(candidate, value);
      }
    }
    return null;
  }

  /** Every stored change passes here (the stock code removes the old entry and puts the new one). */
  @Override
  public void processEvent(String path, AttributeSet pathAttributes, AttributeSet oldAttributes,
      GenericKubernetesResource resource, String newState) {
    super.processEvent(path, pathAttributes, oldAttributes, resource, newState);
    if (oldAttributes != null) {
      String name = name(oldAttributes);
      if (name != null) {
        byName.computeIfPresent(name, (key, sets) -> {
          sets.remove(oldAttributes);
          return sets.isEmpty() ? null : sets;
        });
      }
    }
    if (newState != null) {
      // The same attributes the stock code just stored the new state under.
      KubernetesAttributesExtractor extractor = (KubernetesAttributesExtractor) attributeExtractor;
      AttributeSet stored = resource != null ? extractor.extract(resource) : extractor.fromResource(newState);
      if (!stored.containsKey(KubernetesAttributesExtractor.PLURAL)) {
        stored = AttributeSet.merge(pathAttributes, stored);
      }
      String name = name(stored);
      if (name != null) {
        byName.computeIfAbsent(name, key -> ConcurrentHashMap.newKeySet()).add(stored);
      }
    }
  }

  @Override
  public void reset() {
    super.reset();
    byName.clear();
  }

  private static String name(AttributeSet attributes) {
    Attribute name = attributes.getAttribute(KubernetesAttributesExtractor.NAME);
    if (name == null) {
      return null;
    }
    List<?> values = name.getValues();
    return values.size() == 1 ? values.get(0).toString() : null;
  }

  private static boolean isWatch(String path) {
    int query = path.indexOf('?');
    return query >= 0 && path.substring(query).contains("watch=true");
  }
}
