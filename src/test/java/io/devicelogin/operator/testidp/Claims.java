package io.devicelogin.operator.testidp;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The user a {@link FakeIdp} issues an ID token for: {@code sub}, {@code email}, {@code groups},
 * {@code preferred_username} and any further claims. Immutable; every {@code with}-style method
 * returns a copy, so one instance can be shared between tests and threads.
 *
 * <pre>{@code
 * Claims alice = Claims.user("alice").groups("dev", "ops").claim("department", "R&D");
 * }</pre>
 */
public final class Claims {

  private final String subject;
  private final String email;
  private final List<String> groups;
  private final String preferredUsername;
  private final Map<String, Object> extra;
  private final boolean emailVerifiedSent;

  private Claims(
      String subject, String email, List<String> groups, String preferredUsername, Map<String, Object> extra) {
    this(subject, email, groups, preferredUsername, extra, true);
  }

  private Claims(String subject, String email, List<String> groups, String preferredUsername,
      Map<String, Object> extra, boolean emailVerifiedSent) {
    this.subject = Objects.requireNonNull(subject, "subject");
    this.email = email;
    this.groups = List.copyOf(groups);
    this.preferredUsername = preferredUsername;
    this.extra = Map.copyOf(extra);
    this.emailVerifiedSent = emailVerifiedSent;
  }

  /** A user with only a {@code sub} claim. */
  public static Claims subject(String subject) {
    return new Claims(subject, null, List.of(), null, Map.of());
  }

  /**
   * A typical user: {@code sub} = {@code "sub-" + username}, {@code preferred_username} = username,
   * {@code email} = {@code username + "@example.com"} with {@code email_verified: true} (as Keycloak, Google and Okta
   * send it), no groups.
   */
  public static Claims user(String username) {
    return new Claims("sub-" + username, username + "@example.com", List.of(), username, Map.of());
  }

  /**
   * A copy with this {@code email} ({@code null} leaves the claim out, and email_verified with it); email_verified is
   * true unless set with {@link #claim}, e.g. {@code claim("email_verified", false)}.
   */
  public Claims email(String email) {
    return new Claims(subject, email, groups, preferredUsername, extra, emailVerifiedSent);
  }

  /** A copy whose ID token has the email but no email_verified claim (Entra ID sends none). */
  public Claims withoutEmailVerified() {
    return new Claims(subject, email, groups, preferredUsername, extra, false);
  }

  /** A copy with these {@code groups}, replacing any set before. */
  public Claims groups(String... groups) {
    return new Claims(subject, email, List.of(groups), preferredUsername, extra, emailVerifiedSent);
  }

  /** A copy with this {@code preferred_username} ({@code null} leaves the claim out). */
  public Claims preferredUsername(String preferredUsername) {
    return new Claims(subject, email, groups, preferredUsername, extra, emailVerifiedSent);
  }

  /**
   * A copy with one more claim, e.g. a custom username or groups claim. It overrides the standard
   * claim of the same name, so {@code claim("groups", "not-a-list")} tests a malformed claim.
   */
  public Claims claim(String name, Object value) {
    Map<String, Object> more = new LinkedHashMap<>(extra);
    more.put(name, value);
    return new Claims(subject, email, groups, preferredUsername, more, emailVerifiedSent);
  }

  /**
   * A copy as Entra ID sends a user in more groups than fit in a token: no {@code groups} claim, but the overage
   * marker {@code _claim_names.groups} pointing at {@code _claim_sources} (Microsoft Graph).
   */
  public Claims withGroupsOverage() {
    Map<String, Object> more = new LinkedHashMap<>(extra);
    more.put("_claim_names", Map.of("groups", "src1"));
    more.put("_claim_sources", Map.of("src1", Map.of(
        "endpoint", "https://graph.microsoft.com/v1.0/users/" + subject + "/getMemberObjects")));
    return new Claims(subject, email, List.of(), preferredUsername, more, emailVerifiedSent);
  }

  /** How many groups the {@code groups} claim lists. */
  int groupCount() {
    return groups.size();
  }

  /** The {@code sub} claim. */
  public String subject() {
    return subject;
  }

  /** The claims as they go into the ID token, {@code sub} included; absent claims are left out. */
  public Map<String, Object> toMap() {
    Map<String, Object> claims = new LinkedHashMap<>();
    claims.put("sub", subject);
    if (email != null) {
      claims.put("email", email);
      if (emailVerifiedSent) {
        claims.put("email_verified", true);
      }
    }
    if (!groups.isEmpty()) {
      claims.put("groups", groups);
    }
    if (preferredUsername != null) {
      claims.put("preferred_username", preferredUsername);
    }
    claims.putAll(extra);
    return claims;
  }

  @Override
  public String toString() {
    return "Claims" + toMap();
  }
}
