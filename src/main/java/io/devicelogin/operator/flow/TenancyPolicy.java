package io.devicelogin.operator.flow;

import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginSpec;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.api.v1alpha1.LabelSelector;
import io.devicelogin.operator.api.v1alpha1.LabelSelectorRequirement;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The provider-side tenancy rules: whether a DeviceLogin may use the provider it names at all, decided before any
 * request to the IdP. A ClusterIdentityProvider's namespaceSelector, then requireUser, then allowedScopes.
 */
public final class TenancyPolicy {

  /** The rule a login breaks, for its Ready condition. */
  public record Violation(Reason reason, String message) {}

  private TenancyPolicy() {}

  /**
   * @param login the DeviceLogin's spec
   * @param namespace the DeviceLogin's namespace
   * @param providerName how to name the provider to a person, e.g. "ClusterIdentityProvider corp"
   * @param provider the provider's spec
   * @param namespaceLabels the labels of {@code namespace}; asked only when the provider has a namespaceSelector
   */
  public static Optional<Violation> check(
      DeviceLoginSpec login, String namespace, String providerName, IdentityProviderSpec provider,
      Supplier<Map<String, String>> namespaceLabels) {
    if (provider instanceof ClusterIdentityProviderSpec cluster && cluster.getNamespaceSelector() != null) {
      Optional<String> invalid = invalid(cluster.getNamespaceSelector());
      if (invalid.isPresent() || !selects(cluster.getNamespaceSelector(), namespaceLabels.get())) {
        return Optional.of(new Violation(Reason.NamespaceNotAllowed, "The " + providerName
            + " may not be used from namespace " + namespace + ": its namespaceSelector "
            + invalid.map(problem -> "is invalid (" + problem + ") and selects no namespace")
                .orElse("does not select this namespace")
            + ". Use an IdentityProvider of this namespace, or ask the cluster admin to allow the namespace."));
      }
    }
    if (provider.userRequired() && login.getUser() == null) {
      return Optional.of(new Violation(Reason.UserRequired, "The " + providerName + " requires spec.user "
          + "(requireUser): set it to the username of the person who approves this login, so that nobody else's "
          + "tokens can land in this namespace."));
    }
    List<String> requested = login.getScopes();
    if (requested != null && !requested.isEmpty()) {
      Set<String> allowed = new LinkedHashSet<>(provider.effectiveScopes());
      if (provider.getAllowedScopes() != null) {
        allowed.addAll(provider.getAllowedScopes());
      }
      List<String> refused = requested.stream().filter(scope -> !allowed.contains(scope)).distinct().toList();
      if (!refused.isEmpty()) {
        return Optional.of(new Violation(Reason.ScopeNotAllowed, "spec.scopes asks for " + refused + ", which the "
            + providerName + " does not allow (allowed: " + List.copyOf(allowed) + "). Remove them from spec.scopes, "
            + "or ask the provider's owner to add them to its allowedScopes."));
      }
    }
    return Optional.empty();
  }

  /** Whether {@code selector} (valid, see {@link #invalid}) selects an object with {@code labels}, as Kubernetes does. */
  static boolean selects(LabelSelector selector, Map<String, String> labels) {
    Map<String, String> present = labels == null ? Map.of() : labels;
    if (selector.getMatchLabels() != null && !selector.getMatchLabels().entrySet().stream()
        .allMatch(label -> Objects.equals(present.get(label.getKey()), label.getValue()))) {
      return false;
    }
    if (selector.getMatchExpressions() == null) {
      return true;
    }
    for (LabelSelectorRequirement requirement : selector.getMatchExpressions()) {
      String value = present.get(requirement.getKey());
      boolean matches = switch (requirement.getOperator()) {
        case In -> value != null && requirement.getValues().contains(value);
        case NotIn -> value == null || !requirement.getValues().contains(value);
        case Exists -> value != null;
        case DoesNotExist -> value == null;
      };
      if (!matches) {
        return false;
      }
    }
    return true;
  }

  /**
   * What makes {@code selector} invalid (the CRD rejects it at admission; objects can skip that), or empty. An invalid
   * selector selects nothing: a mistake must not open a provider to every namespace.
   */
  static Optional<String> invalid(LabelSelector selector) {
    if (selector.getMatchExpressions() == null) {
      return Optional.empty();
    }
    for (LabelSelectorRequirement requirement : selector.getMatchExpressions()) {
      if (requirement == null || requirement.getKey() == null || requirement.getOperator() == null) {
        return Optional.of("a matchExpression without key or operator");
      }
      LabelSelectorRequirement.Operator operator = requirement.getOperator();
      boolean hasValues = requirement.getValues() != null && !requirement.getValues().isEmpty();
      if (hasValues != (operator == LabelSelectorRequirement.Operator.In
          || operator == LabelSelectorRequirement.Operator.NotIn)) {
        return Optional.of("operator " + operator + (hasValues ? " takes no values" : " needs values"));
      }
    }
    return Optional.empty();
  }
}
