package io.devicelogin.operator.install;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicy;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.Validation;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.Variable;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The chart's identity-binding ValidatingAdmissionPolicy, its CEL evaluated with cel-java the way the API server
 * does: variables first (as {@code variables.<name>}), then each validation against {@code request} and
 * {@code object}. Objects and the request are plain maps (dyn), as the API server's are unstructured.
 */
class IdentityBindingPolicyTest {

  private static final String VALUES = """
      admission:
        identityBinding:
          enabled: true
          usernamePrefix: "oidc:"
          privilegedUsers: ["system:serviceaccount:backstage:backstage"]
          privilegedGroups: ["platform-admins"]
      """;

  private static final CelCompiler COMPILER = CelCompilerFactory.standardCelCompilerBuilder()
      .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
      .addVar("request", SimpleType.DYN)
      .addVar("object", SimpleType.DYN)
      .addVar("oldObject", SimpleType.DYN)
      .addVar("variables", SimpleType.DYN)
      .build();
  private static final CelRuntime RUNTIME = CelRuntimeFactory.standardCelRuntimeBuilder().build();

  private static ValidatingAdmissionPolicy policy;

  /** What admission answered: allowed, or denied with this message. */
  record Decision(boolean allowed, String message) {}

  @BeforeAll
  static void render() {
    policy = Chart.render(VALUES).one(ValidatingAdmissionPolicy.class);
  }

  @Test
  void aPersonMayAskForALoginForThemselves() throws Exception {
    assertThat(admit(user("oidc:alice@example.com", "system:authenticated"), login("alice@example.com")).allowed())
        .isTrue();
  }

  @Test
  void aPersonMayNotAskForSomeoneElsesLogin() throws Exception {
    Decision decision = admit(user("oidc:alice@example.com", "system:authenticated"), login("bob@example.com"));
    assertThat(decision.allowed()).isFalse();
    assertThat(decision.message())
        .isEqualTo("a DeviceLogin may only be created or changed for yourself: set spec.user so that "
            + "oidc:spec.user is oidc:alice@example.com");
  }

  @Test
  void aLoginWithoutSpecUserIsOnlyForThePrivileged() throws Exception {
    assertThat(admit(user("oidc:alice@example.com", "system:authenticated"), login(null)).allowed()).isFalse();
    assertThat(admit(user("system:serviceaccount:backstage:backstage", "system:serviceaccounts"), login(null))
        .allowed()).isTrue();
  }

  @Test
  void theUsernamePrefixIsNotOptional() throws Exception {
    assertThat(admit(user("alice@example.com"), login("alice@example.com")).allowed())
        .as("a username without the configured prefix is someone else").isFalse();
  }

  @Test
  void privilegedUsersGroupsAndTheOperatorMayAskForAnyone() throws Exception {
    assertThat(admit(user("system:serviceaccount:backstage:backstage", "system:serviceaccounts",
        "system:serviceaccounts:backstage"), login("bob@example.com")).allowed()).as("Backstage").isTrue();
    assertThat(admit(user("oidc:carol@example.com", "platform-admins"), login("bob@example.com")).allowed())
        .as("a member of platform-admins").isTrue();
    assertThat(admit(user("system:serviceaccount:devicelogin-system:devicelogin-operator"), login("bob@example.com"))
        .allowed()).as("the operator's own service account (finalizers, metadata)").isTrue();
    assertThat(admit(user("system:serviceaccount:backstage:other"), login("bob@example.com")).allowed())
        .as("another service account in the same namespace").isFalse();
  }

  @Test
  void aRequestWithoutGroupsIsEvaluatedNotAnError() throws Exception {
    Map<String, Object> request = new HashMap<>();
    request.put("userInfo", Map.of("username", "oidc:dave@example.com"));
    assertThat(admit(request, login("dave@example.com")).allowed()).isTrue();
    assertThat(admit(request, login("erin@example.com")).allowed()).isFalse();
  }

  private static Map<String, Object> user(String username, String... groups) {
    Map<String, Object> userInfo = new HashMap<>();
    userInfo.put("username", username);
    if (groups.length > 0) {
      userInfo.put("groups", List.of(groups));
    }
    return Map.of("userInfo", userInfo, "operation", "CREATE");
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

  private static Decision admit(Map<String, Object> request, Map<String, Object> object) throws Exception {
    Map<String, Object> variables = new LinkedHashMap<>();
    Map<String, Object> input = new HashMap<>();
    input.put("request", request);
    input.put("object", object);
    input.put("oldObject", Map.of());
    input.put("variables", variables);
    for (Variable variable : policy.getSpec().getVariables()) {
      variables.put(variable.getName(), eval(variable.getExpression(), input));
    }
    for (Validation validation : policy.getSpec().getValidations()) {
      if (!Boolean.TRUE.equals(eval(validation.getExpression(), input))) {
        return new Decision(false, (String) eval(validation.getMessageExpression(), input));
      }
    }
    return new Decision(true, null);
  }

  private static Object eval(String expression, Map<String, Object> input) throws Exception {
    CelAbstractSyntaxTree ast = COMPILER.compile(expression).getAst();
    return RUNTIME.createProgram(ast).eval(input);
  }
}
