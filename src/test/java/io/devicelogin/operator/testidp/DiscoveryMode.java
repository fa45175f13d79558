package io.devicelogin.operator.testidp;

/** How a {@link FakeIdp} answers {@code GET <issuer>/.well-known/openid-configuration}. */
public enum DiscoveryMode {
  /** Complete, correct metadata. */
  NORMAL,
  /** Correct metadata without {@code device_authorization_endpoint}. */
  NO_DEVICE_ENDPOINT,
  /** HTTP 200 with an HTML page. */
  NOT_JSON,
  /** HTTP 500. */
  SERVER_ERROR,
  /** Metadata whose {@code issuer} differs from the URL it was fetched from. */
  WRONG_ISSUER,
  /** Correct metadata without {@code revocation_endpoint} (RFC 7009 not supported). */
  NO_REVOCATION_ENDPOINT
}
