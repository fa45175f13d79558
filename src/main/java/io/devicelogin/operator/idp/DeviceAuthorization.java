package io.devicelogin.operator.idp;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;

/**
 * A started device authorization grant (RFC 8628 section 3.2).
 *
 * @param deviceCode secret: only ever stored in the operator's internal Secret
 * @param verificationUriComplete may be null
 */
public record DeviceAuthorization(
    String deviceCode,
    String userCode,
    URI verificationUri,
    URI verificationUriComplete,
    Instant expiresAt,
    Duration interval) {

  /** RFC 8628 section 3.2: clients must use 5 seconds when the IdP gives no interval. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(5);

  /** Never shows the device code. */
  @Override
  public String toString() {
    return "DeviceAuthorization[userCode=" + userCode + ", verificationUri=" + verificationUri + ", expiresAt="
        + expiresAt + ", interval=" + interval + "]";
  }
}
