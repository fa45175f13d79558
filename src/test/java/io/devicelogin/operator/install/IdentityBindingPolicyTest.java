package io.devicelogin.operator.install;

import static io.devicelogin.operator.install.AdmissionPolicy.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.install.AdmissionPolicy.Decision;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.NamedRuleWithOperations;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicy;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicyBinding;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The chart's identity-binding ValidatingAdmissionPolicy (on by default), its CEL evaluated with cel-java: each
 * attempt is made as the tenant, the portal or a system component would make it.
 */
class IdentityBindingPolicyTest {

  private static final String VALUES = """
      admission:
        identityBinding:
          usernamePrefix: "oidc:"
          privilegedUsers: ["system:serviceaccount:backstage:backstage"]
          privilegedGroups: ["platform-admins"]
      """;
  private static final String ALICE = "oidc:alice@example.com";
  private static final String BACKSTAGE = "system:serviceaccount:backstage:backstage";
  private static final String OPERATOR = "system:serviceaccount:devicelogin-system:devicelogin-operator";

  private static AdmissionPolicy policy;

  @BeforeAll
  static void render() {
    policy = AdmissionPolicy.rendered(VALUES, "identity-binding");
  }

  @Test
  void aPersonMayAskForALoginForThemselves() throws Exception {
    assertThat(create(request("CREATE", ALICE, "system:authenticated"), login("alice@example.com")).allowed())
        .isTrue();
  }

  @Test
  void aPersonMayNotAskForSomeoneElsesLogin() throws Exception {
    Decision decision = create(request("CREATE", ALICE, "system:authenticated"), login("bob@example.com"));
    assertThat(decision.allowed()).isFalse();
    assertThat(decision.message())
        .isEqualTo("a DeviceLogin may only be created or changed for yourself: set spec.user so that "
            + "oidc:spec.user is oidc:alice@example.com");
  }

  @Test
  void everyLoginNamesItsPersonPrivilegedCreatorsIncluded() throws Exception {
    Decision person = create(request("CREATE", ALICE, "system:authenticated"), login(null));
    assertThat(person.allowed()).isFalse();
    assertThat(person.message()).startsWith("spec.user is required");
    Decision backstage = create(request("CREATE", BACKSTAGE, "system:serviceaccounts"), login(null));
    assertThat(backstage.allowed()).as("Backstage without spec.user").isFalse();
    assertThat(backstage.message()).startsWith("spec.user is required");
    assertThat(create(request("CREATE", "oidc:carol@example.com", "platform-admins"), login(null)).allowed())
        .as("a member of a privileged group without spec.user").isFalse();
    assertThat(create(request("CREATE", ALICE), login("")).allowed()).as("an empty spec.user").isFalse();
  }

  @Test
  void theUsernamePrefixIsNotOptional() throws Exception {
    assertThat(create(request("CREATE", "alice@example.com"), login("alice@example.com")).allowed())
        .as("a username without the configured prefix is someone else").isFalse();
  }

  @Test
  void privilegedUsersAndGroupsMayAskForAnyone() throws Exception {
    assertThat(create(request("CREATE", BACKSTAGE, "system:serviceaccounts", "system:serviceaccounts:backstage"),
        login("bob@example.com")).allowed()).as("Backstage").isTrue();
    assertThat(create(request("CREATE", "oidc:carol@example.com", "platform-admins"), login("bob@example.com"))
        .allowed()).as("a member of platform-admins").isTrue();
    assertThat(create(request("CREATE", "system:serviceaccount:backstage:other"), login("bob@example.com")).allowed())
        .as("another service account in the same namespace").isFalse();
    assertThat(create(request("CREATE", OPERATOR), login("bob@example.com")).allowed())
        .as("the operator never creates DeviceLogins, so it is not privileged").isFalse();
  }

  @Test
  void aRequestWithoutGroupsIsEvaluatedNotAnError() throws Exception {
    Map<String, Object> request = Map.of("operation", "CREATE", "userInfo", Map.of("username", "oidc:dave@example.com"));
    assertThat(create(request, login("dave@example.com")).allowed()).isTrue();
    assertThat(create(request, login("erin@example.com")).allowed()).isFalse();
  }

  @Test
  void changingSomeoneElsesLoginIsRefused() throws Exception {
    Map<String, Object> bobs = login("bob@example.com");
    Map<String, Object> moreScopes = withSpec(bobs, "scopes", List.of("openid", "groups"));
    Decision decision = policy.admit(request("UPDATE", ALICE), moreScopes, bobs);
    assertThat(decision.allowed()).as("alice changes bob's spec").isFalse();
    assertThat(decision.message()).startsWith("a DeviceLogin may only be created or changed for yourself");
    assertThat(policy.admit(request("UPDATE", ALICE), withRestart(bobs, "now"), bobs).allowed())
        .as("alice restarts bob's login (devicelogin.io/restart)").isFalse();
    assertThat(policy.admit(request("UPDATE", "oidc:bob@example.com"), moreScopes, bobs).allowed())
        .as("bob changes his own").isTrue();
    assertThat(policy.admit(request("UPDATE", BACKSTAGE), withRestart(bobs, "now"), bobs).allowed())
        .as("the portal restarts bob's").isTrue();
  }

  @Test
  void specUserCanNotChangeOnceSetNotEvenByThePrivileged() throws Exception {
    Map<String, Object> alices = login("alice@example.com");
    Decision toBob = policy.admit(request("UPDATE", BACKSTAGE), withSpec(alices, "user", "bob@example.com"), alices);
    assertThat(toBob.allowed()).isFalse();
    assertThat(toBob.message()).isEqualTo(
        "spec.user can not be changed (it was alice@example.com): create a new DeviceLogin for another person");
    assertThat(policy.admit(request("UPDATE", "oidc:bob@example.com"), withSpec(alices, "user", "bob@example.com"),
        alices).allowed()).as("bob takes over alice's login object").isFalse();
    Map<String, Object> withoutUser = new HashMap<>(alices);
    withoutUser.put("spec", Map.of("identityProviderRef", Map.of("name", "corp-sso")));
    assertThat(policy.admit(request("UPDATE", ALICE), withoutUser, alices).allowed())
        .as("removing spec.user").isFalse();
  }

  @Test
  void metadataOnlyUpdatesAreNotAChangeOfTheLogin() throws Exception {
    // a DeviceLogin created before the policy, without spec.user: its finalizer must still come off
    Map<String, Object> legacy = login(null);
    Map<String, Object> finalized = withMetadata(legacy, "finalizers", List.of("devicelogin.io/cleanup"));
    assertThat(policy.admit(request("UPDATE", OPERATOR), legacy, finalized).allowed())
        .as("the operator removes its finalizer").isTrue();
    Map<String, Object> bobs = login("bob@example.com");
    assertThat(policy.admit(request("UPDATE", "system:serviceaccount:kube-system:generic-garbage-collector"),
        withMetadata(bobs, "ownerReferences", List.of()), bobs).allowed())
        .as("the garbage collector").isTrue();
    assertThat(policy.admit(request("UPDATE", ALICE), withSpec(legacy, "scopes", List.of("openid")), legacy)
        .allowed()).as("a spec change of a legacy login still needs spec.user").isFalse();
    assertThat(policy.admit(request("UPDATE", ALICE), withSpec(legacy, "user", "alice@example.com"), legacy)
        .allowed()).as("alice claims a legacy login without user for herself").isTrue();
  }

  @Test
  void theBindingDeniesAndThePolicyMatchesCreateAndUpdateOfDeviceLogins() {
    Chart chart = Chart.render(VALUES);
    String name = Chart.RELEASE + "-identity-binding";
    ValidatingAdmissionPolicyBinding binding = chart.find(ValidatingAdmissionPolicyBinding.class, null, name)
        .orElseThrow();
    ValidatingAdmissionPolicy rendered = chart.find(ValidatingAdmissionPolicy.class, null, name).orElseThrow();
    assertThat(binding.getSpec().getPolicyName()).isEqualTo(rendered.getMetadata().getName());
    assertThat(binding.getSpec().getValidationActions()).containsExactly("Deny");
    assertThat(rendered.getSpec().getFailurePolicy()).isEqualTo("Fail");
    NamedRuleWithOperations rule = rendered.getSpec().getMatchConstraints().getResourceRules().get(0);
    assertThat(rule.getApiGroups()).containsExactly("devicelogin.io");
    assertThat(rule.getResources()).as("not devicelogins/status: the operator's status patches pass untouched")
        .containsExactly("devicelogins");
    assertThat(rule.getOperations()).containsExactlyInAnyOrder("CREATE", "UPDATE");
  }

  private static Decision create(Map<String, Object> request, Map<String, Object> object) throws Exception {
    return policy.admit(request, object, null);
  }

  private static Map<String, Object> login(String user) {
    Map<String, Object> spec = new HashMap<>();
    spec.put("identityProviderRef", Map.of("name", "corp-sso"));
    if (user != null) {
      spec.put("user", user);
    }
    return Map.of("apiVersion", "devicelogin.io/v1alpha1", "kind", "DeviceLogin",
        "metadata", Map.of("name", "x", "namespace", "team-a"), "spec", spec);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> withSpec(Map<String, Object> login, String field, Object value) {
    Map<String, Object> spec = new HashMap<>((Map<String, Object>) login.get("spec"));
    spec.put(field, value);
    Map<String, Object> changed = new HashMap<>(login);
    changed.put("spec", spec);
    return changed;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> withMetadata(Map<String, Object> login, String field, Object value) {
    Map<String, Object> metadata = new HashMap<>((Map<String, Object>) login.get("metadata"));
    metadata.put(field, value);
    Map<String, Object> changed = new HashMap<>(login);
    changed.put("metadata", metadata);
    return changed;
  }

  private static Map<String, Object> withRestart(Map<String, Object> login, String value) {
    return withMetadata(login, "annotations", Map.of("devicelogin.io/restart", value));
  }
}
