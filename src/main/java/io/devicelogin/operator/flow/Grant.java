package io.devicelogin.operator.flow;

import io.devicelogin.operator.idp.DeviceAuthorization;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

/**
 * A started device grant, as persisted in the operator's internal Secret before its user code is published.
 *
 * @param id random id of this grant; the token Secret it produces carries it, so a restart can tell it finished
 * @param generation the DeviceLogin generation the grant was started for
 * @param restart the devicelogin.io/restart annotation value it was started for, or null
 * @param deviceCode secret: never in status, events or logs
 * @param verificationUriComplete may be null
 * @param interval the current poll interval (grows on slow_down)
 */
public record Grant(
    String id,
    long generation,
    String restart,
    String deviceCode,
    String userCode,
    URI verificationUri,
    URI verificationUriComplete,
    Instant expiresAt,
    Duration interval) {

  public static Grant start(DeviceAuthorization authorization, long generation, String restart) {
    return new Grant(
        UUID.randomUUID().toString(),
        generation,
        restart,
        authorization.deviceCode(),
        authorization.userCode(),
        authorization.verificationUri(),
        authorization.verificationUriComplete(),
        authorization.expiresAt(),
        authorization.interval());
  }

  public Grant withInterval(Duration newInterval) {
    return new Grant(
        id, generation, restart, deviceCode, userCode, verificationUri, verificationUriComplete, expiresAt,
        newInterval);
  }

  /** Whether the grant belongs to the login the DeviceLogin asks for now (same generation and restart request). */
  public boolean isFor(long currentGeneration, String currentRestart) {
    return generation == currentGeneration && java.util.Objects.equals(restart, currentRestart);
  }

  /** Never shows the device code. */
  @Override
  public String toString() {
    return "Grant[id=" + id + ", generation=" + generation + ", userCode=" + userCode + ", expiresAt=" + expiresAt
        + ", interval=" + interval + "]";
  }
}
