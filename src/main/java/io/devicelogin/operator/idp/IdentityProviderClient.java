package io.devicelogin.operator.idp;

/** The operator's only way to talk to an IdP; tests put a fake behind it or run a real IdP. */
public interface IdentityProviderClient {

  /** OIDC discovery, cached; {@code forceRefresh} ignores the cache. */
  ProviderEndpoints discover(ProviderConfig provider, boolean forceRefresh) throws IdpException;

  /** Starts a device authorization grant (RFC 8628 section 3.1). Not idempotent: each call is a new grant. */
  DeviceAuthorization startDeviceAuthorization(ProviderConfig provider) throws IdpException;

  /** Polls the token endpoint once with a device code and validates any ID token it returns. Never throws. */
  TokenPollResult pollToken(ProviderConfig provider, String deviceCode);

  /** Exchanges a refresh token for new tokens and validates any new ID token. Never throws. */
  TokenRefreshResult refresh(ProviderConfig provider, String refreshToken);

  /**
   * Revokes a refresh token (RFC 7009).
   *
   * @return false when the IdP advertises no revocation endpoint (nothing to do)
   */
  boolean revoke(ProviderConfig provider, String refreshToken) throws IdpException;
}
