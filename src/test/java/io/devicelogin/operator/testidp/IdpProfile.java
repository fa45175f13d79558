package io.devicelogin.operator.testidp;

/**
 * How a {@link FakeIdp} deviates from RFC 8628 and OpenID Connect the way a well-known IdP does (its documented
 * answers, not its whole product): {@code FakeIdp.start().profile(IdpProfile.GOOGLE)}. Without a profile it answers
 * as the RFCs say (as Keycloak does). Scripted outcomes ({@link Login#onNextPoll}, {@link FakeIdp#refreshWith}) go
 * through the profile too, so {@code login.deny()} reads {@code authorization_declined} at {@link #ENTRA_ID}.
 */
public enum IdpProfile {

  /**
   * Google (OAuth 2.0 for TV and limited-input devices): the device answer names {@code verification_url}, no
   * {@code verification_uri_complete}; pending is HTTP 428, {@code slow_down} HTTP 403; the client needs its secret
   * (set it with {@link FakeIdp#requireClientSecret}).
   */
  GOOGLE(428, 403, "verification_url", false, "access_denied", true, Integer.MAX_VALUE, true, false),

  /**
   * Microsoft Entra ID (v2 endpoints): no {@code verification_uri_complete}; a refusal is
   * {@code authorization_declined}; ID tokens carry no {@code email_verified}; a user in more than 200 groups gets the
   * overage marker ({@code _claim_names.groups}) instead of {@code groups}.
   */
  ENTRA_ID(400, 400, "verification_uri", false, "authorization_declined", false, 200, true, false),

  /**
   * Auth0: rotating refresh tokens with reuse detection: a rotated refresh token presented again gets
   * {@code invalid_grant} and revokes every refresh token of its login (the family), the current one included.
   */
  AUTH0(403, 429, "verification_uri", true, "access_denied", true, Integer.MAX_VALUE, true, true),

  /** Okta: refreshes answer without a new ID token. */
  OKTA(400, 400, "verification_uri", true, "access_denied", true, Integer.MAX_VALUE, false, false),

  /** Dex before v2.36: {@code authorization_pending} with HTTP 401. */
  DEX(401, 400, "verification_uri", true, "access_denied", true, Integer.MAX_VALUE, true, false),

  /** PingOne: {@code authorization_pending} and {@code slow_down} with HTTP 403. */
  PINGONE(403, 403, "verification_uri", true, "access_denied", true, Integer.MAX_VALUE, true, false);

  final int pendingStatus;
  final int slowDownStatus;
  final String verificationUriName;
  final boolean verificationUriComplete;
  final String deniedError;
  final boolean emailVerified;
  final int maxGroupsInToken;
  final boolean idTokenOnRefresh;
  final boolean refreshReuseRevokesFamily;

  IdpProfile(int pendingStatus, int slowDownStatus, String verificationUriName, boolean verificationUriComplete,
      String deniedError, boolean emailVerified, int maxGroupsInToken, boolean idTokenOnRefresh,
      boolean refreshReuseRevokesFamily) {
    this.pendingStatus = pendingStatus;
    this.slowDownStatus = slowDownStatus;
    this.verificationUriName = verificationUriName;
    this.verificationUriComplete = verificationUriComplete;
    this.deniedError = deniedError;
    this.emailVerified = emailVerified;
    this.maxGroupsInToken = maxGroupsInToken;
    this.idTokenOnRefresh = idTokenOnRefresh;
    this.refreshReuseRevokesFamily = refreshReuseRevokesFamily;
  }
}
