package io.devicelogin.operator.idp;

import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTParser;
import java.text.ParseException;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A token response the IdP sent whose ID token could not be checked yet: the IdP's signing keys (JWKS) could not be
 * fetched (5xx, timeout, reset, an answer that is not a key set, the fetch rate limit). The device code or refresh
 * token it answered is used up, so the caller keeps these — never in status, Events or logs; a login's in its grant
 * Secret ({@link #parts()}), a refresh's in memory — and asks {@link IdentityProviderClient#verifyIssued} /
 * {@link IdentityProviderClient#verifyRefreshed} again with back-off; they give up once {@link #checkUntil()} has
 * passed.
 */
public final class UnverifiedTokens {

  private static final String ID_TOKEN = "id-token";
  private static final String ACCESS_TOKEN = "access-token";
  private static final String REFRESH_TOKEN = "refresh-token";
  private static final String CHECK_UNTIL = "check-until";
  private static final String NONCE = "nonce";

  private final JWT idToken;
  private final String accessToken;
  private final String refreshToken;
  private final Instant checkUntil;
  private final String nonce;

  public UnverifiedTokens(JWT idToken, String accessToken, String refreshToken, Instant checkUntil) {
    this(idToken, accessToken, refreshToken, checkUntil, null);
  }

  /** @param nonce the nonce the ID token must carry (authorization code grant), or null */
  public UnverifiedTokens(JWT idToken, String accessToken, String refreshToken, Instant checkUntil, String nonce) {
    this.idToken = idToken;
    this.accessToken = accessToken;
    this.refreshToken = refreshToken;
    this.checkUntil = checkUntil;
    this.nonce = nonce;
  }

  String nonce() {
    return nonce;
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

  /** The tokens and the deadline as text, to be stored where only the operator reads them (a login's grant Secret). */
  public Map<String, String> parts() {
    Map<String, String> parts = new LinkedHashMap<>();
    parts.put(ID_TOKEN, idToken.serialize());
    parts.put(ACCESS_TOKEN, accessToken);
    if (refreshToken != null) {
      parts.put(REFRESH_TOKEN, refreshToken);
    }
    parts.put(CHECK_UNTIL, checkUntil.toString());
    if (nonce != null) {
      parts.put(NONCE, nonce);
    }
    return parts;
  }

  /** Tokens stored with {@link #parts()}; empty when the parts are incomplete or unreadable. */
  public static Optional<UnverifiedTokens> fromParts(Map<String, String> parts) {
    if (parts.get(ID_TOKEN) == null || parts.get(ACCESS_TOKEN) == null || parts.get(CHECK_UNTIL) == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(new UnverifiedTokens(JWTParser.parse(parts.get(ID_TOKEN)), parts.get(ACCESS_TOKEN),
          parts.get(REFRESH_TOKEN), Instant.parse(parts.get(CHECK_UNTIL)), parts.get(NONCE)));
    } catch (ParseException | DateTimeException e) {
      return Optional.empty();
    }
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
