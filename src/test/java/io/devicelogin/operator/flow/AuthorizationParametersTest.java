package io.devicelogin.operator.flow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The operator's check of spec.authorizationParameters, and that it judges every input as the CRD's CEL rule (read
 * from the model's annotation, evaluated with cel-java) does: one list of protocol parameters, two enforcers.
 */
class AuthorizationParametersTest {

  /** The protocol parameters as API.md lists them: the contract, written out here so a shortened list fails. */
  private static final List<String> API_MD = List.of("client_id", "client_secret", "scope", "response_type",
      "redirect_uri", "state", "nonce", "code_challenge", "code_challenge_method", "grant_type", "device_code", "code",
      "code_verifier");

  private static final CelCompiler COMPILER = CelCompilerFactory.standardCelCompilerBuilder()
      .setStandardMacros(CelStandardMacro.STANDARD_MACROS).addVar("self", SimpleType.DYN).build();
  private static final CelRuntime RUNTIME = CelRuntimeFactory.standardCelRuntimeBuilder().build();

  @Test
  void theListIsApiMdsExactly() {
    assertThat(AuthorizationParameters.PROTOCOL).containsExactlyInAnyOrderElementsOf(API_MD);
  }

  @Test
  void theAdminsParametersPass() {
    Map<String, String> parameters = Map.of("audience", "https://api.example.com", "organization", "org_123",
        "resource", "https://graph.example.com/", "acr_values", "urn:mfa", "prompt", "login", "domain_hint",
        "example.com", "scope.extra", "x", "Code-Hint", "y", "x".repeat(64), "v".repeat(1024));
    assertThat(AuthorizationParameters.problem(parameters)).isEmpty();
    assertThat(AuthorizationParameters.problem(null)).isEmpty();
    assertThat(AuthorizationParameters.problem(Map.of())).isEmpty();
    assertThat(AuthorizationParameters.problem(many(IdentityProviderSpec.MAX_AUTHORIZATION_PARAMETERS))).isEmpty();
  }

  @Test
  void everyProtocolParameterIsRefusedInEveryCaseNamingTheKey() {
    for (String name : API_MD) {
      for (String variant : List.of(name, name.toUpperCase(Locale.ROOT), capitalized(name), alternating(name))) {
        assertThat(AuthorizationParameters.problem(Map.of("audience", "api", variant, "evil")))
            .as(variant).hasValueSatisfying(message -> assertThat(message)
                .contains("'" + variant + "' is a protocol parameter").doesNotContain("audience"));
      }
    }
  }

  @Test
  void paddedOrUnicodeLookalikesOfAProtocolParameterAreRefusedAsKeys() {
    // an IdP that trims, or folds Unicode case (U+017F long s folds to s, U+212A Kelvin to k), must not see "scope"
    for (String key : List.of(" scope", "scope ", "scope\n", "audience\n", "\tclient_id", "\u017Fcope", "\u212Aode",
        "scope\u0000", "", "a b", "a/b", "x".repeat(65), "aud=x&scope")) {
      assertThat(AuthorizationParameters.problem(Map.of(key, "v"))).as("[%s]", key)
          .hasValueSatisfying(message -> assertThat(message).contains("is not 1 to 64 characters"));
    }
  }

  @Test
  void theBoundsAreEnforced() {
    assertThat(AuthorizationParameters.problem(many(IdentityProviderSpec.MAX_AUTHORIZATION_PARAMETERS + 1)))
        .hasValueSatisfying(message -> assertThat(message).contains("33 entries, at most 32"));
    assertThat(AuthorizationParameters.problem(Map.of("audience", "v".repeat(1025))))
        .hasValueSatisfying(message -> assertThat(message).contains("value of 'audience' is longer than 1024"));
    // characters, as CEL's size() counts them, not UTF-16 units
    assertThat(AuthorizationParameters.problem(Map.of("audience", "\uD83D\uDE00".repeat(1024)))).isEmpty();
    Map<String, String> nullValue = new HashMap<>();
    nullValue.put("audience", null);
    assertThat(AuthorizationParameters.problem(nullValue))
        .hasValueSatisfying(message -> assertThat(message).contains("'audience' has no value"));
    Map<String, String> nullKey = new HashMap<>();
    nullKey.put(null, "v");
    assertThat(AuthorizationParameters.problem(nullKey))
        .hasValueSatisfying(message -> assertThat(message).contains("a key is missing"));
  }

  @Test
  void everyProblemIsNamedInOneStableMessage() {
    Map<String, String> parameters = new LinkedHashMap<>();
    parameters.put("state", "s");
    parameters.put("audience", "api");
    parameters.put("Client_ID", "other");
    String message = AuthorizationParameters.problem(parameters).orElseThrow();
    assertThat(message).isEqualTo("spec.authorizationParameters: 'Client_ID' is a protocol parameter the operator "
        + "sets itself and may not be overridden; 'state' is a protocol parameter the operator sets itself and may "
        + "not be overridden; nothing was sent to the IdP");
  }

  @Test
  void aHostileKeyIsQuotedShortAndWithoutControlCharacters() {
    String message = AuthorizationParameters.problem(Map.of("bad\nkey" + "x".repeat(5000), "v")).orElseThrow();
    assertThat(message).doesNotContain("\n").contains("bad?key").hasSizeLessThan(300);
  }

  @Test
  void theCrdRuleJudgesEveryInputAsTheOperatorDoes() throws Exception {
    String rule = IdentityProviderSpec.class.getDeclaredField("authorizationParameters")
        .getAnnotation(ValidationRule.class).value();
    List<Map<String, String>> inputs = new java.util.ArrayList<>();
    for (String name : API_MD) {
      inputs.add(Map.of(name, "v"));
      inputs.add(Map.of(name.toUpperCase(Locale.ROOT), "v"));
      inputs.add(Map.of(capitalized(name), "v"));
      inputs.add(Map.of(name + "_hint", "v"));
      inputs.add(Map.of("x" + name, "v"));
    }
    for (String key : List.of(" scope", "scope ", "scope\n", "audience\n", "\u017Fcope", "\u212Aode", "", "a b",
        "x".repeat(64),
        "x".repeat(65), "audience", "organization", "acr_values", "domain_hint", "a.b-c_D9")) {
      inputs.add(Map.of(key, "v"));
    }
    inputs.add(Map.of("audience", "v".repeat(1024)));
    inputs.add(Map.of("audience", "v".repeat(1025)));
    inputs.add(Map.of("audience", "api", "organization", "org"));
    inputs.add(Map.of("audience", "api", "nonce", "n"));
    inputs.add(Map.of());
    for (Map<String, String> input : inputs) {
      boolean celAccepts = Boolean.TRUE.equals(
          RUNTIME.createProgram(COMPILER.compile(rule).getAst()).eval(Map.of("self", input)));
      assertThat(celAccepts).as("CEL and operator on %s", input.keySet())
          .isEqualTo(AuthorizationParameters.problem(input).isEmpty());
    }
  }

  private static Map<String, String> many(int entries) {
    Map<String, String> parameters = new HashMap<>();
    for (int i = 0; i < entries; i++) {
      parameters.put("p" + i, "v");
    }
    return parameters;
  }

  private static String capitalized(String name) {
    return Character.toUpperCase(name.charAt(0)) + name.substring(1);
  }

  private static String alternating(String name) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < name.length(); i++) {
      out.append(i % 2 == 0 ? name.charAt(i) : Character.toUpperCase(name.charAt(i)));
    }
    return out.toString();
  }
}
