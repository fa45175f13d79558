package io.devicelogin.operator.idp;

import java.net.URI;

/**
 * An authorization request of the authorization code grant with PKCE, built (nothing sent): the URL the person opens,
 * and what the exchange of its code needs. {@code toString} never shows the verifier.
 *
 * @param url the authorization endpoint with response_type=code, client_id, redirect_uri, scope, state, nonce and the
 *     S256 code_challenge
 * @param nonce the nonce the ID token must carry
 * @param codeVerifier the PKCE verifier: secret, kept only in the login's grant Secret until the exchange
 * @param issRequired the IdP says it sends {@code iss} in its responses (RFC 9207): a response without it is refused
 */
public record CodeAuthorization(URI url, String nonce, String codeVerifier, boolean issRequired) {

  @Override
  public String toString() {
    return "CodeAuthorization[url=" + url + ", issRequired=" + issRequired + "]";
  }
}
