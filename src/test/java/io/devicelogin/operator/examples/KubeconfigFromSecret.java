package io.devicelogin.operator.examples;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

/**
 * Example: turns a DeviceLogin's per-user Secret into a kubeconfig for a cluster that trusts the IdP's ID tokens.
 *
 * <p>Two kinds of user entry:
 *
 * <ul>
 *   <li>{@code oidc}: the {@code oidc} auth-provider; the Secret's keys are copied 1:1 (id-token, refresh-token,
 *       idp-issuer-url, client-id, idp-certificate-authority-data). Clients that still implement it (fabric8,
 *       client-go before 1.26, many IDEs) refresh the ID token themselves. kubectl 1.26+ no longer does: use exec.
 *   <li>{@code exec}: a client.authentication.k8s.io/v1 exec plugin that reads the current ID token from the Secret
 *       with kubectl each time it is needed (through {@code --context secretContext}, the cluster where the Secret
 *       lives). The operator keeps the Secret fresh, so the token is always the operator's latest.
 * </ul>
 *
 * <p>Run it (uses the current kubeconfig to read the Secret):
 *
 * <pre>
 * mvn -B -q test-compile org.codehaus.mojo:exec-maven-plugin:3.6.4:java -Dexec.classpathScope=test \
 *   -Dexec.mainClass=io.devicelogin.operator.examples.KubeconfigFromSecret \
 *   -Dexec.args="team-a oidc-alice-example-com https://api.prod.example.com:6443 exec mgmt" &gt; alice.kubeconfig
 * </pre>
 */
public final class KubeconfigFromSecret {

  private KubeconfigFromSecret() {}

  /** Arguments: namespace secretName serverUrl [oidc|exec] [secretContext]. */
  public static void main(String[] args) {
    if (args.length < 3) {
      System.err.println("usage: KubeconfigFromSecret NAMESPACE SECRET SERVER_URL [oidc|exec] [SECRET_CONTEXT]");
      System.exit(2);
    }
    String mode = args.length > 3 ? args[3] : "oidc";
    try (KubernetesClient client = new KubernetesClientBuilder().build()) {
      Secret secret = client.secrets().inNamespace(args[0]).withName(args[1]).get();
      if (secret == null) {
        System.err.println("no Secret " + args[0] + "/" + args[1]);
        System.exit(1);
      }
      System.out.print(mode.equals("exec")
          ? execKubeconfig(secret, args[2], null, args.length > 4 ? args[4] : null)
          : oidcKubeconfig(secret, args[2], null));
    }
  }

  /** A kubeconfig whose user is the {@code oidc} auth-provider with the Secret's keys. */
  public static String oidcKubeconfig(Secret secret, String server, String clusterCaData) {
    Map<String, String> data = decoded(secret);
    String user = user(secret);
    StringBuilder config = new StringBuilder();
    for (String key : new String[] {"idp-issuer-url", "client-id", "id-token", "refresh-token",
        "idp-certificate-authority-data"}) {
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

  /** A kubeconfig whose user runs kubectl to read the current ID token from the Secret (an ExecCredential). */
  public static String execKubeconfig(Secret secret, String server, String clusterCaData, String secretContext) {
    String user = user(secret);
    String template = "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
        + "\"status\":{\"token\":\"{{index .data \"id-token\" | base64decode}}\","
        + "\"expirationTimestamp\":\"{{index .data \"expiry\" | base64decode}}\"}}";
    StringBuilder args = new StringBuilder();
    if (secretContext != null) {
      args.append("      - ").append(quote("--context=" + secretContext)).append('\n');
    }
    for (String arg : new String[] {"--namespace=" + secret.getMetadata().getNamespace(), "get", "secret",
        secret.getMetadata().getName(), "--output=go-template=" + template}) {
      args.append("      - ").append(quote(arg)).append('\n');
    }
    return header(server, clusterCaData, user) + """
        users:
        - name: %s
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1
              command: kubectl
              interactiveMode: Never
              args:
        %s""".formatted(quote(user), args.toString().replaceAll("(?m)^", "  "));
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

  /** A YAML double-quoted scalar. */
  private static String quote(String value) {
    return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
