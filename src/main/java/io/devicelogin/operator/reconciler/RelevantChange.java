package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.javaoperatorsdk.operator.processing.event.source.filter.OnUpdateFilter;
import java.util.Objects;

/**
 * Which DeviceLogin updates start a reconcile: a new generation (spec change), a new devicelogin.io/restart value,
 * deletion, and the cleanup finalizer stripped from a DeviceLogin that is not being deleted (put back at once).
 * Status-only updates and the operator's own finalizer changes (each cached by the reconcile that made it) do not.
 */
public class RelevantChange implements OnUpdateFilter<DeviceLogin> {

  @Override
  public boolean accept(DeviceLogin updated, DeviceLogin previous) {
    return !Objects.equals(updated.getMetadata().getGeneration(), previous.getMetadata().getGeneration())
        || !Objects.equals(updated.restartRequest(), previous.restartRequest())
        || updated.isMarkedForDeletion() != previous.isMarkedForDeletion()
        || strippedFinalizer(updated, previous);
  }

  /**
   * The cleanup finalizer removed from a DeviceLogin that is not being deleted: never the operator's doing (it removes
   * it only after cleaning up a deleted one), so someone else's, and it is put back now rather than at the next look
   * (a Ready login's is its renewal time: deleting it meanwhile would not revoke its refresh token).
   */
  private static boolean strippedFinalizer(DeviceLogin updated, DeviceLogin previous) {
    return previous.hasFinalizer(Constants.FINALIZER) && !updated.hasFinalizer(Constants.FINALIZER)
        && !updated.isMarkedForDeletion();
  }
}
