package io.devicelogin.operator.demo;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.keycloak.KeycloakBrowser;
import io.devicelogin.operator.keycloak.KeycloakServer;
import io.devicelogin.operator.status.Conditions;
import io.devicelogin.operator.testing.MockCluster;
import io.devicelogin.operator.testing.Resources;
import io.devicelogin.operator.testing.RunningOperator;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The local end-to-end demo ({@code ./demo}): a real Keycloak, a Kubernetes API stand-in and the operator, one real
 * device login. Everything it starts stops when it ends or on Ctrl-C.
 *
 * <p>Arguments: {@code --auto-approve} logs in as the demo user over HTTP instead of waiting for a person.
 */
public final class Demo {

  static final String NAMESPACE = "demo";
  static final String USERNAME = "alice";
  static final String PASSWORD = "alice-password";
  static final String EMAIL = "alice@example.com";

  private static final PrintStream OUT = System.out;

  private Demo() {}

  public static void main(String[] args) {
    List<String> arguments = List.of(args);
    for (String argument : arguments) {
      if (!argument.equals("--auto-approve")) {
        System.err.println("Unknown argument '" + argument + "'. Usage: ./demo [--auto-approve]");
        System.exit(2);
      }
    }
    boolean autoApprove = arguments.contains("--auto-approve");
    step("Starting Keycloak on 127.0.0.1 with the 'devicelogin' realm (about 20 s)...");
    try (KeycloakServer keycloak = KeycloakServer.start();
        MockCluster cluster = MockCluster.start();
        RunningOperator operator = RunningOperator.start(cluster)) {
      OUT.println("  Keycloak:        " + keycloak.baseUrl() + "  (demo user: " + USERNAME + " / " + PASSWORD + ")");
      OUT.println("  Kubernetes API:  " + cluster.url() + "  (fabric8 mock server, CRDs from crds/ installed)");
      OUT.println("  Operator:        running; metrics at http://127.0.0.1:" + operator.httpPort() + "/metrics");
      KubernetesClient client = cluster.client();

      step("kubectl apply: IdentityProvider 'keycloak' and DeviceLogin '" + USERNAME + "' in namespace " + NAMESPACE);
      IdentityProvider provider = Resources.identityProvider(
          NAMESPACE, "keycloak", keycloak.issuerUrl().toString(), "devicelogin-cli");
      client.resource(provider).create();
      DeviceLogin login = Resources.deviceLogin(NAMESPACE, USERNAME, "keycloak");
      login.getSpec().setUser(EMAIL);
      client.resource(login).create();
      OUT.println(indent(Serialization.asYaml(provider.getSpec()), "  IdentityProvider spec: "));
      OUT.println(indent(Serialization.asYaml(login.getSpec()), "  DeviceLogin spec: "));

      DeviceLogin awaiting = await(client, dl -> dl.getStatus().getPhase() != Phase.Pending, Duration.ofMinutes(1));
      if (awaiting.getStatus().getPhase() != Phase.AwaitingUser) {
        fail(awaiting);
        return;
      }
      step("kubectl get dl");
      OUT.println(table(awaiting));
      String complete = awaiting.getStatus().getVerificationUriComplete();
      if (autoApprove) {
        step("--auto-approve: logging in as " + USERNAME + " over HTTP and approving the device...");
        KeycloakBrowser.approve(complete, USERNAME, PASSWORD);
      } else {
        step("Now log in, in your own browser:");
        OUT.println("  Open " + complete);
        OUT.println("  (or " + awaiting.getStatus().getVerificationUri() + " and enter the code "
            + awaiting.getStatus().getUserCode() + ")");
        OUT.println("  Log in as " + USERNAME + " / " + PASSWORD + " and approve. The code expires at "
            + awaiting.getStatus().getExpiresAt() + ".");
        OUT.println("  Waiting... (Ctrl-C stops everything)");
      }
      Duration left = Duration.between(Instant.now(), Instant.parse(awaiting.getStatus().getExpiresAt()))
          .plusSeconds(15);
      DeviceLogin done = await(client, dl -> dl.getStatus().getPhase() != Phase.AwaitingUser, left);
      step("kubectl get dl");
      OUT.println(table(done));
      step("kubectl get dl " + USERNAME + " -o yaml   (status)");
      OUT.println(indent(Serialization.asYaml(done.getStatus()), "  "));
      if (done.getStatus().getPhase() != Phase.Ready) {
        fail(done);
        return;
      }
      Secret secret = client.secrets().inNamespace(NAMESPACE).withName(done.getStatus().getSecretName()).get();
      step("kubectl get secret " + secret.getMetadata().getName() + " -o yaml   (token values redacted)");
      OUT.println(indent(redacted(secret), "  "));
      step("Done. The tokens are in Secret " + NAMESPACE + "/" + secret.getMetadata().getName()
          + ", ready for a kubeconfig generator. Stopping everything.");
    }
  }

  private static DeviceLogin await(KubernetesClient client, Predicate<DeviceLogin> until, Duration timeout) {
    return client.resources(DeviceLogin.class).inNamespace(NAMESPACE).withName(USERNAME).waitUntilCondition(
        dl -> dl != null && dl.getStatus() != null && dl.getStatus().getPhase() != null && until.test(dl),
        timeout.toSeconds(), TimeUnit.SECONDS);
  }

  private static void fail(DeviceLogin login) {
    var ready = Conditions.find(login.getStatus().getConditions(), Constants.READY);
    System.err.println("The login ended " + login.getStatus().getPhase() + ": "
        + (ready == null ? "" : ready.getReason() + ": " + ready.getMessage()));
    System.exit(1);
  }

  static String table(DeviceLogin login) {
    var status = login.getStatus();
    String format = "  %-8s %-13s %-10s %-60s %s%n";
    return String.format(format, "NAME", "PHASE", "USER CODE", "VERIFICATION URI", "SECRET")
        + String.format(format, login.getMetadata().getName(), status.getPhase(), orEmpty(status.getUserCode()),
        orEmpty(status.getVerificationUri()), orEmpty(status.getSecretName()));
  }

  /** The Secret as YAML with every token replaced by its length. */
  static String redacted(Secret secret) {
    Map<String, String> shown = new TreeMap<>();
    secret.getData().forEach((key, value) -> {
      int length = java.util.Base64.getDecoder().decode(value).length;
      boolean token = key.endsWith("-token");
      shown.put(key, token ? "<redacted: " + length + " bytes>" : new String(
          java.util.Base64.getDecoder().decode(value), java.nio.charset.StandardCharsets.UTF_8));
    });
    Secret copy = new io.fabric8.kubernetes.api.model.SecretBuilder(secret).withData(null).withStringData(shown)
        .editMetadata().withManagedFields(List.of()).withResourceVersion(null).withUid(null).endMetadata().build();
    return Serialization.asYaml(copy);
  }

  private static String orEmpty(String value) {
    return value == null ? "" : value;
  }

  private static String indent(String text, String prefix) {
    return prefix + text.replace("---\n", "").stripTrailing().replace("\n", "\n" + " ".repeat(prefix.length()));
  }

  private static void step(String message) {
    OUT.println();
    OUT.println("==> " + message);
  }
}
