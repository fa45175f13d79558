package io.devicelogin.operator.idp;

import com.nimbusds.jwt.JWT;
import java.time.Instant;

/**
 * A token response the IdP sent whose ID token could not be checked yet: the IdP's signing keys (JWKS) could not be
 * fetched (5xx, timeout, reset, an answer that is not a key set, the fetch rate limit). The device code or refresh
 * token it answered is used up, so the caller keeps this in memory — never in status, Events or logs — and asks
 * {@link IdentityProviderClient#verifyIssued} / {@link IdentityProviderClient#verifyRefreshed} again with back-off;
 * they give up once {@link #checkUntil()} has passed. Lost on an operator restart.
 */
public final class UnverifiedTokens {

  private final JWT idToken;
  private final String accessToken;
  private final String refreshToken;
  private final Instant checkUntil;

  public UnverifiedTokens(JWT idToken, String accessToken, String refreshToken, Instant checkUntil) {
    this.idToken = idToken;
    this.accessToken = accessToken;
    this.refreshToken = refreshToken;
    this.checkUntil = checkUntil;
  }

  JWT idToken() {
    return idToken;
  }

  String accessToken() {
    return accessToken;
  }

  String refreshToken() {
    return refreshToken;
  }

  /**
   * The last moment a check may still accept these tokens: the ID token's (unverified) expiry plus the clock skew the
   * validation allows, at most {@link NimbusIdentityProviderClient#MAX_UNVERIFIED_HOLD} after they arrived.
   */
  public Instant checkUntil() {
    return checkUntil;
  }

  /** How many characters of token text this holds. */
  int size() {
    return idToken.serialize().length() + accessToken.length()
        + (refreshToken == null ? 0 : refreshToken.length());
  }

  /** Never shows a token. */
  @Override
  public String toString() {
    return "UnverifiedTokens[checkUntil=" + checkUntil + ", refreshToken=" + (refreshToken != null) + "]";
  }
}
