package io.devicelogin.operator.testidp;

import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.OAuth2Error;
import com.nimbusds.oauth2.sdk.device.DeviceAuthorizationGrantError;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;

/**
 * A canned answer of a {@link FakeIdp} to one request: an OAuth 2.0 error, an arbitrary HTTP
 * response, or tokens. Used to script token polls ({@link Login#onNextPoll}), refreshes ({@link
 * FakeIdp#refreshWith}) and device authorization requests ({@link FakeIdp#onNextDeviceAuthorization}).
 */
public sealed interface Outcome {

  /** An OAuth 2.0 error response; its HTTP status is {@link ErrorObject#getHTTPStatusCode()}. */
  record Error(ErrorObject error) implements Outcome {
    public Error {
      Objects.requireNonNull(error, "error");
    }
  }

  /** Exactly this HTTP response, for malformed JSON, HTML error pages and the like. */
  record Raw(int status, String contentType, String body) implements Outcome {}

  /**
   * Tokens for {@code claims}, or, when {@code claims} is {@code null}, for the user the grant
   * belongs to; with the given defects.
   */
  record Tokens(Claims claims, Set<TokenVariant> variants) implements Outcome {
    public Tokens {
      variants = Set.copyOf(variants);
    }
  }

  /** 400 {@code authorization_pending}. */
  static Outcome pending() {
    return new Error(DeviceAuthorizationGrantError.AUTHORIZATION_PENDING);
  }

  /** 401 {@code authorization_pending}, as Dex answers. */
  static Outcome pendingAs401() {
    return new Error(DeviceAuthorizationGrantError.AUTHORIZATION_PENDING.setHTTPStatusCode(401));
  }

  /** 400 {@code slow_down}. */
  static Outcome slowDown() {
    return new Error(DeviceAuthorizationGrantError.SLOW_DOWN);
  }

  /** 400 {@code access_denied}: the user declined. */
  static Outcome denied() {
    return new Error(OAuth2Error.ACCESS_DENIED.setHTTPStatusCode(400));
  }

  /** 400 {@code expired_token}: the device code expired. */
  static Outcome expired() {
    return new Error(DeviceAuthorizationGrantError.EXPIRED_TOKEN);
  }

  /** 400 {@code invalid_grant}. */
  static Outcome invalidGrant() {
    return new Error(OAuth2Error.INVALID_GRANT);
  }

  /** Any OAuth 2.0 error, e.g. {@code error("unauthorized_client", 400)}. */
  static Outcome error(String code, int status) {
    return new Error(new ErrorObject(code, null, status));
  }

  /** Exactly this HTTP response. */
  static Outcome raw(int status, String contentType, String body) {
    return new Raw(status, contentType, body);
  }

  /** 500 with an HTML error page. */
  static Outcome serverError() {
    return raw(500, "text/html; charset=UTF-8", "<html><body><h1>500 Internal Server Error</h1></body></html>");
  }

  /** Tokens for this user, with the given defects. */
  static Outcome tokens(Claims claims, TokenVariant... variants) {
    return new Tokens(Objects.requireNonNull(claims, "claims"), Set.copyOf(Arrays.asList(variants)));
  }

  /** Tokens for the user the grant belongs to, with the given defects. */
  static Outcome tokens(TokenVariant... variants) {
    return new Tokens(null, Set.copyOf(Arrays.asList(variants)));
  }
}
