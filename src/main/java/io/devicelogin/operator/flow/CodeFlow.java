package io.devicelogin.operator.flow;

import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.callback.Receipt;
import io.devicelogin.operator.idp.RedirectResponse;
import io.devicelogin.operator.idp.TokenPollResult;
import io.devicelogin.operator.messages.Messages;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The authorization code grant's client rules (RFC 6749 section 4.1, RFC 7636, RFC 9207, RFC 9700): plain Java, no
 * I/O, no clock of its own. What a response must be to be accepted for a grant, and what each outcome means for the
 * login.
 */
public final class CodeFlow {

  /** How long an authorization URL's state is accepted (the contract's default). */
  public static final Duration STATE_LIFETIME = Duration.ofMinutes(10);

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");
  private static final Pattern RANDOM_PART = Pattern.compile("[A-Za-z0-9_-]{43}");

  private CodeFlow() {}

  /** The DeviceLogin a state names. */
  public record Target(String namespace, String name) {}

  /** What to do with a response for a grant. */
  public sealed interface Verdict {
    /** Store {@code grant} (which now holds the response); tell the sender {@code receipt}. */
    record Accept(CodeGrant grant, Receipt receipt) implements Verdict {}

    /** Change nothing; tell the sender {@code receipt}, and the login's condition {@code message}. */
    record Refuse(Receipt receipt, String message) implements Verdict {}
  }

  /**
   * A fresh state for the login {@code namespace/name}: {@code <namespace>.<name>.<256 random bits>}. The name lets any
   * operator replica find the login's grant Secret with one read when a response arrives; the random part is what
   * makes it unguessable.
   */
  public static String newState(String namespace, String name) {
    byte[] random = new byte[32];
    RANDOM.nextBytes(random);
    return namespace + "." + name + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
  }

  /** The login a state names, if it has the shape {@link #newState} gives (anything else names none). */
  public static Optional<Target> target(String state) {
    if (state == null) {
      return Optional.empty();
    }
    int first = state.indexOf('.');
    int last = state.lastIndexOf('.');
    if (first <= 0 || last <= first + 1) {
      return Optional.empty();
    }
    String namespace = state.substring(0, first);
    String name = state.substring(first + 1, last);
    String random = state.substring(last + 1);
    if (!NAMESPACE.matcher(namespace).matches() || !NAME.matcher(name).matches()
        || !RANDOM_PART.matcher(random).matches()) {
      return Optional.empty();
    }
    return Optional.of(new Target(namespace, name));
  }

  /**
   * Whether {@code response} may complete {@code grant} at {@code now}: its state is the grant's (compared in constant
   * time), the grant has no response yet (a state is used once) and has not expired, and {@code iss} names the grant's
   * issuer (when sent; required when the IdP says it sends it). A refusal changes nothing.
   */
  public static Verdict judge(CodeGrant grant, RedirectResponse response, Instant now) {
    if (response instanceof RedirectResponse.Unreadable unreadable) {
      return new Verdict.Refuse(Receipt.UNREADABLE, "A response was refused: " + unreadable.why() + ".");
    }
    String state = response instanceof RedirectResponse.Code code ? code.state()
        : ((RedirectResponse.Error) response).state();
    String issuer = response instanceof RedirectResponse.Code code ? code.issuer()
        : ((RedirectResponse.Error) response).issuer();
    if (state == null || !MessageDigest.isEqual(
        state.getBytes(StandardCharsets.UTF_8), grant.state().getBytes(StandardCharsets.UTF_8))) {
      return new Verdict.Refuse(Receipt.UNKNOWN_STATE, "A response was refused: its state is not the one of this "
          + "login's authorization URL (an older or another login's response).");
    }
    if (grant.response() != null || grant.exchanging()) {
      return new Verdict.Refuse(Receipt.UNKNOWN_STATE, "A response was refused: this login's state was already used.");
    }
    if (!now.isBefore(grant.expiresAt())) {
      return new Verdict.Refuse(Receipt.UNKNOWN_STATE, "A response was refused: this login's state expired at "
          + grant.expiresAt() + ".");
    }
    if (issuer == null ? grant.issRequired() : !issuer.equals(grant.issuerUrl())) {
      return new Verdict.Refuse(Receipt.REFUSED, "A response was refused: " + (issuer == null
          ? "it has no iss parameter, which this IdP sends with every response (RFC 9207)"
          : "its iss parameter names another issuer than " + grant.issuerUrl() + " (RFC 9207)") + ".");
    }
    return new Verdict.Accept(grant.withResponse(response),
        response instanceof RedirectResponse.Code ? Receipt.ACCEPTED : Receipt.ERROR_RECORDED);
  }

  /** The end of a login whose IdP answered its authorization request with an error. */
  public static Step.End refused(RedirectResponse.Error error) {
    String what = "The IdP answered the sign-in with " + error.error()
        + (error.description() == null || error.description().isEmpty() ? "" : " (" + error.description() + ")");
    return error.denied()
        ? new Step.End(Phase.Denied, Reason.AccessDenied, what + ". " + Messages.startOverHint())
        : new Step.End(Phase.Failed, Reason.InvalidTokenResponse, what + "; no tokens were issued. "
            + Messages.startOverHint());
  }

  /** What the exchange of the code gave, for all but tokens that validated or wait for a check of their ID token. */
  public static Step.End exchangeFailed(TokenPollResult result) {
    if (result instanceof TokenPollResult.AccessDenied) {
      return new Step.End(Phase.Denied, Reason.AccessDenied, "The IdP refused to exchange the authorization code "
          + "(access_denied). " + Messages.startOverHint());
    }
    if (result instanceof TokenPollResult.Unavailable unavailable) {
      return new Step.End(Phase.Failed, Reason.IdPUnavailable, "The IdP did not answer the exchange of the "
          + "authorization code (" + unavailable.message() + "). A code is valid only once, so it is not sent again. "
          + Messages.startOverHint());
    }
    String message = result instanceof TokenPollResult.Invalid invalid ? invalid.message()
        : "the token endpoint answered the code exchange with a device grant answer ("
            + result.getClass().getSimpleName() + ")";
    return new Step.End(Phase.Failed, Reason.InvalidTokenResponse, Messages.capitalize(message)
        + ". No Secret was written. " + Messages.startOverHint());
  }

  /** The end of a login whose code an earlier run may have sent to the IdP without recording what came back. */
  public static Step.End interrupted() {
    return new Step.End(Phase.Failed, Reason.CodeExchangeInterrupted, "The operator stopped while exchanging this "
        + "login's authorization code and did not get its tokens; a code is valid only once, so it is not sent again. "
        + Messages.startOverHint());
  }

  /** The end of a login whose authorization URL expired before a response arrived. */
  public static Step.End expired(CodeGrant grant) {
    return new Step.End(Phase.Expired, Reason.ExpiredToken, "The authorization URL expired at " + grant.expiresAt()
        + " before a sign-in response arrived. " + Messages.startOverHint());
  }

  /** What the person must do, for the Ready condition and the Event. */
  public static String waitingMessage(CodeGrant grant) {
    return "Open status.authorizationUrl in your browser and sign in before " + grant.expiresAt() + ". Then hand the "
        + "address the browser is sent to (" + grant.redirectUri() + "...) to the operator: paste it into a Secret of "
        + "type devicelogin.io/authorization-response, into the operator's callback page, or let the local relay "
        + "forward it.";
  }
}
