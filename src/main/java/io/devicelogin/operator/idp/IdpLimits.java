package io.devicelogin.operator.idp;

import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * The bounds the operator puts on values an IdP sends, in one place. An IdP (a tenant's, for a namespaced provider)
 * chooses them, and they decide how long grants are polled, how often, and what is stored and shown.
 */
public final class IdpLimits {

  /**
   * The shortest device grant lifetime used: 1 s. A short {@code expires_in} is honoured as sent (the grant ends when
   * the IdP says, and is never polled after that); only zero and negative values are raised, so a grant is never
   * already over when it starts.
   */
  public static final Duration MIN_GRANT_LIFETIME = Duration.ofSeconds(1);

  /**
   * The longest device grant lifetime used: 30 minutes, RFC 8628's example value (1800 s) and more than Keycloak's
   * (600 s), Entra ID's (900 s) or Okta's (600 s) defaults; a longer {@code expires_in} would keep a grant that
   * nobody approves polled for as long as the IdP likes.
   */
  public static final Duration MAX_GRANT_LIFETIME = Duration.ofMinutes(30);

  /** The shortest poll interval used, whatever {@code interval} says (0 would poll without pause). */
  public static final Duration MIN_INTERVAL = Duration.ofSeconds(1);

  /**
   * The longest poll interval the IdP may ask for with {@code interval}: 60 s, twelve times RFC 8628's default of 5 s.
   * slow_down answers add to the interval in use as before.
   */
  public static final Duration MAX_INTERVAL = Duration.ofSeconds(60);

  /**
   * The longest ID, access or refresh token accepted: 64 KiB each. ID tokens are a few KiB; all tokens of a login go
   * into one Secret (at most 1 MiB), and are held in memory for every login.
   */
  public static final int MAX_TOKEN_CHARS = 64 * 1024;

  /**
   * The longest value accepted for the claims that name a person ({@code sub}, {@code email},
   * {@code preferred_username}, {@code name}): 1,024 characters; they end up in Secret labels, annotations and status.
   */
  public static final int MAX_IDENTITY_CLAIM_CHARS = 1024;

  /**
   * The most token text (ID, access and refresh token together) held in memory unchecked while an IdP's signing keys
   * can't be fetched (up to {@link NimbusIdentityProviderClient#MAX_UNVERIFIED_HOLD}): real token responses are a few
   * KiB, so 16 KiB keeps 1,000 such logins under 16 MiB of heap; a larger answer is refused instead of held.
   */
  public static final int MAX_UNVERIFIED_CHARS = 16 * 1024;

  /** The longest user code published: 64 characters (RFC 8628 recommends 8). */
  public static final int MAX_USER_CODE_CHARS = 64;

  /**
   * Longest verification URI published (characters): a link a person opens, shown in status and stored in the grant
   * Secret; an IdP sending more (kilobytes of query) would only bloat both.
   */
  public static final int MAX_VERIFICATION_URI_CHARS = 2048;

  private static final java.util.List<String> IDENTITY_CLAIMS = java.util.List.of(
      "sub", "email", "preferred_username", "name");

  private IdpLimits() {}

  /** {@code expires_in} clamped to [{@link #MIN_GRANT_LIFETIME}, {@link #MAX_GRANT_LIFETIME}]. */
  public static Duration grantLifetime(long expiresInSeconds) {
    return clamp(Duration.ofSeconds(Math.max(0, expiresInSeconds)), MIN_GRANT_LIFETIME, MAX_GRANT_LIFETIME);
  }

  /**
   * {@code interval} clamped to [{@link #MIN_INTERVAL}, {@link #MAX_INTERVAL}];
   * {@link DeviceAuthorization#DEFAULT_INTERVAL} when the IdP sent none (0).
   */
  public static Duration interval(long intervalSeconds) {
    if (intervalSeconds == 0) {
      return DeviceAuthorization.DEFAULT_INTERVAL;
    }
    return clamp(Duration.ofSeconds(Math.max(0, intervalSeconds)), MIN_INTERVAL, MAX_INTERVAL);
  }

  private static Duration clamp(Duration value, Duration min, Duration max) {
    return value.compareTo(min) < 0 ? min : value.compareTo(max) > 0 ? max : value;
  }

  /**
   * What is wrong with a user code, or null if it may be published: at most {@link #MAX_USER_CODE_CHARS} printable
   * characters (no control, format or separator characters other than a plain space).
   */
  public static String userCodeProblem(String userCode) {
    if (userCode == null || userCode.isBlank()) {
      return "an empty user_code";
    }
    if (userCode.codePointCount(0, userCode.length()) > MAX_USER_CODE_CHARS) {
      return "a user_code longer than " + MAX_USER_CODE_CHARS + " characters";
    }
    boolean printable = userCode.codePoints().allMatch(c -> c == ' ' || switch (Character.getType(c)) {
      case Character.CONTROL, Character.FORMAT, Character.SPACE_SEPARATOR, Character.LINE_SEPARATOR,
          Character.PARAGRAPH_SEPARATOR, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED -> false;
      default -> true;
    });
    return printable ? null : "a user_code with characters that are not printable";
  }

  /**
   * What is wrong with a verification URI, or null if it may be published: absolute, {@code https} (or {@code http}
   * when the provider allows insecure http), with a host and without user info, so a portal can render it as a link
   * that leads where it says, and at most {@value #MAX_VERIFICATION_URI_CHARS} characters.
   *
   * @param name the parameter, for the message ("verification_uri")
   */
  public static String verificationUriProblem(String name, URI uri, boolean insecureHttpAllowed) {
    if (uri == null) {
      return null;
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("https") || (insecureHttpAllowed && scheme.equals("http")))) {
      return "a " + name + " that is not an " + (insecureHttpAllowed ? "http(s)" : "https") + " URL";
    }
    if (uri.getHost() == null || uri.getHost().isEmpty() || uri.getRawUserInfo() != null) {
      return "a " + name + " without a plain host";
    }
    if (uri.toString().length() > MAX_VERIFICATION_URI_CHARS) {
      return "a " + name + " longer than " + MAX_VERIFICATION_URI_CHARS + " characters";
    }
    return null;
  }

  /** The first identity claim longer than {@link #MAX_IDENTITY_CLAIM_CHARS}, or null. */
  public static String oversizedIdentityClaim(Map<String, Object> claims) {
    for (String name : IDENTITY_CLAIMS) {
      if (claims.get(name) instanceof String value && value.length() > MAX_IDENTITY_CLAIM_CHARS) {
        return name;
      }
    }
    return null;
  }
}
