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
    boolean overage = groupsOverage(claims, groupsClaim);
    List<String> groups = groups(claims.get(groupsClaim));
    // with an overage the groups are unknown, not none: status.identity.groups is left out rather than shown empty
    Identity identity = new Identity(
        username, stringClaim(claims, "sub"), stringClaim(claims, "email"), overage ? null : groups);
    if (expectedUser != null && !expectedUser.equals(username)) {
      return new Decision.Refused(
          Reason.IdentityMismatch,
          "The login was approved by '" + username + "' but spec.user is '" + expectedUser
              + "'; only that user may complete it. No Secret was written.");
    }
    if (allowedGroups != null && !allowedGroups.isEmpty() && overage) {
      return new Decision.Refused(
          Reason.GroupNotAllowed,
          "The ID token of '" + username + "' carries a groups overage marker instead of the claim '" + groupsClaim
              + "' (_claim_names/hasgroups: the user is in more groups than the IdP puts in a token, Entra ID sends at "
              + "most 200), so the operator can't tell whether the user is in one of the provider's allowedGroups "
              + allowedGroups + "; resolving them needs Microsoft Graph, which the operator does not call. Have the "
              + "IdP send only the groups assigned to the application (Entra ID: groupMembershipClaims "
              + "ApplicationGroup) or use app roles as the groupsClaim. No Secret was written.");
    }
    if (allowedGroups != null && !allowedGroups.isEmpty() && groups.stream().noneMatch(allowedGroups::contains)) {
      return new Decision.Refused(
          Reason.GroupNotAllowed,
          "User '" + username + "' is in none of the provider's allowedGroups " + allowedGroups
              + ". No Secret was written.");
    }
    return new Decision.Accepted(identity);
  }

  /**
   * Whether the token says the groups did not fit in it (Entra ID's overage: {@code _claim_names} naming the groups
   * claim, or {@code hasgroups: true}) and does not carry the claim itself.
   */
  private static boolean groupsOverage(Map<String, Object> claims, String groupsClaim) {
    if (claims.get(groupsClaim) != null) {
      return false;
    }
    return claims.get("_claim_names") instanceof Map<?, ?> names && names.containsKey(groupsClaim)
        || "groups".equals(groupsClaim) && Boolean.TRUE.equals(claims.get("hasgroups"));
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
