package io.devicelogin.operator.flow;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginSpec;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.LabelSelector;
import io.devicelogin.operator.api.v1alpha1.LabelSelectorRequirement;
import io.devicelogin.operator.api.v1alpha1.LabelSelectorRequirement.Operator;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.flow.TenancyPolicy.Violation;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class TenancyPolicyTest {

  private static final String CIDP = "ClusterIdentityProvider corp";

  private static DeviceLoginSpec login(String user, List<String> scopes) {
    DeviceLoginSpec spec = new DeviceLoginSpec();
    spec.setUser(user);
    spec.setScopes(scopes);
    return spec;
  }

  private static ClusterIdentityProviderSpec cluster(LabelSelector selector) {
    ClusterIdentityProviderSpec spec = new ClusterIdentityProviderSpec();
    spec.setNamespaceSelector(selector);
    return spec;
  }

  private static Optional<Violation> check(DeviceLoginSpec login, IdentityProviderSpec provider,
      Map<String, String> labels) {
    return TenancyPolicy.check(login, "team-a", CIDP, provider, () -> labels);
  }

  private static LabelSelectorRequirement requirement(String key, Operator operator, String... values) {
    return new LabelSelectorRequirement(key, operator, values.length == 0 ? null : List.of(values));
  }

  @Test
  void aLoginWithUserOnADefaultProviderBreaksNoRule() {
    assertThat(check(login("alice@example.com", null), new IdentityProviderSpec(), Map.of())).isEmpty();
    assertThat(check(login("alice@example.com", null), cluster(null), Map.of())).isEmpty();
  }

  @Test
  void requireUserIsOnByDefaultAndRefusesALoginWithoutUser() {
    Violation v = check(login(null, null), new IdentityProviderSpec(), Map.of()).orElseThrow();
    assertThat(v.reason()).isEqualTo(Reason.UserRequired);
    assertThat(v.message()).contains(CIDP, "spec.user", "requireUser");

    IdentityProviderSpec optional = new IdentityProviderSpec();
    optional.setRequireUser(false);
    assertThat(check(login(null, null), optional, Map.of())).isEmpty();
    optional.setRequireUser(true);
    assertThat(check(login(null, null), optional, Map.of()).map(Violation::reason)).contains(Reason.UserRequired);
  }

  @Test
  void scopesBeyondTheProvidersScopesAndAllowedScopesAreRefusedByName() {
    IdentityProviderSpec provider = new IdentityProviderSpec();
    assertThat(check(login("a", List.of("openid", "email")), provider, Map.of()))
        .as("a subset of the provider's own (default) scopes").isEmpty();
    Violation v = check(login("a", List.of("openid", "groups", "admin", "groups")), provider, Map.of()).orElseThrow();
    assertThat(v.reason()).isEqualTo(Reason.ScopeNotAllowed);
    assertThat(v.message()).contains("[groups, admin]", "allowedScopes", CIDP);

    provider.setScopes(List.of("openid"));
    provider.setAllowedScopes(List.of("groups", "offline_access"));
    assertThat(check(login("a", List.of("openid", "groups", "offline_access")), provider, Map.of())).isEmpty();
    assertThat(check(login("a", List.of("openid", "email")), provider, Map.of()).orElseThrow().message())
        .contains("[email]").contains("[openid, groups, offline_access]");
    assertThat(check(login("a", List.of()), provider, Map.of())).as("no spec.scopes: the provider's").isEmpty();
    assertThat(check(login("a", List.of("OPENID", "openid")), provider, Map.of()).orElseThrow().message())
        .as("scopes compare exactly").contains("[OPENID]");
  }

  @Test
  void aNamespaceSelectorAdmitsOnlyTheNamespacesItSelects() {
    ClusterIdentityProviderSpec provider = cluster(new LabelSelector(Map.of("devicelogin.example.com/tenant", "yes"),
        List.of(requirement("env", Operator.In, "dev", "prod"), requirement("quarantined", Operator.DoesNotExist))));
    DeviceLoginSpec login = login("alice@example.com", null);
    assertThat(check(login, provider, Map.of("devicelogin.example.com/tenant", "yes", "env", "dev", "x", "y")))
        .isEmpty();
    for (Map<String, String> labels : List.of(Map.<String, String>of(), Map.of("env", "dev"),
        Map.of("devicelogin.example.com/tenant", "no", "env", "dev"),
        Map.of("devicelogin.example.com/tenant", "yes", "env", "test"),
        Map.of("devicelogin.example.com/tenant", "yes", "env", "dev", "quarantined", ""))) {
      Violation v = check(login, provider, labels).orElseThrow(() -> new AssertionError("selected " + labels));
      assertThat(v.reason()).isEqualTo(Reason.NamespaceNotAllowed);
      assertThat(v.message()).contains("team-a", CIDP, "does not select");
    }
    assertThat(check(login(null, List.of("evil")), provider, Map.of()).map(Violation::reason))
        .as("the namespace is judged first").contains(Reason.NamespaceNotAllowed);
  }

  @Test
  void everyOperatorMatchesAsKubernetesDoes() {
    Map<String, String> labels = Map.of("team", "a");
    assertThat(TenancyPolicy.selects(new LabelSelector(), labels)).as("empty selects all").isTrue();
    assertThat(TenancyPolicy.selects(new LabelSelector(Map.of(), List.of()), Map.of())).isTrue();
    assertThat(TenancyPolicy.selects(sel(requirement("team", Operator.In, "a", "b")), labels)).isTrue();
    assertThat(TenancyPolicy.selects(sel(requirement("team", Operator.In, "b")), labels)).isFalse();
    assertThat(TenancyPolicy.selects(sel(requirement("other", Operator.In, "a")), labels)).isFalse();
    assertThat(TenancyPolicy.selects(sel(requirement("team", Operator.NotIn, "b")), labels)).isTrue();
    assertThat(TenancyPolicy.selects(sel(requirement("team", Operator.NotIn, "a")), labels)).isFalse();
    assertThat(TenancyPolicy.selects(sel(requirement("other", Operator.NotIn, "a")), labels))
        .as("NotIn holds for an absent label").isTrue();
    assertThat(TenancyPolicy.selects(sel(requirement("team", Operator.Exists)), labels)).isTrue();
    assertThat(TenancyPolicy.selects(sel(requirement("other", Operator.Exists)), labels)).isFalse();
    assertThat(TenancyPolicy.selects(sel(requirement("other", Operator.DoesNotExist)), labels)).isTrue();
    assertThat(TenancyPolicy.selects(sel(requirement("team", Operator.DoesNotExist)), labels)).isFalse();
    assertThat(TenancyPolicy.selects(new LabelSelector(Map.of("team", "a"), null), null)).isFalse();
  }

  @Test
  void anInvalidSelectorSelectsNoNamespace() {
    DeviceLoginSpec login = login("alice@example.com", null);
    for (LabelSelectorRequirement bad : List.of(requirement("team", Operator.In),
        requirement("team", Operator.Exists, "a"), new LabelSelectorRequirement("team", null, List.of("a")),
        new LabelSelectorRequirement(null, Operator.Exists, null))) {
      Violation v = check(login, cluster(sel(bad)), Map.of("team", "a")).orElseThrow();
      assertThat(v.reason()).isEqualTo(Reason.NamespaceNotAllowed);
      assertThat(v.message()).contains("is invalid");
    }
  }

  @Test
  void namespaceLabelsAreReadOnlyForAProviderWithASelector() {
    AtomicInteger reads = new AtomicInteger();
    Supplier<Map<String, String>> labels = () -> {
      reads.incrementAndGet();
      return Map.of();
    };
    TenancyPolicy.check(login("a", null), "team-a", CIDP, new IdentityProviderSpec(), labels);
    TenancyPolicy.check(login("a", null), "team-a", CIDP, cluster(null), labels);
    assertThat(reads).hasValue(0);
    TenancyPolicy.check(login("a", null), "team-a", CIDP, cluster(new LabelSelector()), labels);
    assertThat(reads).hasValue(1);
  }

  private static LabelSelector sel(LabelSelectorRequirement requirement) {
    return new LabelSelector(null, List.of(requirement));
  }
}
