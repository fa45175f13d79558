package io.devicelogin.operator.idp;

/** A call to the IdP failed. Messages never contain a secret, a token or a device code. */
public class IdpException extends Exception {

  /** Whether trying again later may help. */
  public enum Kind {
    /** Network error, timeout or 5xx: try again later. */
    UNAVAILABLE,
    /** The IdP answered, but with something the operator cannot use: the configuration needs fixing. */
    REJECTED,
    /**
     * A namespaced provider's endpoint is not one the operator may contact for a tenant (an address in
     * IDP_DENIED_CIDRS, another origin than the issuer's); no request was sent to it.
     */
    NOT_ALLOWED
  }

  private final Kind kind;

  public IdpException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public IdpException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
