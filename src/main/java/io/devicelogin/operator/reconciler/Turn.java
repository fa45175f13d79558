package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.event.ResourceID;

/**
 * One reconcile of one DeviceLogin: the object as this reconcile sees it (each status write this reconcile makes is
 * applied to it, so later steps see it) and JOSDK's context, through which status writes are cached for the next
 * reconcile.
 */
record Turn(DeviceLogin login, Context<DeviceLogin> context) {

  ResourceID id() {
    return ResourceID.fromResource(login);
  }

  String uid() {
    return login.getMetadata().getUid();
  }

  String namespace() {
    return login.getMetadata().getNamespace();
  }

  /** namespace/name, for logs and messages. */
  String ref() {
    return login.getMetadata().getNamespace() + "/" + login.getMetadata().getName();
  }
}
