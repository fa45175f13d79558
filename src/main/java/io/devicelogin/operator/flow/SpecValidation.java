package io.devicelogin.operator.flow;

import io.devicelogin.operator.api.v1alpha1.DeviceLoginSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The DeviceLogin spec rules the CRD schema enforces at admission, checked again before any work: objects can reach
 * the operator without them (an API server that skips validation, objects stored before a schema change).
 */
public final class SpecValidation {

  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");

  private SpecValidation() {}

  /** What is wrong with the spec, for a person, or empty when it is valid. */
  public static Optional<String> problems(DeviceLoginSpec spec) {
    if (spec == null) {
      return Optional.of("spec is missing; set spec.identityProviderRef.name");
    }
    List<String> problems = new ArrayList<>();
    if (spec.getIdentityProviderRef() == null || blank(spec.getIdentityProviderRef().getName())) {
      problems.add("spec.identityProviderRef.name is required");
    }
    if (spec.getSecretName() != null
        && (spec.getSecretName().length() > 253 || !DNS_SUBDOMAIN.matcher(spec.getSecretName()).matches())) {
      problems.add("spec.secretName '" + spec.getSecretName() + "' is not a valid Secret name (lower-case letters, "
          + "digits, '-' and '.', at most 253 characters)");
    }
    if (spec.getScopes() != null && !spec.getScopes().isEmpty() && !spec.getScopes().contains("openid")) {
      problems.add("spec.scopes must include 'openid' (the operator needs an ID token)");
    }
    if (spec.getRenewBefore() != null) {
      try {
        Durations.parse(spec.getRenewBefore());
      } catch (IllegalArgumentException e) {
        problems.add("spec.renewBefore " + e.getMessage());
      }
    }
    if (spec.getUser() != null && spec.getUser().isBlank()) {
      problems.add("spec.user is blank; remove it or name the expected user");
    }
    return problems.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", problems) + ".");
  }

  private static boolean blank(String value) {
    return value == null || value.isBlank();
  }
}
