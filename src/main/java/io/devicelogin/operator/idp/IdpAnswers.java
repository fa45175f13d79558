package io.devicelogin.operator.idp;

import com.nimbusds.common.contenttype.ContentType;
import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.TokenErrorResponse;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.util.JSONObjectUtils;
import io.devicelogin.operator.messages.Messages;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/**
 * Reads what an IdP endpoint answered (JSON whatever its label, an OAuth error) and words it for messages. Anything
 * quoted from an answer is masked and bounded, and the code or token the request carried is never quoted.
 */
final class IdpAnswers {

  private IdpAnswers() {}

  /**
   * A JSON object is read as JSON whatever the {@code Content-Type} says: some IdPs and proxies label JSON
   * {@code text/plain} or {@code text/html}, and a token response is validated on its content (the ID token's
   * signature), not its label.
   */
  static void readJsonAsJson(HTTPResponse response) {
    String body = response.getBody();
    if (body == null || isJson(response.getEntityContentType()) || !body.stripLeading().startsWith("{")) {
      return;
    }
    try {
      JSONObjectUtils.parse(body);
    } catch (ParseException e) {
      return;
    }
    response.setEntityContentType(ContentType.APPLICATION_JSON);
  }

  /**
   * Google's device authorization answer names the verification URI {@code verification_url} (an early draft of RFC
   * 8628); Nimbus requires {@code verification_uri}. A 200 JSON answer that has only the former gets it as the latter,
   * so it is parsed, checked and published exactly as a {@code verification_uri} is.
   */
  static void readVerificationUrlAsUri(HTTPResponse response) {
    if (response.getStatusCode() != 200 || !isJson(response.getEntityContentType())) {
      return;
    }
    net.minidev.json.JSONObject json;
    try {
      json = JSONObjectUtils.parse(response.getBody());
    } catch (ParseException e) {
      return;
    }
    if (json.containsKey("verification_uri") || !(json.get("verification_url") instanceof String url)) {
      return;
    }
    json.put("verification_uri", url);
    response.setBody(json.toJSONString());
  }

  /**
   * The wait an answer asks for with {@code Retry-After} (RFC 9110 section 10.2.3: seconds or an HTTP date), unbounded
   * (callers bound it); null when there is none or it is unreadable. A date in the past is zero.
   */
  static Duration retryAfter(HTTPResponse response, Instant now) {
    String value = response.getHeaderValue("Retry-After");
    if (value == null || value.isBlank()) {
      return null;
    }
    String trimmed = value.strip();
    if (trimmed.matches("\\d{1,9}")) {
      return Duration.ofSeconds(Long.parseLong(trimmed));
    }
    try {
      Instant at = ZonedDateTime.parse(trimmed, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
      return at.isAfter(now) ? Duration.between(now, at) : Duration.ZERO;
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  private static boolean isJson(ContentType type) {
    return type != null && (type.matches(ContentType.APPLICATION_JSON) || type.hasSubTypeSuffix("json"));
  }

  /**
   * For a 200 answer with no JSON at all (an HTML or text page, an empty body): what it is, in words — not an answer of
   * the OAuth endpoint but of something in front of it (a proxy, a load balancer, a maintenance page), so it says
   * nothing about the grant and is worth retrying. Null when the answer is JSON (valid or not).
   */
  static String notJson(String what, HTTPResponse response) {
    if (isJson(response.getEntityContentType())) {
      return null;
    }
    String body = response.getBody();
    String got = body == null || body.isBlank() ? "an empty body" : "a body of " + body.length() + " characters";
    return what + " answered HTTP " + response.getStatusCode() + " with " + got + " instead of JSON; a proxy, load "
        + "balancer or maintenance page may be answering for the IdP";
  }

  /** The OAuth error in an answer, or null when it carries none. */
  static ErrorObject errorOf(HTTPResponse response) {
    try {
      ErrorObject error = TokenErrorResponse.parse(response).getErrorObject();
      return error == null || error.getCode() == null ? null : error;
    } catch (ParseException e) {
      return null;
    }
  }

  /**
   * The IdP's error code and description, both masked and bounded (the IdP chooses both, and may echo what it got).
   *
   * @param sent the device code or refresh token the request carried, masked even when shorter than what
   *     {@link Messages#fromIdp} recognises as token-like; null if none
   */
  static String describe(ErrorObject error, String sent) {
    String code = fromIdp(error.getCode(), sent);
    String description = error.getDescription();
    if (description == null || description.isBlank()) {
      return code;
    }
    return code + " (" + fromIdp(description, sent) + ")";
  }

  /** Text that may carry parts of the IdP's answer, made safe to show: {@link Messages#fromIdp} and {@code sent}. */
  static String fromIdp(String text, String sent) {
    String unmasked = text == null ? "" : text;
    if (sent != null && !sent.isEmpty()) {
      unmasked = unmasked.replace(sent, "[redacted]");
    }
    return Messages.fromIdp(unmasked);
  }
}
