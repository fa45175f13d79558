package io.devicelogin.operator.testidp;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.oauth2.sdk.AccessTokenResponse;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.token.BearerAccessToken;
import com.nimbusds.oauth2.sdk.token.RefreshToken;
import com.nimbusds.oauth2.sdk.token.Tokens;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponse;
import com.nimbusds.openid.connect.sdk.token.OIDCTokens;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Set;

/**
 * Signing keys, JWKS and token responses of a {@link FakeIdp}. ID tokens are RS256 JWTs; access
 * and refresh tokens are random opaque strings. Thread-safe.
 *
 * <p>Generating an RSA key takes a while, so all instances in a JVM start with the same signing
 * key and share the unpublished one; {@link #rotate()} always generates a fresh key.
 */
final class TokenFactory {

  private static final Duration FAR = Duration.ofHours(1);

  /** The first signing key of every instance, generated once per JVM on first use. */
  private static final class FirstKey {
    private static final RSAKey KEY = newKey();
  }

  /** The key never published by any instance, generated once per JVM on first use. */
  private static final class UnpublishedKey {
    private static final RSAKey KEY = newKey();
  }

  private final String issuer;
  private final String wrongIssuer;
  private RSAKey signingKey = FirstKey.KEY;
  private volatile Duration clockSkew = Duration.ZERO;

  TokenFactory(String issuer, String wrongIssuer) {
    this.issuer = issuer;
    this.wrongIssuer = wrongIssuer;
  }

  /** The published keys: the public part of the current signing key. */
  synchronized JWKSet publicJwks() {
    return new JWKSet(signingKey.toPublicJWK());
  }

  /** Shifts the {@code iat} and {@code exp} of ID tokens issued from now on, as an IdP whose clock is off would. */
  void clockSkew(Duration offset) {
    clockSkew = offset;
  }

  /** Replaces the signing key by a new one with a new key id; the old one is no longer published. */
  synchronized void rotate() {
    signingKey = newKey();
  }

  /**
   * A token response for {@code user}: ID token (audience {@code clientId}, lifetime {@code
   * lifetime}), access token and refresh token, with the given defects.
   *
   * @param nonce the {@code nonce} claim of the ID token (the authorization request's), or null for none
   * @param badSignature sign the ID token with an unpublished key, as {@link TokenVariant#BAD_SIGNATURE}
   */
  AccessTokenResponse respond(
      Claims user,
      String clientId,
      Scope scope,
      Duration lifetime,
      Set<TokenVariant> variants,
      String nonce,
      boolean badSignature) {
    BearerAccessToken accessToken = new BearerAccessToken(32, lifetime.toSeconds(), scope);
    RefreshToken refreshToken = variants.contains(TokenVariant.NO_REFRESH_TOKEN) ? null : new RefreshToken();
    if (variants.contains(TokenVariant.NO_ID_TOKEN)) {
      return new AccessTokenResponse(new Tokens(accessToken, refreshToken));
    }
    SignedJWT idToken = idToken(user, clientId, lifetime, variants, nonce, badSignature);
    return new OIDCTokenResponse(new OIDCTokens(idToken, accessToken, refreshToken));
  }

  private SignedJWT idToken(
      Claims user, String clientId, Duration lifetime, Set<TokenVariant> variants, String nonce,
      boolean badSignature) {
    Instant issuedAt = Instant.now().plus(clockSkew);
    if (variants.contains(TokenVariant.EXPIRED)) {
      issuedAt = issuedAt.minus(FAR).minus(lifetime);
    } else if (variants.contains(TokenVariant.ISSUED_IN_FUTURE)) {
      issuedAt = issuedAt.plus(FAR);
    }
    JWTClaimsSet.Builder claims =
        new JWTClaimsSet.Builder()
            .issuer(variants.contains(TokenVariant.WRONG_ISSUER) ? wrongIssuer : issuer)
            .audience(variants.contains(TokenVariant.WRONG_AUDIENCE) ? "another-" + clientId : clientId)
            .issueTime(Date.from(issuedAt))
            .expirationTime(Date.from(issuedAt.plus(lifetime)));
    user.toMap().forEach(claims::claim);
    if (variants.contains(TokenVariant.WRONG_NONCE)) {
      claims.claim("nonce", "not-" + nonce);
    } else if (nonce != null) {
      claims.claim("nonce", nonce);
    }

    RSAKey key;
    String keyId;
    synchronized (this) {
      if (variants.contains(TokenVariant.UNKNOWN_KEY)) {
        key = UnpublishedKey.KEY;
        keyId = key.getKeyID();
      } else if (variants.contains(TokenVariant.BAD_SIGNATURE) || badSignature) {
        key = UnpublishedKey.KEY;
        keyId = signingKey.getKeyID();
      } else {
        key = signingKey;
        keyId = key.getKeyID();
      }
    }
    JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(keyId).type(JOSEObjectType.JWT).build();
    SignedJWT jwt = new SignedJWT(header, claims.build());
    try {
      jwt.sign(new RSASSASigner(key));
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign ID token", e);
    }
    return jwt;
  }

  private static RSAKey newKey() {
    try {
      return new RSAKeyGenerator(2048)
          .keyUse(KeyUse.SIGNATURE)
          .algorithm(JWSAlgorithm.RS256)
          .keyIDFromThumbprint(true)
          .generate();
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot generate RSA key", e);
    }
  }
}
