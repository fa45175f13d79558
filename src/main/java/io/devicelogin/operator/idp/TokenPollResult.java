package io.devicelogin.operator.idp;

/** What one poll of the token endpoint with a device code gave (RFC 8628 section 3.5). */
public sealed interface TokenPollResult {

  /** {@code authorization_pending}: the person has not approved yet. */
  record Pending() implements TokenPollResult {}

  /** {@code slow_down}: keep polling, 5 seconds slower from now on. */
  record SlowDown() implements TokenPollResult {}

  /** {@code access_denied}: the person refused. */
  record AccessDenied() implements TokenPollResult {}

  /** {@code expired_token}: the device code expired before approval. */
  record ExpiredToken() implements TokenPollResult {}

  /** Tokens whose ID token validated. */
  record Issued(IssuedTokens tokens) implements TokenPollResult {}

  /**
   * The IdP could not be reached, answered with a server error or asked to be left alone (429); the login is still
   * alive.
   *
   * @param retryAfter the wait the IdP asked for with {@code Retry-After} (429, 503), unbounded; null if none
   */
  record Unavailable(String message, java.time.Duration retryAfter) implements TokenPollResult {
    public Unavailable(String message) {
      this(message, null);
    }
  }

  /**
   * The IdP issued tokens, but its signing keys could not be fetched to check the ID token: the device code is used up,
   * so keep {@code tokens} and check them again later ({@link IdentityProviderClient#verifyIssued}).
   */
  record Unverified(UnverifiedTokens tokens, String message) implements TokenPollResult {}

  /** The IdP answered in a way that ends the login (a bad token, an unexpected error code). */
  record Invalid(String message) implements TokenPollResult {}
}
