package io.devicelogin.operator.install;

import static io.devicelogin.operator.install.AdmissionPolicy.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.install.AdmissionPolicy.Decision;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.NamedRuleWithOperations;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicy;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicyBinding;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The chart's operator-secrets ValidatingAdmissionPolicy (on by default), its CEL evaluated with cel-java: the
 * operator's service account, compromised or confused, tries to write a tenant's other Secrets.
 */
class OperatorSecretsPolicyTest {

  private static final String OPERATOR = "system:serviceaccount:devicelogin-system:devicelogin-operator";
  private static final String TOKENS = "devicelogin.io/oidc-tokens";
  private static final String GRANT = "devicelogin.io/device-grant";
  private static final String RESPONSE = "devicelogin.io/authorization-response";

  private static AdmissionPolicy policy;

  @BeforeAll
  static void render() {
    policy = AdmissionPolicy.rendered(null, "operator-secrets");
  }

  @Test
  void theOperatorWritesAndDeletesItsOwnSecretTypes() throws Exception {
    for (String type : new String[] {TOKENS, GRANT}) {
      assertThat(policy.admit(request("CREATE", OPERATOR), secret(type), null).allowed()).as("create %s", type)
          .isTrue();
      assertThat(policy.admit(request("UPDATE", OPERATOR), secret(type), secret(type)).allowed()).as("update %s", type)
          .isTrue();
    }
    for (String type : new String[] {TOKENS, GRANT, RESPONSE}) {
      assertThat(policy.admit(request("DELETE", OPERATOR), null, secret(type)).allowed()).as("delete %s", type)
          .isTrue();
    }
  }

  @Test
  void theOperatorMayNotOverwriteATenantsOpaqueSecret() throws Exception {
    Decision update = policy.admit(request("UPDATE", OPERATOR), secret("Opaque"), secret("Opaque"));
    assertThat(update.allowed()).isFalse();
    assertThat(update.message())
        .isEqualTo("the devicelogin operator writes only Secrets of type " + TOKENS + ", " + GRANT + "; not Opaque");
    Map<String, Object> untyped = secret(null);
    assertThat(policy.admit(request("CREATE", OPERATOR), untyped, null).allowed())
        .as("a Secret without type is Opaque").isFalse();
    assertThat(policy.admit(request("CREATE", OPERATOR), secret("kubernetes.io/dockerconfigjson"), null).allowed())
        .isFalse();
    assertThat(policy.admit(request("CREATE", OPERATOR), secret(RESPONSE), null).allowed())
        .as("authorization responses are pasted by people and portals; the operator only consumes them").isFalse();
  }

  @Test
  void theOperatorMayNotDeleteATenantsOtherSecrets() throws Exception {
    Decision delete = policy.admit(request("DELETE", OPERATOR), null, secret("kubernetes.io/tls"));
    assertThat(delete.allowed()).isFalse();
    assertThat(delete.message()).isEqualTo("the devicelogin operator deletes only Secrets of type "
        + TOKENS + ", " + GRANT + ", " + RESPONSE + "; this one is kubernetes.io/tls");
    assertThat(policy.admit(request("DELETE", OPERATOR), null, secret(null)).allowed()).isFalse();
  }

  @Test
  void theOperatorMayNotChangeTheTypeOfAnExistingSecret() throws Exception {
    Decision opaqueToTokens = policy.admit(request("UPDATE", OPERATOR), secret(TOKENS), secret("Opaque"));
    assertThat(opaqueToTokens.allowed()).as("an Opaque Secret turned into a token Secret").isFalse();
    assertThat(opaqueToTokens.message()).isEqualTo("the devicelogin operator does not change the type of a Secret "
        + "(Opaque)");
    assertThat(policy.admit(request("UPDATE", OPERATOR), secret("Opaque"), secret(TOKENS)).allowed())
        .as("a token Secret turned into an Opaque one").isFalse();
    Decision grantToTokens = policy.admit(request("UPDATE", OPERATOR), secret(TOKENS), secret(GRANT));
    assertThat(grantToTokens.allowed()).as("between two of its own types").isFalse();
    assertThat(policy.admit(request("UPDATE", OPERATOR), secret(RESPONSE), secret(RESPONSE)).allowed())
        .as("nor does it update authorization responses").isFalse();
  }

  @Test
  void otherRequestersAreNotAffected() throws Exception {
    for (String user : new String[] {"oidc:alice@example.com", "system:serviceaccount:backstage:backstage",
        "system:serviceaccount:team-a:devicelogin-operator", "system:serviceaccount:devicelogin-system:default"}) {
      assertThat(policy.admit(request("UPDATE", user), secret("Opaque"), secret("Opaque")).allowed()).as(user)
          .isTrue();
      assertThat(policy.admit(request("DELETE", user), null, secret("Opaque")).allowed()).as(user).isTrue();
    }
  }

  @Test
  void readsAreNotMatchedAndTheBindingDenies() throws Exception {
    assertThat(policy.admit(request("CONNECT", OPERATOR), secret("Opaque"), null).allowed()).isTrue();
    Chart chart = Chart.render(null);
    String name = Chart.RELEASE + "-operator-secrets";
    ValidatingAdmissionPolicy rendered = chart.find(ValidatingAdmissionPolicy.class, null, name).orElseThrow();
    ValidatingAdmissionPolicyBinding binding = chart.find(ValidatingAdmissionPolicyBinding.class, null, name)
        .orElseThrow();
    assertThat(binding.getSpec().getPolicyName()).isEqualTo(name);
    assertThat(binding.getSpec().getValidationActions()).containsExactly("Deny");
    assertThat(rendered.getSpec().getFailurePolicy()).isEqualTo("Fail");
    NamedRuleWithOperations rule = rendered.getSpec().getMatchConstraints().getResourceRules().get(0);
    assertThat(rule.getApiGroups()).containsExactly("");
    assertThat(rule.getResources()).containsExactly("secrets");
    assertThat(rule.getOperations()).containsExactlyInAnyOrder("CREATE", "UPDATE", "DELETE");
  }

  @Test
  void theMatchedServiceAccountFollowsTheRelease() throws Exception {
    AdmissionPolicy renamed = AdmissionPolicy.rendered("serviceAccount: {name: dl-operator}\n", "operator-secrets");
    assertThat(renamed.admit(request("UPDATE", "system:serviceaccount:devicelogin-system:dl-operator"),
        secret("Opaque"), secret("Opaque")).allowed()).isFalse();
    assertThat(renamed.admit(request("UPDATE", OPERATOR), secret("Opaque"), secret("Opaque")).allowed()).isTrue();
  }

  private static Map<String, Object> secret(String type) {
    Map<String, Object> secret = new HashMap<>();
    secret.put("apiVersion", "v1");
    secret.put("kind", "Secret");
    secret.put("metadata", Map.of("name", "s", "namespace", "team-a"));
    secret.put("data", Map.of("k", "dg=="));
    if (type != null) {
      secret.put("type", type);
    }
    return secret;
  }
}
