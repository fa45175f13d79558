package io.devicelogin.operator.idp;

/** The operator's only way to talk to an IdP; tests put a fake behind it or run a real IdP. */
public interface IdentityProviderClient {

  /** OIDC discovery, cached; {@code forceRefresh} ignores the cache. */
  ProviderEndpoints discover(ProviderConfig provider, boolean forceRefresh) throws IdpException;

  /** Starts a device authorization grant (RFC 8628 section 3.1). Not idempotent: each call is a new grant. */
  DeviceAuthorization startDeviceAuthorization(ProviderConfig provider) throws IdpException;

  /** Polls the token endpoint once with a device code and validates any ID token it returns. Never throws. */
  TokenPollResult pollToken(ProviderConfig provider, String deviceCode);
}
