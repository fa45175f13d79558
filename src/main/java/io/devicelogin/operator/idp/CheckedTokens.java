package io.devicelogin.operator.idp;

/**
 * What a 200 token response (or another check of one) gave: tokens to use, tokens to drop and why, or tokens to check
 * again once the signing keys can be fetched. It turns into the result of a poll or of a refresh, and holds no logic.
 */
sealed interface CheckedTokens {

  /** Tokens whose ID token validated (or a refresh without a new ID token). */
  record Valid(IssuedTokens tokens) implements CheckedTokens {}

  /** Tokens that must not be used, and why. */
  record Rejected(String message) implements CheckedTokens {}

  /** The ID token could not be checked: the IdP's signing keys could not be fetched. */
  record KeysUnavailable(UnverifiedTokens tokens, String message) implements CheckedTokens {}

  /** The result of a device grant poll (or another check of its tokens). */
  default TokenPollResult polled() {
    if (this instanceof Valid valid) {
      return new TokenPollResult.Issued(valid.tokens());
    }
    if (this instanceof KeysUnavailable keys) {
      return new TokenPollResult.Unverified(keys.tokens(), keys.message());
    }
    return new TokenPollResult.Invalid(((Rejected) this).message());
  }

  /** The result of a refresh (or another check of its tokens). */
  default TokenRefreshResult refreshed() {
    if (this instanceof Valid valid) {
      return new TokenRefreshResult.Refreshed(valid.tokens());
    }
    if (this instanceof KeysUnavailable keys) {
      return new TokenRefreshResult.Unverified(keys.tokens(), keys.message());
    }
    return new TokenRefreshResult.Invalid(((Rejected) this).message());
  }
}
