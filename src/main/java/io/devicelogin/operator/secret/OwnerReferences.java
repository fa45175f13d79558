package io.devicelogin.operator.secret;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import java.util.List;

/** Owner references that let Kubernetes garbage-collect what a DeviceLogin leaves. */
final class OwnerReferences {

  private OwnerReferences() {}

  static OwnerReference controller(HasMetadata owner) {
    return new OwnerReferenceBuilder()
        .withApiVersion(owner.getApiVersion())
        .withKind(owner.getKind())
        .withName(owner.getMetadata().getName())
        .withUid(owner.getMetadata().getUid())
        .withController(true)
        .withBlockOwnerDeletion(false)
        .build();
  }

  /** Whether {@code owner} (this very object, by uid) is the controller owner of {@code object}. */
  static boolean controlledBy(HasMetadata object, HasMetadata owner) {
    List<OwnerReference> refs = object.getMetadata().getOwnerReferences();
    return refs != null && refs.stream().anyMatch(ref -> Boolean.TRUE.equals(ref.getController())
        && owner.getMetadata().getUid().equals(ref.getUid()));
  }
}
