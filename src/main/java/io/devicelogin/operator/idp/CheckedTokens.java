package io.devicelogin.operator.idp;

import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * What a 200 token response (or another check of one) gave: tokens to use, tokens to drop and why, or tokens to check
 * again once the signing keys can be fetched. It turns into the result of a poll or of a refresh and checks nothing itself.
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
    return as(TokenPollResult.Issued::new, TokenPollResult.Unverified::new, TokenPollResult.Invalid::new);
  }

  /** The result of a refresh (or another check of its tokens). */
  default TokenRefreshResult refreshed() {
    return as(TokenRefreshResult.Refreshed::new, TokenRefreshResult.Unverified::new, TokenRefreshResult.Invalid::new);
  }

  private <R> R as(
      Function<IssuedTokens, R> valid, BiFunction<UnverifiedTokens, String, R> keysUnavailable,
      Function<String, R> rejected) {
    if (this instanceof Valid v) {
      return valid.apply(v.tokens());
    }
    if (this instanceof KeysUnavailable keys) {
      return keysUnavailable.apply(keys.tokens(), keys.message());
    }
    return rejected.apply(((Rejected) this).message());
  }
}
