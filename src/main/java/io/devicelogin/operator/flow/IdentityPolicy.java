package io.devicelogin.operator.flow;

import io.devicelogin.operator.api.v1alpha1.Identity;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.idp.IdpLimits;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/** Reads who logged in from validated ID token claims and decides whether they may have the Secret. */
public final class IdentityPolicy {

  /** The outcome: an accepted identity or the reason it was refused. */
  public sealed interface Decision {
    record Accepted(Identity identity) implements Decision {}

    record Refused(Reason reason, String message) implements Decision {}
  }

  private IdentityPolicy() {}

  /**
   * @param expectedUser spec.user, or null to accept anyone
   * @param allowedGroups the provider's allowedGroups, or null/empty to accept any group
   * @param emailVerifiedSent whether the IdP sends email_verified (the provider's emailVerifiedClaim is not NotSent):
   *     then an email username needs email_verified true, else only email_verified false refuses it
   */
  public static Decision decide(
      Map<String, Object> claims, String usernameClaim, String groupsClaim, String expectedUser,
      List<String> allowedGroups, boolean emailVerifiedSent) {
    Object rawUsername = claims.get(usernameClaim);
    if (!(rawUsername instanceof String username) || username.isBlank()) {
      return new Decision.Refused(
          Reason.InvalidTokenResponse,
          "The ID token has no string claim '" + usernameClaim + "' to name the user; set the provider's "
              + "usernameClaim to a claim the IdP sends (for example email, preferred_username or sub) or add the "
              + "scope that carries it. No Secret was written.");
    }
    if (username.length() > IdpLimits.MAX_IDENTITY_CLAIM_CHARS || username.chars().anyMatch(Character::isISOControl)) {
      // it names Secrets, annotations, messages and log lines: never an unbounded or multi-line value
      return new Decision.Refused(
          Reason.InvalidTokenResponse,
          "The ID token's claim '" + usernameClaim + "' is not usable as a username: it is longer than "
              + IdpLimits.MAX_IDENTITY_CLAIM_CHARS + " characters or holds control characters. No Secret was written.");
    }
    Object verified = claims.get("email_verified");
    if ("email".equals(usernameClaim) && Boolean.FALSE.equals(verified)) {
      return new Decision.Refused(
          Reason.IdentityMismatch,
          "The ID token names the user by the email '" + username + "', but the IdP says that address is not "
              + "verified (email_verified: false); verify it at the IdP or set the provider's usernameClaim to a "
              + "claim the IdP vouches for. No Secret was written.");
    }
    if ("email".equals(usernameClaim) && emailVerifiedSent && !Boolean.TRUE.equals(verified)) {
      return new Decision.Refused(
          Reason.IdentityMismatch,
          "The ID token names the user by the email '" + username + "' but does not say the IdP verified it "
              + "(email_verified is " + (verified == null ? "absent" : "not true") + "); anyone able to set that "
              + "address at the IdP could otherwise log in as its owner. Have the IdP send email_verified (for "
              + "example the email scope), set the provider's usernameClaim to a claim the IdP vouches for, or, for "
              + "an IdP that never sends email_verified (Entra ID), set the provider's emailVerifiedClaim: NotSent. "
              + "No Secret was written.");
    }
    List<String> groups = groups(claims.get(groupsClaim));
    Identity identity = new Identity(
        username, stringClaim(claims, "sub"), stringClaim(claims, "email"), groups);
    if (expectedUser != null && !expectedUser.equals(username)) {
      return new Decision.Refused(
          Reason.IdentityMismatch,
          "The login was approved by '" + username + "' but spec.user is '" + expectedUser
              + "'; only that user may complete it. No Secret was written.");
    }
    if (allowedGroups != null && !allowedGroups.isEmpty() && groups.stream().noneMatch(allowedGroups::contains)) {
      return new Decision.Refused(
          Reason.GroupNotAllowed,
          "User '" + username + "' is in none of the provider's allowedGroups " + allowedGroups
              + ". No Secret was written.");
    }
    return new Decision.Accepted(identity);
  }

  private static String stringClaim(Map<String, Object> claims, String name) {
    return claims.get(name) instanceof String value ? value : null;
  }

  private static List<String> groups(Object claim) {
    if (claim instanceof Collection<?> values) {
      return values.stream().filter(String.class::isInstance).map(String.class::cast).toList();
    }
    if (claim instanceof String single && !single.isBlank()) {
      return List.of(single);
    }
    return List.of();
  }
}
