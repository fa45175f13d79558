package io.devicelogin.operator.install;

import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleRef;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** A small RBAC authorizer over rendered Roles, ClusterRoles and their bindings, for one service account. */
final class Rbac {

  /** A rule that applies: its namespace is null for cluster-wide (ClusterRoleBinding). */
  record Grant(String namespace, PolicyRule rule) {}

  private final List<Grant> grants = new ArrayList<>();

  Rbac(Chart chart, String serviceAccountNamespace, String serviceAccountName) {
    for (ClusterRoleBinding binding : chart.all(ClusterRoleBinding.class)) {
      if (bindsTo(binding.getSubjects(), serviceAccountNamespace, serviceAccountName)) {
        rules(chart, binding.getRoleRef(), null).forEach(r -> grants.add(new Grant(null, r)));
      }
    }
    for (RoleBinding binding : chart.all(RoleBinding.class)) {
      if (bindsTo(binding.getSubjects(), serviceAccountNamespace, serviceAccountName)) {
        String namespace = binding.getMetadata().getNamespace();
        rules(chart, binding.getRoleRef(), namespace).forEach(r -> grants.add(new Grant(namespace, r)));
      }
    }
  }

  private static boolean bindsTo(List<Subject> subjects, String namespace, String name) {
    return subjects.stream().anyMatch(s -> "ServiceAccount".equals(s.getKind()) && name.equals(s.getName())
        && namespace.equals(s.getNamespace()));
  }

  private static List<PolicyRule> rules(Chart chart, RoleRef ref, String namespace) {
    if ("ClusterRole".equals(ref.getKind())) {
      return chart.find(ClusterRole.class, null, ref.getName())
          .orElseThrow(() -> new AssertionError("bound ClusterRole " + ref.getName() + " is not in the chart"))
          .getRules();
    }
    return chart.find(Role.class, namespace, ref.getName())
        .orElseThrow(() -> new AssertionError("bound Role " + namespace + "/" + ref.getName() + " is not in the chart"))
        .getRules();
  }

  List<Grant> grants() {
    return grants;
  }

  /**
   * Whether the service account may {@code verb} {@code group/resource} (named {@code name}, or null) in
   * {@code namespace} (null: cluster-scoped, or across all namespaces).
   */
  boolean allows(String verb, String group, String resource, String namespace, String name) {
    return grants.stream().anyMatch(g -> (g.namespace() == null || Objects.equals(g.namespace(), namespace))
        && g.rule().getApiGroups().contains(group)
        && g.rule().getResources().contains(resource)
        && g.rule().getVerbs().contains(verb)
        && (g.rule().getResourceNames() == null || g.rule().getResourceNames().isEmpty()
            || (name != null && g.rule().getResourceNames().contains(name))));
  }
}
