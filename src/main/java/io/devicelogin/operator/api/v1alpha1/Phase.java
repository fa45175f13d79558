package io.devicelogin.operator.api.v1alpha1;

/** Where a DeviceLogin is: Pending, AwaitingUser, Ready, or one of the ends Denied, Expired, Failed. */
public enum Phase {
  Pending,
  AwaitingUser,
  Ready,
  Denied,
  Expired,
  Failed;

  /** A login in this phase needs a new generation (or a restart) to do anything again. */
  public boolean isTerminal() {
    return this == Denied || this == Expired || this == Failed;
  }
}
