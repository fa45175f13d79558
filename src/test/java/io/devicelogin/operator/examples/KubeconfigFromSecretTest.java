package io.devicelogin.operator.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.ExecConfig;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.internal.KubeConfigUtils;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The kubeconfig example loads in fabric8 with the Secret's tokens. */
class KubeconfigFromSecretTest {

  private static final String SERVER = "https://api.prod.example.com:6443";
  private static final String ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";

  private static Secret secret() {
    Map<String, String> data = new LinkedHashMap<>();
    data.put("id-token", ID_TOKEN);
    data.put("refresh-token", "refresh-123");
    data.put("access-token", "access-123");
    data.put("expiry", "2030-01-01T00:00:00Z");
    data.put("idp-issuer-url", "https://sso.example.com/realms/corp");
    data.put("client-id", "kubernetes-cli");
    data.put("idp-certificate-authority-data", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    Map<String, String> encoded = new LinkedHashMap<>();
    data.forEach((k, v) -> encoded.put(k, Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8))));
    return new SecretBuilder().withNewMetadata().withName("oidc-alice-example-com").withNamespace("team-a")
        .addToLabels("app.kubernetes.io/managed-by", "devicelogin-operator")
        .addToLabels("devicelogin.io/username", "alice-example-com").endMetadata()
        .withType("devicelogin.io/oidc-tokens").withData(encoded).build();
  }

  @Test
  void oidcAuthProviderKubeconfigCarriesTheSecretsKeys() {
    Secret secret = secret();
    Config config = Config.fromKubeconfig(KubeconfigFromSecret.oidcKubeconfig(secret, SERVER, "Q0EtREFUQQ=="));
    assertThat(config.getMasterUrl()).startsWith(SERVER);
    assertThat(config.getCaCertData()).isEqualTo("Q0EtREFUQQ==");
    assertThat(config.getAuthProvider().getName()).isEqualTo("oidc");
    Map<String, String> provider = config.getAuthProvider().getConfig();
    assertThat(provider).containsEntry("id-token", ID_TOKEN).containsEntry("refresh-token", "refresh-123")
        .containsEntry("idp-issuer-url", "https://sso.example.com/realms/corp")
        .containsEntry("client-id", "kubernetes-cli")
        .containsEntry("idp-certificate-authority-data", secret.getData().get("idp-certificate-authority-data"))
        .doesNotContainKey("access-token");
    assertThat(config.getAutoOAuthToken()).as("fabric8 sends the ID token as the bearer token").isEqualTo(ID_TOKEN);
    assertThat(config.getCurrentContext().getName()).isEqualTo("alice-example-com");
  }

  @Test
  void execKubeconfigReadsTheTokenFromTheSecretWithKubectl() {
    String kubeconfig = KubeconfigFromSecret.execKubeconfig(secret(), SERVER, null, "mgmt");
    // fabric8 loads it (and would run the plugin for a token; without a "mgmt" context here that yields none)
    Config config = Config.fromKubeconfig(kubeconfig);
    assertThat(config.getMasterUrl()).startsWith(SERVER);
    assertThat(config.getCurrentContext().getContext().getUser()).isEqualTo("alice-example-com");
    ExecConfig exec = KubeConfigUtils.parseConfigFromString(kubeconfig).getUsers().get(0).getUser().getExec();
    assertThat(exec).isNotNull();
    assertThat(exec.getApiVersion()).isEqualTo("client.authentication.k8s.io/v1");
    assertThat(exec.getCommand()).isEqualTo("kubectl");
    assertThat(exec.getArgs()).contains("--context=mgmt", "--namespace=team-a", "get", "secret",
        "oidc-alice-example-com");
    assertThat(exec.getArgs().get(exec.getArgs().size() - 1))
        .startsWith("--output=go-template=")
        .contains("{{index .data \"id-token\" | base64decode}}", "\"kind\":\"ExecCredential\"");
  }
}
