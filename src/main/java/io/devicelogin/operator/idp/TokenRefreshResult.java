package io.devicelogin.operator.idp;

/** What one refresh-token grant (RFC 6749 section 6) gave. */
public sealed interface TokenRefreshResult {

  /**
   * New tokens. {@code tokens.idToken()} is null when the IdP sent no new ID token (Okta does this): the previous one
   * stays in use until it expires. {@code tokens.refreshToken()} is null when the IdP did not rotate it.
   */
  record Refreshed(IssuedTokens tokens) implements TokenRefreshResult {}

  /**
   * Network error, timeout, 5xx or 429: the refresh token is still good, try again later.
   *
   * @param retryAfter the wait the IdP asked for with {@code Retry-After} (429, 503), unbounded; null if none
   */
  record Unavailable(String message, java.time.Duration retryAfter) implements TokenRefreshResult {
    public Unavailable(String message) {
      this(message, null);
    }
  }

  /** The IdP refused the refresh token for good ({@code invalid_grant}: revoked, session ended) or the client. */
  record Rejected(String message) implements TokenRefreshResult {}

  /**
   * The IdP sent new tokens, but its signing keys could not be fetched to check the new ID token: the refresh token
   * sent may be rotated away, so keep {@code tokens} and check them again later
   * ({@link IdentityProviderClient#verifyRefreshed}).
   */
  record Unverified(UnverifiedTokens tokens, String message) implements TokenRefreshResult {}

  /** The IdP answered with tokens the operator must not use (an ID token that fails validation). */
  record Invalid(String message) implements TokenRefreshResult {}
}
