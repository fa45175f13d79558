package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.javaoperatorsdk.operator.processing.event.source.filter.OnUpdateFilter;
import java.util.Objects;

/**
 * Which DeviceLogin updates start a reconcile: a new generation (spec change), a new devicelogin.io/restart value,
 * deletion and finalizer changes. Status-only updates (the operator's own) do not.
 */
public class RelevantChange implements OnUpdateFilter<DeviceLogin> {

  @Override
  public boolean accept(DeviceLogin updated, DeviceLogin previous) {
    return !Objects.equals(updated.getMetadata().getGeneration(), previous.getMetadata().getGeneration())
        || !Objects.equals(updated.restartRequest(), previous.restartRequest())
        || updated.isMarkedForDeletion() != previous.isMarkedForDeletion()
        || !Objects.equals(updated.getMetadata().getFinalizers(), previous.getMetadata().getFinalizers());
  }
}
