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
   * Checks again the ID token of tokens whose signing keys could not be fetched when they were issued (a
   * {@link TokenPollResult.Unverified}). Never throws; gives {@code Issued}, {@code Invalid} (also once
   * {@link UnverifiedTokens#checkUntil()} has passed) or {@code Unverified} again.
   */
  default TokenPollResult verifyIssued(ProviderConfig provider, UnverifiedTokens tokens) {
    return new TokenPollResult.Invalid("this IdP client cannot check tokens again");
  }

  /** As {@link #verifyIssued}, for a {@link TokenRefreshResult.Unverified}. */
  default TokenRefreshResult verifyRefreshed(ProviderConfig provider, UnverifiedTokens tokens) {
    return new TokenRefreshResult.Invalid("this IdP client cannot check tokens again");
  }

  /**
   * Revokes a refresh token (RFC 7009).
   *
   * @return false when the IdP advertises no revocation endpoint (nothing to do)
   */
  boolean revoke(ProviderConfig provider, String refreshToken) throws IdpException;
}
