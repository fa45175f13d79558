package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.AbstractEventSource;
import io.javaoperatorsdk.operator.processing.event.source.controller.ResourceAction;
import io.javaoperatorsdk.operator.processing.event.source.controller.ResourceEvent;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Wakes a DeviceLogin created under the name of one just deleted. In JOSDK 5.2's all-events mode the reconcile of a
 * deletion can run with the object created under that name meanwhile, and JOSDK then drops that object's own event
 * when it cleans up after the deletion (operator-framework/java-operator-sdk#3621, and a review comment on #3614):
 * the new DeviceLogin would wait for its next change. This sends JOSDK a resource event for it a moment later, after
 * the cleanup, as the informer would have.
 */
final class Rewake extends AbstractEventSource<Void, DeviceLogin> {

  /** How long after the deletion's reconcile the name is woken: JOSDK cleans up as that reconcile returns. */
  static final Duration DELAY = Duration.ofSeconds(1);

  Rewake() {
    super(Void.class, "recreated");
  }

  /** Wakes {@code recreated} (the live object now under a deleted DeviceLogin's name) after {@link #DELAY}. */
  void wake(DeviceLogin recreated) {
    ResourceID id = ResourceID.fromResource(recreated);
    CompletableFuture.runAsync(() -> {
      if (isRunning()) {
        getEventHandler().handleEvent(new ResourceEvent(ResourceAction.UPDATED, id, recreated));
      }
    }, CompletableFuture.delayedExecutor(DELAY.toMillis(), TimeUnit.MILLISECONDS));
  }

  @Override
  public Set<Void> getSecondaryResources(DeviceLogin primary) {
    return Set.of();
  }
}
