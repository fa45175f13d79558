package io.devicelogin.operator.status;

import com.fasterxml.jackson.databind.node.ArrayNode;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;

/**
 * Writes a resource's whole status in one request: a JSON patch on the status subresource whose single {@code add}
 * operation replaces {@code /status} (RFC 6902: add replaces an existing member, and creates a missing one). Fields
 * the new status leaves out are gone afterwards (a user code that is no longer valid disappears), arrays are
 * replaced, not merged, and nothing depends on a cached copy of the old status. No server-side apply: one code path,
 * the same against any API server, and against the fabric8 mock server in tests.
 */
public final class StatusWriter {

  private final KubernetesClient client;

  public StatusWriter(KubernetesClient client) {
    this.client = client;
  }

  /** Whether two status objects are the same, by their JSON form: then there is nothing to write. */
  public static boolean same(Object current, Object next) {
    return Serialization.jsonMapper().valueToTree(current).equals(Serialization.jsonMapper().valueToTree(next));
  }

  /** Replaces {@code resource}'s status on the API server with {@code status}; returns the resource as stored. */
  public <R extends HasMetadata> R write(R resource, Object status) {
    ArrayNode patch = Serialization.jsonMapper().createArrayNode();
    patch.addObject().put("op", "add").put("path", "/status")
        .set("value", Serialization.jsonMapper().valueToTree(status));
    // Given the object, fabric8 sends the patch at once; given only a name it would GET the object first.
    return client.resource(resource).subresource("status").patch(PatchContext.of(PatchType.JSON), patch.toString());
  }
}
