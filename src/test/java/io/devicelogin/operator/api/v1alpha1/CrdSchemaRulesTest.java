package io.devicelogin.operator.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import io.devicelogin.operator.flow.Durations;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.api.model.apiextensions.v1.ValidationRule;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The schema rules of the committed CRDs (crds/*.yml), read from the YAML and evaluated in Java against lists of
 * valid and invalid inputs: the CEL {@code x-kubernetes-validations} with cel-java (as the API server does, with
 * {@code self} the value), and the OpenAPI constraints (pattern, minLength/maxLength, enum, minItems/maxItems) the way
 * the API server applies them. Every constrained field must have cases here, so a change to the model is exercised.
 * The counts of inputs tried are printed for docs/RELIABILITY.md.
 */
class CrdSchemaRulesTest {

  private static final Path CRDS = Path.of("crds");

  private static final CelCompiler COMPILER = CelCompilerFactory.standardCelCompilerBuilder()
      .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
      .addVar("self", SimpleType.DYN)
      .build();
  private static final CelRuntime RUNTIME = CelRuntimeFactory.standardCelRuntimeBuilder().build();

  private static final String HUGE = "a".repeat(1 << 20);

  /** Every constrained spec field of every CRD: "<crd file>:<path>" to its schema. */
  private static final Map<String, JSONSchemaProps> FIELDS = new TreeMap<>();
  /** Inputs tried per rule or field, for the report. */
  private static final Map<String, Integer> TRIED = new LinkedHashMap<>();

  record Cases(List<Object> valid, List<Object> invalid) {}

  @BeforeAll
  static void load() throws IOException {
    try (Stream<Path> files = Files.list(CRDS)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".yml")).sorted().toList()) {
        CustomResourceDefinition crd = Serialization.unmarshal(Files.readString(file), CustomResourceDefinition.class);
        JSONSchemaProps spec = crd.getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema()
            .getProperties().get("spec");
        collect(crd.getSpec().getNames().getKind(), "spec", spec);
      }
    }
    assertThat(FIELDS).as("constrained spec fields found in crds/").hasSizeGreaterThan(10);
  }

  @AfterAll
  static void report() {
    System.out.println("CRD schema inputs tried per rule/field:");
    TRIED.forEach((field, n) -> System.out.println("  " + field + ": " + n));
    System.out.println("  total: " + TRIED.values().stream().mapToInt(Integer::intValue).sum());
  }

  private static void collect(String kind, String path, JSONSchemaProps schema) {
    if (constrained(schema)) {
      FIELDS.put(kind + ":" + path, schema);
    }
    if (schema.getProperties() != null) {
      schema.getProperties().forEach((name, child) -> collect(kind, path + "." + name, child));
    }
  }

  private static boolean constrained(JSONSchemaProps s) {
    return s.getPattern() != null || s.getMaxLength() != null || s.getMinLength() != null
        || (s.getEnum() != null && !s.getEnum().isEmpty()) || s.getMaxItems() != null || s.getMinItems() != null
        || s.getMaxProperties() != null || s.getMinProperties() != null
        || (s.getXKubernetesValidations() != null && !s.getXKubernetesValidations().isEmpty());
  }

  // ---- the cases, by field name (the last path segment)

  private static final String DNS_253 = ("a".repeat(62) + ".").repeat(4).substring(0, 252) + "b";

  private static Cases cases(String path) {
    String field = path.substring(Math.max(path.lastIndexOf('.'), path.indexOf(':')) + 1);
    String parent = path.substring(0, Math.max(path.lastIndexOf('.'), 0));
    return switch (field) {
      case "secretName", "name" -> parent.endsWith("clientSecretRef") || field.equals("secretName")
          ? new Cases(
              List.of("oidc-alice", "a", "0", "a.b-c", "alice-example.com", "x1.y2.z3", DNS_253),
              List.of("", "Alice", "-a", "a-", "a_b", "a..b", "a b", ".a", "a.", "ä", "a/b", "a\nb", DNS_253 + "c",
                  HUGE))
          : new Cases(List.of("corp-sso", "a", "x".repeat(253), "Any Name"), List.of("", "x".repeat(254), HUGE));
      case "issuerUrl" -> new Cases(
          List.of("https://idp.example.com/realms/x", "https://login.example.com", "https://[::1]:8443/x",
              "http://127.0.0.1:8080/realms/test", "https://x" + "y".repeat(2039)),
          List.of("", "idp.example.com", "ftp://idp.example.com", "https://", "https:// idp", "https://a b",
              "javascript:alert(1)", "https://x\n", " https://x", "HTTPS:/x", "file:///etc/passwd",
              "https://x" + "y".repeat(2040), "https://" + HUGE, "https://idp.example/realms/x?",
              "https://idp.example/realms/x#", "https://169.254.169.254/latest/meta-data?x=/",
              "https://idp.example/#/.well-known"));
      case "renewBefore" -> new Cases(
          List.of("90s", "5m", "1h30m", "1.5h", "100ms", "0s", "1h2m3s4ms", "99999999999h"),
          List.of("", "5", "5d", "-5m", "1h 30m", "PT5M", "5 m", "m", "1.h", ".5h", "5M", "1e3s", "5m\n", HUGE));
      case "kind" -> new Cases(List.of("IdentityProvider", "ClusterIdentityProvider"),
          List.of("", "identityprovider", "IDENTITYPROVIDER", "Cluster", "Secret", "IdentityProvider ", HUGE));
      case "deletionPolicy" -> new Cases(List.of("Delete", "Retain"),
          List.of("", "delete", "Orphan", "Keep", "Retain ", HUGE));
      case "user" -> new Cases(List.of("alice@example.com", "a", "x".repeat(1024), "ü"),
          List.of("", "x".repeat(1025), HUGE));
      case "clientId" -> new Cases(List.of("devicelogin", "a", "x".repeat(512)), List.of("", "x".repeat(513), HUGE));
      case "usernameClaim", "groupsClaim" -> new Cases(List.of("email", "preferred_username", "x".repeat(256)),
          List.of("", "x".repeat(257), HUGE));
      case "caBundle" -> new Cases(List.of("", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
          "x".repeat(65536)), List.of("x".repeat(65537), HUGE));
      case "key" -> new Cases(List.of("client-secret", "a", "a.b_c-D9", "x".repeat(253)),
          List.of("", "a b", "a/b", "ä", "a:b", "x".repeat(254), HUGE));
      case "scopes" -> path.startsWith("DeviceLogin:")
          ? new Cases(List.of(List.of("openid"), List.of("openid", "profile"), List.of("profile", "email", "openid"),
              repeat("openid", 64)),
              List.of(List.of(), List.of("profile"), List.of("OpenID"), List.of(" openid"), List.of("openid "),
                  List.of("openid profile"), repeat("profile", 64), repeat("openid", 65)))
          : new Cases(List.of(List.of("openid"), List.of("openid", "offline_access"), repeat("openid", 64)),
              List.of(List.of(), List.of("profile"), List.of("OPENID"), List.of("openid\u0000"), repeat("openid", 65)));
      case "allowedGroups" -> new Cases(List.of(List.of(), List.of("dev"), repeat("g", 256)),
          List.of(repeat("g", 257), repeat("g", 10_000)));
      case "allowedScopes" -> new Cases(
          List.of(List.of(), List.of("groups"), List.of("openid", "groups", "api://corp/.default"), repeat("x", 64)),
          List.of(List.of(""), List.of("a b"), List.of("groups", " groups"), List.of("openid", "a b c"),
              repeat("x", 65)));
      case "grant" -> new Cases(List.of("DeviceCode", "AuthorizationCode"),
          List.of("", "authorizationCode", "Implicit", "ClientCredentials", "DeviceCode ", HUGE));
      case "redirectUri" -> new Cases(
          List.of("http://localhost:8000/", "https://login.example.com/callback", "http://127.0.0.1:8000/cb?x=1",
              "https://x" + "y".repeat(2039)),
          List.of("", "localhost:8000", "ftp://x", "https://x/#frag", "https://a b", "javascript:alert(1)",
              "http://localhost:8000/\n", "https://x" + "y".repeat(2040), HUGE));
      case "spec" -> new Cases(
          List.of(Map.of(), Map.of("grant", "DeviceCode"),
              Map.of("grant", "AuthorizationCode", "redirectUri", "http://localhost:8000/")),
          List.of(Map.of("grant", "AuthorizationCode")));
      case "emailVerifiedClaim" -> new Cases(List.of("Required", "NotSent"),
          List.of("", "required", "notsent", "Optional", "Required ", HUGE));
      case "matchExpressions" -> new Cases(
          List.of(List.of(), List.of(expression("tenant", "In", List.of("a"))),
              List.of(expression("team", "NotIn", List.of("x", "y")), expression("personal", "Exists", null)),
              List.of(expression("shared", "DoesNotExist", List.of())), repeat(expression("t", "Exists", null), 64)),
          List.of(List.of(expression("tenant", "In", null)), List.of(expression("tenant", "In", List.of())),
              List.of(expression("tenant", "NotIn", null)), List.of(expression("tenant", "Exists", List.of("a"))),
              List.of(expression("a", "Exists", null), expression("b", "DoesNotExist", List.of("b"))),
              repeat(expression("t", "Exists", null), 65)));
      case "authorizationParameters" -> new Cases(
          List.of(Map.of(), Map.of("audience", "https://api.example.com"),
              Map.of("organization", "org_123", "acr_values", "urn:mfa", "prompt", "login", "domain_hint", "x.com"),
              Map.of("resource", "https://graph.example.com/", "scope_hint", "x", "Codes", "y", "x".repeat(64), ""),
              Map.of("audience", "v".repeat(1024)), parameters(32)),
          List.of(Map.of("client_id", "other"), Map.of("client_secret", "s"), Map.of("scope", "openid admin"),
              Map.of("response_type", "token"), Map.of("redirect_uri", "https://evil.example/"),
              Map.of("state", "s"), Map.of("nonce", "n"), Map.of("code_challenge", "c"),
              Map.of("code_challenge_method", "plain"), Map.of("grant_type", "password"), Map.of("device_code", "d"),
              Map.of("code", "c"), Map.of("code_verifier", "v"), Map.of("Scope", "admin"), Map.of("SCOPE", "admin"),
              Map.of("Client_Id", "other"), Map.of("audience", "api", "Redirect_URI", "https://evil.example/"),
              Map.of(" scope", "admin"), Map.of("scope ", "admin"), Map.of("scope\n", "admin"),
              Map.of("\u017Fcope", "admin"), Map.of("", "v"), Map.of("a b", "v"), Map.of("x".repeat(65), "v"),
              Map.of("audience", "v".repeat(1025)), Map.of("audience", HUGE), parameters(33)));
      default -> null;
    };
  }

  /** {@code entries} harmless authorization parameters. */
  private static Map<String, String> parameters(int entries) {
    Map<String, String> parameters = new LinkedHashMap<>();
    for (int i = 0; i < entries; i++) {
      parameters.put("p" + i, "v");
    }
    return parameters;
  }

  /** A label selector requirement as the API server hands it to CEL (values left out when null). */
  private static Map<String, Object> expression(String key, String operator, List<String> values) {
    Map<String, Object> expression = new LinkedHashMap<>();
    expression.put("key", key);
    expression.put("operator", operator);
    if (values != null) {
      expression.put("values", values);
    }
    return expression;
  }

  private static List<Object> repeat(Object value, int times) {
    return new ArrayList<>(java.util.Collections.nCopies(times, value));
  }

  // ---- the tests

  @Test
  void everyConstrainedFieldHasCases() {
    assertThat(FIELDS.keySet().stream().filter(path -> cases(path) == null).toList())
        .as("constrained CRD fields without cases in this test; add valid and invalid inputs").isEmpty();
  }

  @Test
  void openApiConstraintsAcceptTheValidAndRefuseTheInvalid() {
    FIELDS.forEach((path, schema) -> {
      Cases cases = cases(path);
      for (Object value : cases.valid()) {
        assertThat(openApiViolations(schema, value)).as("%s = %s", path, shown(value)).isEmpty();
      }
      for (Object value : cases.invalid()) {
        List<String> violations = new ArrayList<>(openApiViolations(schema, value));
        violations.addAll(celViolations(path, schema, value));
        assertThat(violations).as("%s = %s is refused", path, shown(value)).isNotEmpty();
      }
      TRIED.merge("OpenAPI " + path, cases.valid().size() + cases.invalid().size(), Integer::sum);
    });
  }

  @Test
  void celRulesAcceptTheValidAndRefuseTheInvalid() {
    int rules = 0;
    for (var entry : FIELDS.entrySet()) {
      JSONSchemaProps schema = entry.getValue();
      if (schema.getXKubernetesValidations() == null) {
        continue;
      }
      for (ValidationRule rule : schema.getXKubernetesValidations()) {
        rules++;
        Cases cases = cases(entry.getKey());
        int tried = 0;
        for (Object value : cases.valid()) {
          assertThat(eval(rule.getRule(), value)).as("%s: %s on %s", entry.getKey(), rule.getRule(), shown(value))
              .isTrue();
          tried++;
        }
        for (Object value : cases.invalid()) {
          // an invalid value refused by the OpenAPI schema (e.g. too many items) need not break the rule
          if (openApiViolations(schema, value).isEmpty()) {
            assertThat(eval(rule.getRule(), value)).as("%s: %s on %s", entry.getKey(), rule.getRule(), shown(value))
                .isFalse();
            tried++;
          }
        }
        assertThat(rule.getMessage()).isNotBlank();
        TRIED.merge("CEL " + entry.getKey() + " `" + rule.getRule() + "`", tried, Integer::sum);
      }
    }
    assertThat(rules).as("CEL rules in crds/").isGreaterThanOrEqualTo(3);
  }

  @Test
  void absurdDurationsTheSchemaLetsThroughAreRefusedByTheOperator() {
    for (String absurd : List.of("99999999999h", "8785h", "527041m", "99999999999999999999999999s")) {
      assertThat(openApiViolations(FIELDS.get("DeviceLogin:spec.renewBefore"), absurd)).isEmpty();
      assertThatThrownBy(() -> Durations.parse(absurd)).as(absurd).isInstanceOf(IllegalArgumentException.class);
    }
    TRIED.merge("Durations.parse beyond the schema (renewBefore)", 4, Integer::sum);
  }

  // ---- evaluation

  /** The OpenAPI v3 constraints the API server checks, for a string, object (map) or array value. */
  static List<String> openApiViolations(JSONSchemaProps schema, Object value) {
    List<String> violations = new ArrayList<>();
    if (value instanceof String s) {
      int length = s.codePointCount(0, s.length());
      if (schema.getMinLength() != null && length < schema.getMinLength()) {
        violations.add("minLength");
      }
      if (schema.getMaxLength() != null && length > schema.getMaxLength()) {
        violations.add("maxLength");
      }
      if (schema.getPattern() != null && !goPattern(schema.getPattern()).matcher(s).find()) {
        violations.add("pattern");
      }
      if (schema.getEnum() != null && !schema.getEnum().isEmpty()
          && schema.getEnum().stream().noneMatch(e -> e.isTextual() && e.asText().equals(s))) {
        violations.add("enum");
      }
    } else if (value instanceof Map<?, ?> map) {
      if (schema.getMinProperties() != null && map.size() < schema.getMinProperties()) {
        violations.add("minProperties");
      }
      if (schema.getMaxProperties() != null && map.size() > schema.getMaxProperties()) {
        violations.add("maxProperties");
      }
    } else if (value instanceof List<?> list) {
      if (schema.getMinItems() != null && list.size() < schema.getMinItems()) {
        violations.add("minItems");
      }
      if (schema.getMaxItems() != null && list.size() > schema.getMaxItems()) {
        violations.add("maxItems");
      }
    }
    return violations;
  }

  /**
   * The API server matches patterns with Go's regexp, where {@code $} is the end of the text; in Java it also matches
   * before a final line terminator ("https://x\n" would pass), so a trailing {@code $} becomes {@code \z}.
   */
  static Pattern goPattern(String pattern) {
    return Pattern.compile(pattern.endsWith("$") && !pattern.endsWith("\\$")
        ? pattern.substring(0, pattern.length() - 1) + "\\z" : pattern);
  }

  private static List<String> celViolations(String path, JSONSchemaProps schema, Object value) {
    List<String> violations = new ArrayList<>();
    if (schema.getXKubernetesValidations() != null) {
      for (ValidationRule rule : schema.getXKubernetesValidations()) {
        if (!eval(rule.getRule(), value)) {
          violations.add(rule.getMessage());
        }
      }
    }
    return violations;
  }

  private static boolean eval(String rule, Object self) {
    try {
      CelAbstractSyntaxTree ast = COMPILER.compile(rule).getAst();
      return Boolean.TRUE.equals(RUNTIME.createProgram(ast).eval(Map.of("self", self)));
    } catch (Exception e) {
      throw new AssertionError("cannot evaluate " + rule + ": " + e.getMessage(), e);
    }
  }

  private static String shown(Object value) {
    String text = String.valueOf(value);
    return text.length() > 80 ? text.substring(0, 80) + "...(" + text.length() + " chars)" : text;
  }
}
