package io.devicelogin.operator.flow;

import io.devicelogin.operator.idp.CodeAuthorization;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.idp.RedirectResponse;
import java.net.URI;
import java.time.Instant;
import java.util.UUID;

/**
 * A started authorization code grant with PKCE, as persisted in the login's grant Secret before its authorization URL
 * is published, and what happened to it since: the IdP's response once one was accepted, and whether its code is being
 * exchanged (a code is exchanged at most once, so a restart that finds {@code exchanging} set does not send it again).
 *
 * @param redirectUri the exact redirect URI of the request; the code exchange sends the same
 * @param state the request's state: names the login (namespace and name) and carries 256 random bits
 * @param nonce the nonce the ID token must carry
 * @param codeVerifier the PKCE verifier: secret, never in status, Events or logs
 * @param expiresAt when the state expires: a response arriving later is refused
 * @param issRequired the IdP sends {@code iss} in its responses (RFC 9207): one without it is refused
 * @param response the IdP's accepted response (a code or an error), or null while none arrived
 * @param exchanging the code was (or is being) sent to the token endpoint
 */
public record CodeGrant(
    String id,
    long generation,
    String restart,
    String issuerUrl,
    String clientId,
    URI redirectUri,
    String state,
    String nonce,
    String codeVerifier,
    URI authorizationUrl,
    Instant expiresAt,
    boolean issRequired,
    RedirectResponse response,
    boolean exchanging) implements StartedGrant {

  public static CodeGrant start(
      CodeAuthorization authorization, String state, ProviderConfig provider, long generation, String restart,
      Instant expiresAt) {
    return new CodeGrant(UUID.randomUUID().toString(), generation, restart, provider.issuer().toString(),
        provider.clientId(), provider.redirectUri(), state, authorization.nonce(), authorization.codeVerifier(),
        authorization.url(), expiresAt, authorization.issRequired(), null, false);
  }

  /** This grant with the IdP's accepted response. */
  public CodeGrant withResponse(RedirectResponse accepted) {
    return new CodeGrant(id, generation, restart, issuerUrl, clientId, redirectUri, state, nonce, codeVerifier,
        authorizationUrl, expiresAt, issRequired, accepted, exchanging);
  }

  /** This grant with its code marked as sent to the token endpoint. */
  public CodeGrant exchangeStarted() {
    return new CodeGrant(id, generation, restart, issuerUrl, clientId, redirectUri, state, nonce, codeVerifier,
        authorizationUrl, expiresAt, issRequired, response, true);
  }

  /** The accepted authorization code, or null. */
  public String code() {
    return response instanceof RedirectResponse.Code code ? code.code() : null;
  }

  /** Never shows the verifier or a code. */
  @Override
  public String toString() {
    return "CodeGrant[id=" + id + ", generation=" + generation + ", issuerUrl=" + issuerUrl + ", clientId=" + clientId
        + ", expiresAt=" + expiresAt + ", response=" + response + ", exchanging=" + exchanging + "]";
  }
}
