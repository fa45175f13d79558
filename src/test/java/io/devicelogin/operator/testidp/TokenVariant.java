package io.devicelogin.operator.testidp;

/** A defect a {@link FakeIdp} can build into one token response, to exercise the client's validation. */
public enum TokenVariant {
  /** The ID token's {@code iss} is not the IdP's issuer. */
  WRONG_ISSUER,
  /** The ID token's {@code aud} is another client. */
  WRONG_AUDIENCE,
  /** The ID token expired an hour ago (beyond any sane clock skew). */
  EXPIRED,
  /** The ID token's {@code iat} is an hour in the future. */
  ISSUED_IN_FUTURE,
  /** The ID token carries the published key id but is signed with another key. */
  BAD_SIGNATURE,
  /** The ID token is signed with a key whose key id is not in the JWKS. */
  UNKNOWN_KEY,
  /** The response has no {@code id_token}. */
  NO_ID_TOKEN,
  /** The response has no {@code refresh_token}. */
  NO_REFRESH_TOKEN,
  /** The ID token's {@code nonce} is not the authorization request's (authorization code grant). */
  WRONG_NONCE
}
