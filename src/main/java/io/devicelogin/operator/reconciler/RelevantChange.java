package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.javaoperatorsdk.operator.processing.event.source.filter.OnUpdateFilter;
import java.util.Objects;

/**
 * Which DeviceLogin updates start a reconcile: a new generation (spec change), a new devicelogin.io/restart value,
 * deletion. Status-only updates and finalizer changes (the operator's own, each cached by the reconcile that made it)
 * do not; a finalizer someone else removed is put back at the next look.
 */
public class RelevantChange implements OnUpdateFilter<DeviceLogin> {

  @Override
  public boolean accept(DeviceLogin updated, DeviceLogin previous) {
    return !Objects.equals(updated.getMetadata().getGeneration(), previous.getMetadata().getGeneration())
        || !Objects.equals(updated.restartRequest(), previous.restartRequest())
        || updated.isMarkedForDeletion() != previous.isMarkedForDeletion();
  }
}
