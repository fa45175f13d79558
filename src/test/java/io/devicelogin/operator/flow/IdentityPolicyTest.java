package io.devicelogin.operator.flow;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.api.v1alpha1.Identity;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.idp.IdpLimits;
import io.devicelogin.operator.flow.IdentityPolicy.Decision;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IdentityPolicyTest {

  /** Claims as an IdP that vouches for its emails sends them: email_verified true with an email unless given. */
  private static Map<String, Object> claims(Object... keyValues) {
    Map<String, Object> claims = new HashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) {
      claims.put((String) keyValues[i], keyValues[i + 1]);
    }
    if (claims.containsKey("email")) {
      claims.putIfAbsent("email_verified", true);
    }
    return claims;
  }

  private static Identity accepted(Decision decision) {
    assertThat(decision).isInstanceOf(Decision.Accepted.class);
    return ((Decision.Accepted) decision).identity();
  }

  private static Decision.Refused refused(Decision decision) {
    assertThat(decision).isInstanceOf(Decision.Refused.class);
    return (Decision.Refused) decision;
  }

  @Test
  void usernameComesFromTheConfiguredClaim() {
    Map<String, Object> c = claims(
        "sub", "f81d4fae", "email", "alice@example.com", "preferred_username", "alice", "groups", List.of("dev"));
    assertThat(accepted(IdentityPolicy.decide(c, "email", "groups", null, null, true)))
        .isEqualTo(new Identity("alice@example.com", "f81d4fae", "alice@example.com", List.of("dev")));
    assertThat(accepted(IdentityPolicy.decide(c, "preferred_username", "groups", null, null, true)).getUsername())
        .isEqualTo("alice");
    assertThat(accepted(IdentityPolicy.decide(c, "sub", "groups", null, null, true)).getUsername())
        .isEqualTo("f81d4fae");
  }

  /** Issue #11: a username from any configured claim names Secrets, annotations and log lines. */
  @Test
  void aUsernameTooLongOrWithControlCharactersIsRefusedWithoutRepeatingIt() {
    for (String bad : new String[] {"x".repeat(IdpLimits.MAX_IDENTITY_CLAIM_CHARS + 1), "alice\nINFO forged line",
        "bob\u001b[31m", "carol\r"}) {
      Decision.Refused r = refused(IdentityPolicy.decide(
          claims("sub", "s", "upn", bad), "upn", "groups", null, null, true));
      assertThat(r.reason()).isEqualTo(Reason.InvalidTokenResponse);
      assertThat(r.message()).contains("'upn' is not usable as a username").doesNotContain(bad);
    }
    assertThat(accepted(IdentityPolicy.decide(claims("sub", "s", "upn", "x".repeat(
        IdpLimits.MAX_IDENTITY_CLAIM_CHARS)), "upn", "groups", null, null, true)).getUsername()).hasSize(1024);
  }

  @Test
  void missingUsernameClaimIsRefusedAsInvalidTokenResponse() {
    Decision.Refused r = refused(IdentityPolicy.decide(
        claims("sub", "s", "email", "a@b.c"), "preferred_username", "groups", null, null, true));
    assertThat(r.reason()).isEqualTo(Reason.InvalidTokenResponse);
    assertThat(r.message()).contains("'preferred_username'", "No Secret was written");
  }

  @Test
  void nonStringOrBlankUsernameClaimIsRefused() {
    for (Object bad : new Object[] {42, List.of("alice"), Map.of("a", "b"), true, "", "   "}) {
      Decision.Refused r = refused(IdentityPolicy.decide(
          claims("sub", "s", "username", bad), "username", "groups", null, null, true));
      assertThat(r.reason()).as("claim value %s", bad).isEqualTo(Reason.InvalidTokenResponse);
    }
  }

  @Test
  void usernameIsCheckedBeforeSpecUserAndGroups() {
    Decision.Refused r = refused(IdentityPolicy.decide(
        claims("sub", "s", "groups", List.of("x")), "email", "groups", "alice@example.com", List.of("admins"), true));
    assertThat(r.reason()).isEqualTo(Reason.InvalidTokenResponse);
  }

  @Test
  void specUserMatchingIsAccepted() {
    Identity id = accepted(IdentityPolicy.decide(
        claims("sub", "s", "email", "alice@example.com"), "email", "groups", "alice@example.com", null, true));
    assertThat(id.getUsername()).isEqualTo("alice@example.com");
  }

  @Test
  void specUserMismatchIsRefused() {
    Decision.Refused r = refused(IdentityPolicy.decide(
        claims("sub", "s", "email", "mallory@example.com"), "email", "groups", "alice@example.com", null, true));
    assertThat(r.reason()).isEqualTo(Reason.IdentityMismatch);
    assertThat(r.message()).contains("mallory@example.com", "alice@example.com", "No Secret was written");
  }

  @Test
  void specUserComparisonIsExact() {
    Decision.Refused r = refused(IdentityPolicy.decide(
        claims("sub", "s", "email", "Alice@example.com"), "email", "groups", "alice@example.com", null, true));
    assertThat(r.reason()).isEqualTo(Reason.IdentityMismatch);
  }

  @Test
  void identityMismatchIsReportedBeforeGroups() {
    Decision.Refused r = refused(IdentityPolicy.decide(
        claims("sub", "s", "email", "bob@example.com", "groups", List.of("none")), "email", "groups",
        "alice@example.com", List.of("admins"), true));
    assertThat(r.reason()).isEqualTo(Reason.IdentityMismatch);
  }

  @Test
  void allowedGroupsWithoutOverlapIsRefused() {
    Decision.Refused r = refused(IdentityPolicy.decide(
        claims("sub", "s", "email", "alice@example.com", "groups", List.of("dev", "ops")), "email", "groups", null,
        List.of("admins", "sre"), true));
    assertThat(r.reason()).isEqualTo(Reason.GroupNotAllowed);
    assertThat(r.message()).contains("alice@example.com", "admins", "sre", "No Secret was written");
  }

  @Test
  void allowedGroupsWithOverlapIsAccepted() {
    Identity id = accepted(IdentityPolicy.decide(
        claims("sub", "s", "email", "alice@example.com", "groups", List.of("dev", "sre")), "email", "groups", null,
        List.of("admins", "sre"), true));
    assertThat(id.getGroups()).containsExactly("dev", "sre");
  }

  @Test
  void emptyOrNullAllowedGroupsAcceptsAnyGroupsIncludingNone() {
    assertThat(accepted(IdentityPolicy.decide(claims("sub", "s", "email", "a@b.c"), "email", "groups", null,
        List.of(), true)).getGroups()).isEmpty();
    assertThat(accepted(IdentityPolicy.decide(claims("sub", "s", "email", "a@b.c"), "email", "groups", null,
        null, true)).getGroups()).isEmpty();
  }

  @Test
  void groupsClaimAsSingleString() {
    Identity id = accepted(IdentityPolicy.decide(
        claims("sub", "s", "email", "a@b.c", "roles", "sre"), "email", "roles", null, List.of("sre"), true));
    assertThat(id.getGroups()).containsExactly("sre");
  }

  @Test
  void groupsClaimAsListSkipsNonStrings() {
    Identity id = accepted(IdentityPolicy.decide(
        claims("sub", "s", "email", "a@b.c", "groups", Arrays.asList("dev", 7, null, "ops")), "email", "groups",
        null, null, true));
    assertThat(id.getGroups()).containsExactly("dev", "ops");
  }

  @Test
  void absentGroupsClaimMeansNoGroupsAndFailsAllowedGroups() {
    Map<String, Object> c = claims("sub", "s", "email", "a@b.c", "groups", List.of("sre"));
    // the provider reads a different claim than the one the IdP sends
    assertThat(accepted(IdentityPolicy.decide(c, "email", "roles", null, null, true)).getGroups()).isEmpty();
    assertThat(refused(IdentityPolicy.decide(c, "email", "roles", null, List.of("sre"), true)).reason())
        .isEqualTo(Reason.GroupNotAllowed);
  }

  @Test
  void blankOrNonStringGroupsClaimMeansNoGroups() {
    assertThat(accepted(IdentityPolicy.decide(claims("sub", "s", "email", "a@b.c", "groups", " "), "email",
        "groups", null, null, true)).getGroups()).isEmpty();
    assertThat(accepted(IdentityPolicy.decide(claims("sub", "s", "email", "a@b.c", "groups", 12), "email",
        "groups", null, null, true)).getGroups()).isEmpty();
  }

  @Test
  void emailIsOptionalAndOnlyTakenWhenAString() {
    Identity noEmail = accepted(IdentityPolicy.decide(
        claims("sub", "s", "preferred_username", "alice"), "preferred_username", "groups", null, null, true));
    assertThat(noEmail.getEmail()).isNull();
    assertThat(noEmail.getSubject()).isEqualTo("s");

    Identity badEmail = accepted(IdentityPolicy.decide(
        claims("sub", "s", "preferred_username", "alice", "email", List.of("x@y.z")), "preferred_username",
        "groups", null, null, true));
    assertThat(badEmail.getEmail()).isNull();

    Identity withEmail = accepted(IdentityPolicy.decide(
        claims("sub", "s", "preferred_username", "alice", "email", "alice@example.com"), "preferred_username",
        "groups", null, null, true));
    assertThat(withEmail.getEmail()).isEqualTo("alice@example.com");
  }

  @Test
  void anEmailTheIdpMarksUnverifiedIsNotAUsername() {
    java.util.Map<String, Object> claims = new java.util.HashMap<>();
    claims.put("sub", "s-1");
    claims.put("email", "alice@example.com");
    claims.put("email_verified", false);
    IdentityPolicy.Decision decision = IdentityPolicy.decide(claims, "email", "groups", null, null, true);
    org.assertj.core.api.Assertions.assertThat(decision).isInstanceOf(IdentityPolicy.Decision.Refused.class);
    org.assertj.core.api.Assertions.assertThat(((IdentityPolicy.Decision.Refused) decision).message())
        .contains("not verified");
    claims.put("email_verified", true);
    org.assertj.core.api.Assertions.assertThat(IdentityPolicy.decide(claims, "email", "groups", null, null, true))
        .isInstanceOf(IdentityPolicy.Decision.Accepted.class);
    claims.put("email_verified", false);
    claims.put("preferred_username", "alice");
    org.assertj.core.api.Assertions.assertThat(
            IdentityPolicy.decide(claims, "preferred_username", "groups", null, null, true))
        .as("only an email username needs a verified email").isInstanceOf(IdentityPolicy.Decision.Accepted.class);
  }

  @Test
  void anEmailUsernameNeedsEmailVerifiedTrueUnlessTheProviderSaysTheIdpDoesNotSendIt() {
    Map<String, Object> absent = new HashMap<>(Map.of("sub", "s-1", "email", "mallory@example.com"));
    Decision.Refused r = refused(IdentityPolicy.decide(absent, "email", "groups", null, null, true));
    assertThat(r.reason()).isEqualTo(Reason.IdentityMismatch);
    assertThat(r.message()).contains("email_verified is absent", "emailVerifiedClaim: NotSent", "No Secret was written");
    assertThat(accepted(IdentityPolicy.decide(absent, "email", "groups", null, null, false)).getUsername())
        .as("emailVerifiedClaim NotSent (Entra ID)").isEqualTo("mallory@example.com");
    absent.put("preferred_username", "mallory");
    assertThat(accepted(IdentityPolicy.decide(absent, "preferred_username", "groups", null, null, true))
        .getUsername()).as("an email claim that is not the username needs no verification").isEqualTo("mallory");

    for (Object notTrue : new Object[] {"true", 1, "yes", List.of(true)}) {
      Map<String, Object> c = new HashMap<>(Map.of("sub", "s-1", "email", "a@example.com", "email_verified", notTrue));
      assertThat(refused(IdentityPolicy.decide(c, "email", "groups", null, null, true)).message())
          .as("email_verified %s", notTrue).contains("email_verified is not true");
    }
    Map<String, Object> unverified =
        new HashMap<>(Map.of("sub", "s-1", "email", "a@example.com", "email_verified", false));
    assertThat(refused(IdentityPolicy.decide(unverified, "email", "groups", null, null, false)).message())
        .as("NotSent still refuses an email the IdP says is unverified").contains("email_verified: false");
  }

  /** Issue #14: Entra ID's groups overage marker is neither "no groups" nor "all groups". */
  @Test
  void aGroupsOverageIsNeverReadAsNoGroupsOrAllGroups() {
    Map<String, Object> claimNames = claims("sub", "s-1", "email", "a@example.com",
        "_claim_names", Map.of("groups", "src1"), "_claim_sources", Map.of("src1", Map.of("endpoint", "https://g")));
    Map<String, Object> hasGroups = claims("sub", "s-1", "email", "a@example.com", "hasgroups", true);
    for (Map<String, Object> overage : List.of(claimNames, hasGroups)) {
      Decision.Refused r = refused(IdentityPolicy.decide(overage, "email", "groups", null, List.of("sre"), true));
      assertThat(r.reason()).isEqualTo(Reason.GroupNotAllowed);
      assertThat(r.message()).contains("overage").contains("[sre]").contains("Microsoft Graph");
      assertThat(accepted(IdentityPolicy.decide(overage, "email", "groups", null, null, true)).getGroups())
          .as("unknown groups are left out, not shown as none").isNull();
    }
    Map<String, Object> withGroups = new HashMap<>(claimNames);
    withGroups.put("groups", List.of("sre"));
    assertThat(accepted(IdentityPolicy.decide(withGroups, "email", "groups", null, List.of("sre"), true)).getGroups())
        .as("a groups claim sent along with a marker is read").containsExactly("sre");
    assertThat(accepted(IdentityPolicy.decide(hasGroups, "email", "roles", null, null, true)).getGroups())
        .as("hasgroups speaks of the groups claim only").isEmpty();
  }
}
