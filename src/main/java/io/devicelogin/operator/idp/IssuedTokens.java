package io.devicelogin.operator.idp;

import java.time.Instant;
import java.util.Map;

/**
 * Tokens from a token response whose ID token passed validation.
 *
 * @param idToken null only for a refresh response without a new ID token (then expiry, issue time and claims are
 *     empty too)
 * @param refreshToken null when the IdP issued none
 * @param claims the validated ID token's claims
 */
public record IssuedTokens(
    String idToken, String accessToken, String refreshToken, Instant idTokenExpiry, Instant idTokenIssuedAt,
    Map<String, Object> claims) {

  public IssuedTokens {
    claims = Map.copyOf(claims);
  }

  /** Never shows a token. */
  @Override
  public String toString() {
    return "IssuedTokens[idTokenExpiry=" + idTokenExpiry + ", refreshToken=" + (refreshToken != null) + "]";
  }
}
