package io.devicelogin.operator.idp;

import com.nimbusds.oauth2.sdk.AuthorizationErrorResponse;
import com.nimbusds.oauth2.sdk.AuthorizationResponse;
import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.ParseException;
import java.net.URI;
import java.util.List;
import java.util.Map;

/**
 * What an IdP's redirect after an authorization request carried (RFC 6749 section 4.1.2, RFC 9207's {@code iss}),
 * read from the URL the browser was sent to or from the callback's query: untrusted input from whoever pasted or sent
 * it. Parsed with Nimbus; a parameter given twice, an oversized value or a response without {@code state} is
 * {@link Unreadable}. {@code toString} never shows a code.
 */
public sealed interface RedirectResponse {

  /** Longest redirect URL (or query) read: real ones are a few hundred characters. */
  int MAX_URL_CHARS = 8 * 1024;

  /** Longest {@code code} or {@code state} accepted. */
  int MAX_VALUE_CHARS = 2048;

  /** Longest {@code error_description} kept, after sanitising. */
  int MAX_DESCRIPTION_CHARS = 200;

  /** A successful redirect: an authorization code for the login {@code state} names. */
  record Code(String code, String state, String issuer) implements RedirectResponse {
    @Override
    public String toString() {
      return "Code[state=" + state + ", issuer=" + issuer + "]";
    }
  }

  /**
   * The IdP's refusal ({@code access_denied} when the person declined), with a sanitised description.
   *
   * @param state null when the IdP sent none (then it names no login)
   */
  record Error(String error, String description, String state, String issuer) implements RedirectResponse {
    /** Whether the person (or the IdP's policy) refused, as opposed to a failure. */
    public boolean denied() {
      return "access_denied".equals(error);
    }
  }

  /** Not a redirect the operator can read; {@code why} is a fixed text that repeats no input. */
  record Unreadable(String why) implements RedirectResponse {}

  /** Reads the full URL the browser was sent to (paste-back); only its query is used. */
  static RedirectResponse fromUrl(String url) {
    if (url == null || url.isBlank()) {
      return new Unreadable("no URL was given");
    }
    if (url.length() > MAX_URL_CHARS) {
      return new Unreadable("the URL is longer than " + MAX_URL_CHARS + " characters");
    }
    URI uri;
    try {
      uri = new URI(url.strip());
    } catch (java.net.URISyntaxException e) {
      return new Unreadable("the text is not a URL");
    }
    if (uri.getRawQuery() == null) {
      return new Unreadable("the URL has no query (the IdP puts code and state there)");
    }
    return fromQuery(uri.getRawQuery());
  }

  /** Reads a raw (URL-encoded) query string, as a callback request or a relay carries it. */
  static RedirectResponse fromQuery(String rawQuery) {
    if (rawQuery == null || rawQuery.isEmpty()) {
      return new Unreadable("the request has no query");
    }
    if (rawQuery.length() > MAX_URL_CHARS) {
      return new Unreadable("the query is longer than " + MAX_URL_CHARS + " characters");
    }
    Map<String, List<String>> parameters = com.nimbusds.oauth2.sdk.util.URLUtils.parseParameters(rawQuery);
    return fromParameters(parameters);
  }

  /** Reads decoded parameters (each name at most once, RFC 6749 section 3.1). */
  static RedirectResponse fromParameters(Map<String, List<String>> parameters) {
    for (Map.Entry<String, List<String>> parameter : parameters.entrySet()) {
      if (parameter.getValue().size() > 1) {
        return new Unreadable("a parameter is given more than once");
      }
      String value = parameter.getValue().isEmpty() ? "" : parameter.getValue().get(0);
      if (value != null && value.length() > MAX_VALUE_CHARS) {
        return new Unreadable("a parameter is longer than " + MAX_VALUE_CHARS + " characters");
      }
    }
    AuthorizationResponse response;
    try {
      response = AuthorizationResponse.parse(URI.create("urn:devicelogin:redirect"), parameters);
    } catch (ParseException | RuntimeException e) {
      return new Unreadable("it carries neither an authorization code nor an error");
    }
    String state = response.getState() == null ? null : response.getState().getValue();
    String issuer = response.getIssuer() == null ? null : response.getIssuer().getValue();
    if (response instanceof AuthorizationErrorResponse error) {
      ErrorObject object = error.getErrorObject();
      return new Error(printable(object.getCode(), 64), printable(object.getDescription(), MAX_DESCRIPTION_CHARS),
          state, issuer);
    }
    if (state == null || state.isEmpty()) {
      return new Unreadable("it has no state parameter");
    }
    // Nimbus reads a success response without code (response_type none): nothing to exchange
    com.nimbusds.oauth2.sdk.AuthorizationCode code = response.toSuccessResponse().getAuthorizationCode();
    if (code == null) {
      return new Unreadable("it carries neither an authorization code nor an error");
    }
    return new Code(code.getValue(), state, issuer);
  }

  /**
   * Keeps only the characters RFC 6749 allows in {@code error} and {@code error_description} (printable ASCII without
   * {@code "} and {@code \}), at most {@code max} of them: the text reaches a condition message.
   */
  private static String printable(String text, int max) {
    if (text == null) {
      return null;
    }
    StringBuilder kept = new StringBuilder();
    for (int i = 0; i < text.length() && kept.length() < max; i++) {
      char c = text.charAt(i);
      if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') {
        kept.append(c);
      }
    }
    return kept.toString();
  }
}
