package io.devicelogin.operator.demo;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
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
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The local end-to-end demo ({@code ./demo}): a real Keycloak, a Kubernetes API stand-in and the operator, one real
 * login. Everything it starts stops when it ends or on Ctrl-C.
 *
 * <p>Arguments: {@code --grant authorization-code} logs in through the authorization code grant with PKCE (Keycloak
 * client {@code devicelogin-authcode}: no device grant, only the redirect {@code http://localhost:8000/*}) and
 * paste-back instead of the device grant; {@code --auto-approve} logs in as the demo user over HTTP instead of waiting
 * for a person (with the authorization code grant: signs in, takes the redirect's {@code Location} without following
 * it, and pastes it back).
 */
public final class Demo {

  static final String NAMESPACE = "demo";
  static final String USERNAME = "alice";
  static final String PASSWORD = "alice-password";
  static final String EMAIL = "alice@example.com";

  static final String USAGE = "Usage: ./demo [--grant device-code|authorization-code] [--auto-approve]";
  /** The redirect URI registered for the Keycloak client devicelogin-authcode; nothing listens on it. */
  static final String REDIRECT_URI = "http://localhost:8000/";

  private static final PrintStream OUT = System.out;

  private Demo() {}

  public static void main(String[] args) {
    boolean autoApprove = false;
    boolean codeGrant = false;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--auto-approve")) {
        autoApprove = true;
      } else if (args[i].equals("--grant") && i + 1 < args.length
          && List.of("device-code", "authorization-code").contains(args[i + 1])) {
        codeGrant = args[++i].equals("authorization-code");
      } else {
        System.err.println("Unknown argument '" + args[i] + "'. " + USAGE);
        System.exit(2);
      }
    }
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
          NAMESPACE, "keycloak", keycloak.issuerUrl().toString(), codeGrant ? "devicelogin-authcode" : "devicelogin-cli");
      if (codeGrant) {
        provider.getSpec().setGrant(IdentityProviderSpec.GrantType.AuthorizationCode);
        provider.getSpec().setRedirectUri(REDIRECT_URI);
      }
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
      if (codeGrant) {
        signInAndPasteBack(client, awaiting, autoApprove);
      } else if (autoApprove) {
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

  /**
   * The authorization code grant: the person (or, with auto-approve, {@link KeycloakBrowser}) signs in at
   * status.authorizationUrl; the browser is then sent to http://localhost:8000/?code=… and fails, and the URL it shows
   * is pasted back as an authorization-response Secret, as a portal or kubectl would. A refused paste (the operator
   * says why in the Ready condition) asks again.
   */
  private static void signInAndPasteBack(KubernetesClient client, DeviceLogin awaiting, boolean autoApprove) {
    String authorizationUrl = awaiting.getStatus().getAuthorizationUrl();
    if (autoApprove) {
      step("--auto-approve: signing in as " + USERNAME + " over HTTP; the redirect to " + REDIRECT_URI
          + " is not followed, its Location is what a browser would show");
      String redirected = KeycloakBrowser.signInForRedirect(authorizationUrl, REDIRECT_URI, USERNAME, PASSWORD)
          .toString();
      OUT.println("  The browser would end on: " + REDIRECT_URI + "?code=<redacted>&...");
      paste(client, redirected);
      return;
    }
    step("Now sign in, in your own browser:");
    OUT.println("  Open " + authorizationUrl);
    OUT.println("  Sign in as " + USERNAME + " / " + PASSWORD + " before " + awaiting.getStatus().getExpiresAt() + ".");
    OUT.println("  Keycloak then sends your browser to " + REDIRECT_URI + "?code=...: nothing listens there, so the");
    OUT.println("  page fails. That is expected: copy the whole address from the browser's address bar.");
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    while (true) {
      OUT.print("  Paste the address here and press Enter (Ctrl-C stops everything): ");
      OUT.flush();
      String line;
      try {
        line = in.readLine();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      if (line == null) {
        OUT.println();
        OUT.println("  (no more input: waiting until the login ends, at the latest when it expires)");
        return;
      }
      if (line.isBlank()) {
        continue;
      }
      paste(client, line.strip());
      DeviceLogin after = await(client, dl -> dl.getStatus().getPhase() != Phase.AwaitingUser
          || client.secrets().inNamespace(NAMESPACE).withLabel(Constants.DEVICELOGIN_LABEL, USERNAME).list()
              .getItems().isEmpty(), Duration.ofSeconds(30));
      if (after.getStatus().getPhase() != Phase.AwaitingUser) {
        return;
      }
      var ready = Conditions.find(after.getStatus().getConditions(), Constants.READY);
      if (ready != null && ready.getMessage().startsWith("A response was refused")) {
        OUT.println("  The operator refused it: " + ready.getMessage());
      }
    }
  }

  /** kubectl create secret generic --type devicelogin.io/authorization-response ... (with the label). */
  private static void paste(KubernetesClient client, String redirectedUrl) {
    Secret secret = client.resource(Resources.authorizationResponse(NAMESPACE, USERNAME, redirectedUrl)).create();
    String name = secret.getMetadata().getName();
    step("kubectl create secret generic " + name + " -n " + NAMESPACE + " --type " + Constants.AUTHORIZATION_RESPONSE_TYPE
        + " --from-literal " + Constants.REDIRECT_URL_KEY + "='<the address>'\n"
        + "    kubectl label secret " + name + " -n " + NAMESPACE + " " + Constants.DEVICELOGIN_LABEL + "=" + USERNAME);
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
        orEmpty(status.getVerificationUri()), orEmpty(status.getSecretName()))
        + (status.getAuthorizationUrl() == null ? "" : "  status.authorizationUrl: " + status.getAuthorizationUrl());
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
