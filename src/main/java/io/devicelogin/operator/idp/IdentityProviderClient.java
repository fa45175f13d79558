package io.devicelogin.operator.idp;

import java.net.URI;

/** The operator's only way to talk to an IdP; tests put a fake behind it or run a real IdP. */
public interface IdentityProviderClient {

  /** OIDC discovery, cached; {@code forceRefresh} ignores the cache. */
  ProviderEndpoints discover(ProviderConfig provider, boolean forceRefresh) throws IdpException;

  /** Starts a device authorization grant (RFC 8628 section 3.1). Not idempotent: each call is a new grant. */
  DeviceAuthorization startDeviceAuthorization(ProviderConfig provider) throws IdpException;

  /** Polls the token endpoint once with a device code and validates any ID token it returns. Never throws. */
  TokenPollResult pollToken(ProviderConfig provider, String deviceCode);

  /**
   * Builds the authorization request of an authorization code grant with PKCE S256 for {@code state} (RFC 6749 section
   * 4.1.1, RFC 7636): a fresh nonce and verifier, the provider's scopes and exact redirect URI. Sends nothing but a
   * (cached) discovery.
   */
  default CodeAuthorization authorize(ProviderConfig provider, String state) throws IdpException {
    throw new IdpException(IdpException.Kind.REJECTED, "this IdP client does not support the authorization code grant");
  }

  /**
   * Exchanges an authorization code with its PKCE verifier at the token endpoint (RFC 6749 section 4.1.3) and validates
   * the ID token, which must carry {@code nonce}. Not idempotent: an IdP accepts a code once. Never throws.
   */
  default TokenPollResult exchangeCode(
      ProviderConfig provider, URI redirectUri, String code, String codeVerifier, String nonce) {
    return new TokenPollResult.Invalid("this IdP client does not support the authorization code grant");
  }

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
