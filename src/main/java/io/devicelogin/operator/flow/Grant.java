package io.devicelogin.operator.flow;

import io.devicelogin.operator.idp.DeviceAuthorization;
import io.devicelogin.operator.idp.ProviderConfig;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

/**
 * A started device grant ({@link StartedGrant}), as persisted in the operator's internal Secret before its user code
 * is published.
 *
 * @param id random id of this grant; the token Secret it produces carries it, so a restart can tell it finished
 * @param generation the DeviceLogin generation the grant was started for
 * @param restart the devicelogin.io/restart annotation value it was started for, or null
 * @param issuerUrl the issuer the device code was issued by: it is never sent to another
 * @param clientId the client id it was issued to
 * @param deviceCode secret: never in status, events or logs
 * @param verificationUriComplete may be null
 * @param interval the current poll interval (grows on slow_down)
 */
public record Grant(
    String id,
    long generation,
    String restart,
    String issuerUrl,
    String clientId,
    String deviceCode,
    String userCode,
    URI verificationUri,
    URI verificationUriComplete,
    Instant expiresAt,
    Duration interval) implements StartedGrant {

  public static Grant start(
      DeviceAuthorization authorization, ProviderConfig provider, long generation, String restart) {
    return new Grant(
        UUID.randomUUID().toString(),
        generation,
        restart,
        provider.issuer().toString(),
        provider.clientId(),
        authorization.deviceCode(),
        authorization.userCode(),
        authorization.verificationUri(),
        authorization.verificationUriComplete(),
        authorization.expiresAt(),
        authorization.interval());
  }

  public Grant withInterval(Duration newInterval) {
    return new Grant(
        id, generation, restart, issuerUrl, clientId, deviceCode, userCode, verificationUri, verificationUriComplete,
        expiresAt, newInterval);
  }

  /** Never shows the device code. */
  @Override
  public String toString() {
    return "Grant[id=" + id + ", generation=" + generation + ", issuerUrl=" + issuerUrl + ", clientId=" + clientId
        + ", userCode=" + userCode + ", expiresAt=" + expiresAt + ", interval=" + interval + "]";
  }
}
