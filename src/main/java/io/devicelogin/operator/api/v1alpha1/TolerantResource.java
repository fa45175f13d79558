package io.devicelogin.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DatabindException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.client.CustomResource;
import java.io.IOException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * A custom resource that one unreadable object can't turn into a stopped informer. Objects come from an API server
 * whose CRDs may be newer (or, after a rollback, whose objects were written by a newer operator) than this operator:
 * unknown fields are ignored by every model class ({@code @JsonIgnoreProperties(ignoreUnknown = true)}), and a spec or
 * status this version can't read at all (an enum value it does not know, a changed type) is kept as it came, unparsed,
 * with {@link #readProblem()} saying why, instead of failing the list or watch that carries every other object.
 *
 * <p>A part kept unparsed is written back as it came whenever the object is serialized (a clone, the diff of a
 * finalizer patch), so reading it again gives the same problem and nothing the operator writes can erase it.
 */
public abstract class TolerantResource<S, T> extends CustomResource<S, T> {

  @JsonIgnore
  private final Map<String, JsonNode> unread = new LinkedHashMap<>();

  @JsonIgnore
  private String readProblem;

  /** Why this object's spec or status could not be read by this operator version, or null when it could. */
  public String readProblem() {
    return readProblem;
  }

  /** The parts kept as they came; serialized in their place (and no property of the CRD's schema). */
  @JsonAnyGetter
  @JsonIgnore
  Map<String, JsonNode> unread() {
    return Collections.unmodifiableMap(unread);
  }

  void keepUnread(String part, JsonNode node, String problem) {
    unread.put(part, node);
    readProblem = readProblem == null ? problem : readProblem + "; " + problem;
  }

  /**
   * Reads one kind part by part: metadata as usual, then spec and status each on their own, so that a part this
   * version can't read is kept unparsed instead of failing the whole object.
   */
  public abstract static class Reader<R extends TolerantResource<S, T>, S, T> extends StdDeserializer<R> {

    private final Supplier<R> factory;
    private final Class<S> specType;
    private final Class<T> statusType;

    protected Reader(Class<R> type, Supplier<R> factory, Class<S> specType, Class<T> statusType) {
      super(type);
      this.factory = factory;
      this.specType = specType;
      this.statusType = statusType;
    }

    @Override
    public R deserialize(JsonParser parser, DeserializationContext context) throws IOException {
      JsonNode tree = context.readTree(parser);
      R resource = factory.get();
      JsonNode metadata = tree.get("metadata");
      if (metadata != null && !metadata.isNull()) {
        resource.setMetadata(context.readTreeAsValue(metadata, ObjectMeta.class));
      }
      JsonNode spec = tree.get("spec");
      if (spec != null && !spec.isNull()) {
        try {
          resource.setSpec(context.readTreeAsValue(spec, specType));
        } catch (DatabindException e) {
          resource.keepUnread("spec", spec, describe("spec", e));
        }
      }
      JsonNode status = tree.get("status");
      if (status != null && !status.isNull()) {
        try {
          resource.setStatus(context.readTreeAsValue(status, statusType));
        } catch (DatabindException e) {
          resource.keepUnread("status", status, describe("status", e));
        }
      }
      return resource;
    }

    /**
     * Where the part went wrong and how, from the field path only: never the value (a tenant's object, possibly
     * anything) nor Jackson's message (which repeats it).
     */
    static String describe(String part, DatabindException e) {
      String path = part;
      if (e instanceof JsonMappingException mapping) {
        path = part + mapping.getPath().stream()
            .map(ref -> ref.getFieldName() != null
                ? "." + ref.getFieldName().replaceAll("[^A-Za-z0-9_-]", "?")
                : "[" + ref.getIndex() + "]")
            .collect(Collectors.joining());
      }
      path = path.length() > 200 ? path.substring(0, 200) + "…" : path;
      return e instanceof InvalidFormatException
          ? path + " has a value this operator version does not know"
          : path + " does not have the type this operator version expects";
    }
  }
}
