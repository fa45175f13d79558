package io.devicelogin.operator.install;

import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.extensions.CelExtensions;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MatchCondition;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.NamedRuleWithOperations;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicy;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.Validation;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.Variable;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One of the chart's ValidatingAdmissionPolicies, its CEL evaluated with cel-java the way the API server does: the
 * request's operation against the resource rules, then the match conditions (a false one: the policy does not
 * apply), the variables in order (as {@code variables.<name>}), then each validation against {@code request},
 * {@code object} and {@code oldObject} ({@code null} on CREATE, {@code object} null on DELETE). Objects and the
 * request are plain maps (dyn), as the API server's are unstructured. Like the API server, it offers the Kubernetes
 * strings library ({@code join}).
 */
final class AdmissionPolicy {

  private static final CelCompiler COMPILER = CelCompilerFactory.standardCelCompilerBuilder()
      .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
      .addLibraries(CelExtensions.strings())
      .addVar("request", SimpleType.DYN)
      .addVar("object", SimpleType.DYN)
      .addVar("oldObject", SimpleType.DYN)
      .addVar("variables", SimpleType.DYN)
      .build();
  private static final CelRuntime RUNTIME = CelRuntimeFactory.standardCelRuntimeBuilder()
      .addLibraries(CelExtensions.strings())
      .build();

  /** What admission answered: allowed (also when the policy did not apply), or denied with this message. */
  record Decision(boolean allowed, String message) {}

  private final ValidatingAdmissionPolicy policy;

  AdmissionPolicy(ValidatingAdmissionPolicy policy) {
    this.policy = policy;
  }

  /** The policy named {@code <release>-<suffix>} rendered from {@code values}. */
  static AdmissionPolicy rendered(String values, String suffix) {
    String name = Chart.RELEASE + "-" + suffix;
    return new AdmissionPolicy(Chart.render(values).find(ValidatingAdmissionPolicy.class, null, name)
        .orElseThrow(() -> new AssertionError("no ValidatingAdmissionPolicy " + name)));
  }

  /** A request as the API server hands it over: operation and userInfo (groups only when given). */
  static Map<String, Object> request(String operation, String username, String... groups) {
    Map<String, Object> userInfo = new HashMap<>();
    userInfo.put("username", username);
    if (groups.length > 0) {
      userInfo.put("groups", List.of(groups));
    }
    return Map.of("userInfo", userInfo, "operation", operation);
  }

  Decision admit(Map<String, Object> request, Map<String, Object> object, Map<String, Object> oldObject)
      throws Exception {
    Map<String, Object> variables = new LinkedHashMap<>();
    Map<String, Object> input = new HashMap<>();
    input.put("request", request);
    input.put("object", object);
    input.put("oldObject", oldObject);
    input.put("variables", variables);
    boolean operationMatches = policy.getSpec().getMatchConstraints().getResourceRules().stream()
        .map(NamedRuleWithOperations::getOperations)
        .anyMatch(operations -> operations.contains(request.get("operation")));
    if (!operationMatches) {
      return new Decision(true, null);
    }
    for (MatchCondition condition : policy.getSpec().getMatchConditions()) {
      if (!Boolean.TRUE.equals(eval(condition.getExpression(), input))) {
        return new Decision(true, null);
      }
    }
    for (Variable variable : policy.getSpec().getVariables()) {
      variables.put(variable.getName(), eval(variable.getExpression(), input));
    }
    for (Validation validation : policy.getSpec().getValidations()) {
      if (!Boolean.TRUE.equals(eval(validation.getExpression(), input))) {
        String message = validation.getMessageExpression() != null
            ? (String) eval(validation.getMessageExpression(), input)
            : validation.getMessage();
        return new Decision(false, message);
      }
    }
    return new Decision(true, null);
  }

  private static Object eval(String expression, Map<String, Object> input) throws Exception {
    CelAbstractSyntaxTree ast = COMPILER.compile(expression).getAst();
    return RUNTIME.createProgram(ast).eval(input);
  }
}
