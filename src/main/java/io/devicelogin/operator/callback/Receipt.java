package io.devicelogin.operator.callback;

/**
 * What became of a delivered redirect, for the page the person sees. The texts are fixed: they never repeat a byte of
 * the request.
 */
public enum Receipt {
  /** Stored with its login; the operator exchanges the code next. */
  ACCEPTED(true, "Signed in. The operator finishes the login now; you can close this page."),
  /** The IdP's error (the person declined, or the IdP refused) was stored with its login, which ends. */
  ERROR_RECORDED(true, "The identity provider did not sign you in. The login has ended; start a new one."),
  /** Not a redirect the operator can read (no state, no code, a parameter twice, too long). */
  UNREADABLE(false, "This is not a sign-in response the operator can read. Paste the full address your browser "
      + "was sent to after signing in."),
  /** No waiting login has this state, or it was used or expired. */
  UNKNOWN_STATE(false, "This sign-in response matches no waiting login: it was already used, it expired, or it "
      + "belongs to another login. Start the login again."),
  /** The login's state matched, but the response failed a check (the {@code iss} parameter). */
  REFUSED(false, "This sign-in response was refused (it does not come from the login's identity provider). The "
      + "login keeps waiting for a valid one."),
  /** The operator could not store the response now (API server unavailable); the person may retry. */
  UNAVAILABLE(false, "The operator could not take the response right now. Try again in a moment.");

  private final boolean accepted;
  private final String page;

  Receipt(boolean accepted, String page) {
    this.accepted = accepted;
    this.page = page;
  }

  /** Whether the response was stored with its login. */
  public boolean accepted() {
    return accepted;
  }

  /** The fixed text for the person. */
  public String page() {
    return page;
  }
}
