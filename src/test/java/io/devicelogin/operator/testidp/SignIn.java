package io.devicelogin.operator.testidp;

import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.OAuth2Error;
import com.nimbusds.oauth2.sdk.pkce.CodeChallenge;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * One person's sign-in at a {@link FakeIdp}'s authorization endpoint ({@link FakeIdp#signIn}): the authorization code
 * it handed out and what it is bound to (client, exact redirect URI, PKCE S256 challenge, nonce, the person), and what
 * became of the code at the token endpoint. A code is redeemed at most once: any second presentation is
 * {@code invalid_grant} (and counted, see {@link #reuses()}). Thread-safe.
 */
public final class SignIn {

  /** How long a code may be exchanged after the sign-in (Keycloak's default is 60 seconds). */
  static final Duration CODE_LIFETIME = Duration.ofSeconds(60);

  private final String code;
  private final String clientId;
  private final URI redirectUri;
  private final String state;
  private final String nonce;
  private final String codeChallenge;
  private final String scope;
  private final Claims claims;
  private final Instant signedInAt;
  /** The token bookkeeping shared with the device grant (issued tokens, refresh tokens, the user). */
  private final Login tokens;

  private boolean redeemed;
  private int reuses;

  SignIn(String code, String clientId, URI redirectUri, String state, String nonce, String codeChallenge, String scope,
      Claims claims, Instant signedInAt) {
    this.code = code;
    this.clientId = clientId;
    this.redirectUri = redirectUri;
    this.state = state;
    this.nonce = nonce;
    this.codeChallenge = codeChallenge;
    this.scope = scope;
    this.claims = claims;
    this.signedInAt = signedInAt;
    this.tokens = new Login(null, null, clientId, scope, signedInAt, CODE_LIFETIME, Duration.ZERO);
  }

  /** The authorization code handed out; handy to assert that it never shows up where it must not. */
  public String code() {
    return code;
  }

  public String clientId() {
    return clientId;
  }

  /** The request's exact {@code redirect_uri}. */
  public URI redirectUri() {
    return redirectUri;
  }

  public String state() {
    return state;
  }

  /** The request's {@code nonce}, which the ID token carries. */
  public String nonce() {
    return nonce;
  }

  /** The request's S256 {@code code_challenge}. */
  public String codeChallenge() {
    return codeChallenge;
  }

  /** The request's {@code scope}. */
  public String scope() {
    return scope;
  }

  /** Who signed in. */
  public Claims claims() {
    return claims;
  }

  /** Whether the code was presented at the token endpoint (successfully or not). */
  public synchronized boolean redeemed() {
    return redeemed;
  }

  /** How many times the code was presented again after its first exchange. */
  public synchronized int reuses() {
    return reuses;
  }

  /** The token responses issued for this sign-in: the code exchange and refreshes, oldest first. */
  public List<IssuedTokens> issuedTokens() {
    return tokens.issuedTokens();
  }

  Login tokens() {
    return tokens;
  }

  /**
   * Redeems the code (RFC 6749 section 4.1.3, RFC 7636 section 4.6): used up by this very call, whatever its answer;
   * then the redirect URI must be the request's exactly, the verifier must hash to the challenge, and the code must be
   * fresh. Returns the error to answer, or null when tokens may be issued.
   */
  synchronized ErrorObject redeem(String presentedClientId, String presentedRedirectUri, String verifier, Instant at) {
    if (!clientId.equals(presentedClientId)) {
      return OAuth2Error.INVALID_GRANT.setDescription("the code was issued to another client");
    }
    if (redeemed) {
      reuses++;
      return OAuth2Error.INVALID_GRANT.setDescription("Code not valid");
    }
    redeemed = true;
    if (!redirectUri.toString().equals(presentedRedirectUri)) {
      return OAuth2Error.INVALID_GRANT.setDescription("Incorrect redirect_uri");
    }
    if (verifier == null || !pkceMatches(verifier)) {
      return OAuth2Error.INVALID_GRANT.setDescription("PKCE verification failed");
    }
    if (at.isAfter(signedInAt.plus(CODE_LIFETIME))) {
      return OAuth2Error.INVALID_GRANT.setDescription("Code not valid");
    }
    return null;
  }

  private boolean pkceMatches(String verifier) {
    try {
      return CodeChallenge.compute(CodeChallengeMethod.S256, new CodeVerifier(verifier)).getValue()
          .equals(codeChallenge);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return "SignIn[clientId=" + clientId + ", state=" + state + ", sub=" + claims.subject() + "]";
  }
}
