package io.devicelogin.operator.examples;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * Example: turns a DeviceLogin's per-user Secret into a kubeconfig for a cluster that trusts the IdP's ID tokens.
 *
 * <p>It never copies the Secret's {@code refresh-token}: the operator is the only refresher. A kubeconfig holding the
 * refresh token makes its client a second refresher (kubectl's {@code oidc} auth-provider refreshes by itself); with
 * rotating refresh tokens the two race, and an IdP with reuse detection then revokes the whole session.
 *
 * <p>Two kinds of user entry:
 *
 * <ul>
 *   <li>{@code exec} (default): a client.authentication.k8s.io/v1 exec credential that runs
 *       {@code examples/devicelogin-credential.sh} (embedded, run with {@code sh -c}) to read the current ID token and
 *       its expiry from the Secret with kubectl each time the previous one expires (through
 *       {@code --context secretContext}, the cluster where the Secret lives). The operator keeps the Secret fresh, so
 *       the client always has the operator's latest token. Needs {@code sh}, {@code kubectl} and {@code base64}.
 *   <li>{@code snapshot}: the {@code oidc} auth-provider with the ID token as it is now (idp-issuer-url, client-id,
 *       id-token, idp-certificate-authority-data), for clients without exec support (fabric8, client-go before 1.26,
 *       some IDEs). It works until the ID token expires; then generate it again.
 * </ul>
 *
 * <p>Run it from the repository's root (uses the current kubeconfig to read the Secret):
 *
 * <pre>
 * mvn -B -q test-compile org.codehaus.mojo:exec-maven-plugin:3.6.4:java -Dexec.classpathScope=test \
 *   -Dexec.mainClass=io.devicelogin.operator.examples.KubeconfigFromSecret \
 *   -Dexec.args="team-a oidc-alice-example-com https://api.prod.example.com:6443 exec mgmt" &gt; alice.kubeconfig
 * </pre>
 */
public final class KubeconfigFromSecret {

  /** The exec credential plugin, a POSIX sh script. */
  public static final Path CREDENTIAL_SCRIPT = Path.of("examples", "devicelogin-credential.sh");

  /** The Secret keys a kubeconfig may carry; never {@code refresh-token} (nor {@code access-token}). */
  private static final List<String> SNAPSHOT_KEYS =
      List.of("idp-issuer-url", "client-id", "id-token", "idp-certificate-authority-data");

  private KubeconfigFromSecret() {}

  /** Arguments: namespace secretName serverUrl [exec|snapshot] [secretContext]. */
  public static void main(String[] args) throws IOException {
    if (args.length < 3) {
      System.err.println("usage: KubeconfigFromSecret NAMESPACE SECRET SERVER_URL [exec|snapshot] [SECRET_CONTEXT]");
      System.exit(2);
    }
    String mode = args.length > 3 ? args[3] : "exec";
    try (KubernetesClient client = new KubernetesClientBuilder().build()) {
      Secret secret = client.secrets().inNamespace(args[0]).withName(args[1]).get();
      if (secret == null) {
        System.err.println("no Secret " + args[0] + "/" + args[1]);
        System.exit(1);
      }
      System.out.print(mode.equals("snapshot")
          ? snapshotKubeconfig(secret, args[2], null)
          : execKubeconfig(secret, args[2], null, args.length > 4 ? args[4] : null, Files.readString(CREDENTIAL_SCRIPT)));
    }
  }

  /** A kubeconfig whose user is the {@code oidc} auth-provider with the Secret's ID token as it is now. */
  public static String snapshotKubeconfig(Secret secret, String server, String clusterCaData) {
    Map<String, String> data = decoded(secret);
    String user = user(secret);
    StringBuilder config = new StringBuilder();
    for (String key : SNAPSHOT_KEYS) {
      if (data.get(key) != null) {
        String value = key.equals("idp-certificate-authority-data")
            ? secret.getData().get(key) // kept base64 encoded, as the kubeconfig expects
            : data.get(key);
        config.append("        ").append(key).append(": ").append(quote(value)).append('\n');
      }
    }
    return header(server, clusterCaData, user) + """
        users:
        - name: %s
          user:
            auth-provider:
              name: oidc
              config:
        %s""".formatted(quote(user), config.toString().replaceAll("(?m)^", "  ").replaceFirst("\\s+$", "\n"));
  }

  /**
   * A kubeconfig whose user runs {@code script} (the text of {@link #CREDENTIAL_SCRIPT}) with {@code sh -c}: it reads
   * the current ID token from the Secret with kubectl ({@code --context=secretContext} when given) and prints an
   * ExecCredential.
   */
  public static String execKubeconfig(Secret secret, String server, String clusterCaData, String secretContext,
      String script) {
    String user = user(secret);
    StringBuilder args = new StringBuilder();
    args.append("      - \"-c\"\n      - |\n").append(script.stripTrailing().replaceAll("(?m)^(?=.)", "        "))
        .append('\n');
    List<String> scriptArgs = new ArrayList<>(List.of("devicelogin-credential", secret.getMetadata().getNamespace(),
        secret.getMetadata().getName()));
    if (secretContext != null) {
      scriptArgs.add("--context=" + secretContext);
    }
    scriptArgs.forEach(a -> args.append("      - ").append(quote(a)).append('\n'));
    return header(server, clusterCaData, user) + """
        users:
        - name: %s
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1
              command: sh
              interactiveMode: Never
              args:
        %s""".formatted(quote(user), args.toString().replaceAll("(?m)^(?=.)", "  "));
  }

  private static String header(String server, String clusterCaData, String user) {
    return """
        apiVersion: v1
        kind: Config
        clusters:
        - name: cluster
          cluster:
            server: %s
        %scontexts:
        - name: %s
          context: {cluster: cluster, user: %s}
        current-context: %s
        """.formatted(quote(server),
        clusterCaData == null ? "" : "    certificate-authority-data: " + quote(clusterCaData) + "\n",
        quote(user), quote(user), quote(user));
  }

  private static String user(Secret secret) {
    String label = secret.getMetadata().getLabels() == null ? null
        : secret.getMetadata().getLabels().get("devicelogin.io/username");
    return label != null ? label : secret.getMetadata().getName();
  }

  private static Map<String, String> decoded(Secret secret) {
    Map<String, String> decoded = new java.util.HashMap<>();
    secret.getData().forEach((k, v) -> decoded.put(k, new String(Base64.getDecoder().decode(v),
        StandardCharsets.UTF_8)));
    return decoded;
  }

  /** A YAML double-quoted scalar on one line. */
  private static String quote(String value) {
    return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }
}
