package io.devicelogin.operator.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.ExecConfig;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.internal.KubeConfigUtils;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kubeconfig example: it never hands out the refresh token, and its exec credential (examples/
 * devicelogin-credential.sh) prints the Secret's current ID token as an ExecCredential. The exec entry is run
 * exactly as the generated kubeconfig says, with a stub {@code kubectl} first on the PATH that prints a fixture.
 */
class KubeconfigFromSecretTest {

  private static final String SERVER = "https://api.prod.example.com:6443";
  private static final String ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
  private static final String REFRESH_TOKEN = "refresh-123-do-not-copy";
  private static final String EXPIRY = "2030-01-01T00:00:00Z";

  @TempDir
  Path dir;

  private static Secret secret() {
    Map<String, String> data = new LinkedHashMap<>();
    data.put("id-token", ID_TOKEN);
    data.put("refresh-token", REFRESH_TOKEN);
    data.put("access-token", "access-123");
    data.put("expiry", EXPIRY);
    data.put("idp-issuer-url", "https://sso.example.com/realms/corp");
    data.put("client-id", "kubernetes-cli");
    data.put("idp-certificate-authority-data", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    Map<String, String> encoded = new LinkedHashMap<>();
    data.forEach((k, v) -> encoded.put(k, b64(v)));
    return new SecretBuilder().withNewMetadata().withName("oidc-alice-example-com").withNamespace("team-a")
        .addToLabels("app.kubernetes.io/managed-by", "devicelogin-operator")
        .addToLabels("devicelogin.io/username", "alice-example-com").endMetadata()
        .withType("devicelogin.io/oidc-tokens").withData(encoded).build();
  }

  private static String execKubeconfig() throws IOException {
    return KubeconfigFromSecret.execKubeconfig(secret(), SERVER, null, "mgmt",
        Files.readString(KubeconfigFromSecret.CREDENTIAL_SCRIPT));
  }

  @Test
  void neitherKubeconfigCarriesTheRefreshToken() throws IOException {
    for (String kubeconfig : List.of(execKubeconfig(),
        KubeconfigFromSecret.snapshotKubeconfig(secret(), SERVER, "Q0EtREFUQQ=="))) {
      assertThat(kubeconfig).doesNotContain(REFRESH_TOKEN).doesNotContain(b64(REFRESH_TOKEN))
          .doesNotContain("refresh-token:").doesNotContain("access-123");
    }
  }

  @Test
  void snapshotKubeconfigCarriesTheIdTokenAsItIsNow() {
    Secret secret = secret();
    Config config = Config.fromKubeconfig(KubeconfigFromSecret.snapshotKubeconfig(secret, SERVER, "Q0EtREFUQQ=="));
    assertThat(config.getMasterUrl()).startsWith(SERVER);
    assertThat(config.getCaCertData()).isEqualTo("Q0EtREFUQQ==");
    assertThat(config.getAuthProvider().getName()).isEqualTo("oidc");
    assertThat(config.getAuthProvider().getConfig()).containsOnlyKeys("id-token", "idp-issuer-url", "client-id",
        "idp-certificate-authority-data")
        .containsEntry("id-token", ID_TOKEN)
        .containsEntry("idp-certificate-authority-data", secret.getData().get("idp-certificate-authority-data"));
    assertThat(config.getAutoOAuthToken()).as("fabric8 sends the ID token as the bearer token").isEqualTo(ID_TOKEN);
    assertThat(config.getCurrentContext().getName()).isEqualTo("alice-example-com");
  }

  @Test
  void execCredentialPrintsTheSecretsCurrentIdTokenAndItsExpiry() throws Exception {
    Run run = runExec(execKubeconfig(), "devicelogin.io/oidc-tokens " + b64(ID_TOKEN) + " " + b64(EXPIRY), 0);
    assertThat(run.exit()).as(run.stderr()).isZero();
    JsonNode credential = Serialization.jsonMapper().readTree(run.stdout());
    assertThat(credential.get("apiVersion").asText()).isEqualTo("client.authentication.k8s.io/v1");
    assertThat(credential.get("kind").asText()).isEqualTo("ExecCredential");
    assertThat(credential.at("/status/token").asText()).isEqualTo(ID_TOKEN);
    assertThat(credential.at("/status/expirationTimestamp").asText()).isEqualTo(EXPIRY);
    assertThat(credential.at("/status").size()).as("nothing but token and expiry").isEqualTo(2);
    assertThat(run.kubectlArgs()).containsExactly("--context=mgmt", "--namespace", "team-a", "get", "secret",
        "oidc-alice-example-com", "--output", "jsonpath={.type} {.data.id-token} {.data.expiry}");
  }

  @Test
  void theKubeconfigRunsTheScriptAsAnExecPluginThatNeverPrompts() throws IOException {
    String kubeconfig = execKubeconfig();
    assertThat(KubeConfigUtils.parseConfigFromString(kubeconfig).getClusters().get(0).getCluster().getServer())
        .isEqualTo(SERVER);
    ExecConfig exec = KubeConfigUtils.parseConfigFromString(kubeconfig).getUsers().get(0).getUser().getExec();
    assertThat(exec.getApiVersion()).isEqualTo("client.authentication.k8s.io/v1");
    assertThat(exec.getInteractiveMode()).isEqualTo("Never");
    assertThat(exec.getCommand()).isEqualTo("sh");
    assertThat(exec.getArgs().get(0)).isEqualTo("-c");
    assertThat(exec.getArgs().get(1)).as("the script, verbatim")
        .isEqualTo(Files.readString(KubeconfigFromSecret.CREDENTIAL_SCRIPT).stripTrailing() + "\n");
    assertThat(exec.getArgs().subList(2, exec.getArgs().size()))
        .containsExactly("devicelogin-credential", "team-a", "oidc-alice-example-com", "--context=mgmt");
  }

  @Test
  void aSecretOfAnotherTypeIsRefused() throws Exception {
    Run run = runExec(execKubeconfig(), "Opaque " + b64(ID_TOKEN) + " " + b64(EXPIRY), 0);
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.stdout()).isEmpty();
    assertThat(run.stderr()).contains("is not a DeviceLogin token Secret (type Opaque)").doesNotContain(ID_TOKEN);
  }

  @Test
  void aSecretWithoutTokensSaysToWaitForTheLogin() throws Exception {
    Run run = runExec(execKubeconfig(), "devicelogin.io/oidc-tokens  ", 0);
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.stdout()).isEmpty();
    assertThat(run.stderr()).contains("holds no ID token; is its DeviceLogin Ready?");
  }

  @Test
  void contentThatWouldBreakTheJsonIsRefusedWithoutEchoingIt() throws Exception {
    String hostile = "x\",\"clientKeyData\":\"evil";
    Run token = runExec(execKubeconfig(), "devicelogin.io/oidc-tokens " + b64(hostile) + " " + b64(EXPIRY), 0);
    assertThat(token.exit()).isEqualTo(1);
    assertThat(token.stdout()).isEmpty();
    assertThat(token.stderr()).contains("id-token is not a JWT").doesNotContain("evil");
    Run expiry = runExec(execKubeconfig(),
        "devicelogin.io/oidc-tokens " + b64(ID_TOKEN) + " " + b64("2030\"}, \"x\":\"y"), 0);
    assertThat(expiry.exit()).isEqualTo(1);
    assertThat(expiry.stdout()).isEmpty();
    assertThat(expiry.stderr()).contains("expiry is not an RFC 3339 time").doesNotContain(ID_TOKEN);
  }

  @Test
  void aFailingKubectlFailsThePlugin() throws Exception {
    Run run = runExec(execKubeconfig(), "", 1);
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.stdout()).isEmpty();
    assertThat(run.stderr()).contains("can not read Secret team-a/oidc-alice-example-com");
  }

  /**
   * The plugin with the real kubectl (when installed) against an API server stand-in that serves discovery and the
   * Secret: kubectl's own jsonpath reads the keys, and the kubeconfig's {@code --context} picks the cluster.
   */
  @Test
  void execCredentialWorksWithTheRealKubectl() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/kubectl")) || Files.isExecutable(
        Path.of("/usr/local/bin/kubectl")), "kubectl is not installed");
    Map<String, String> responses = new LinkedHashMap<>();
    responses.put("/api", "{\"kind\": \"APIVersions\", \"versions\": [\"v1\"], \"serverAddressByClientCIDRs\": []}");
    responses.put("/apis", "{\"kind\": \"APIGroupList\", \"apiVersion\": \"v1\", \"groups\": []}");
    responses.put("/api/v1", """
        {"kind": "APIResourceList", "groupVersion": "v1", "resources": [{"name": "secrets", "singularName": "secret",
         "namespaced": true, "kind": "Secret", "verbs": ["get", "list"]}]}""");
    responses.put("/api/v1/namespaces/team-a/secrets/oidc-alice-example-com",
        Serialization.asJson(new SecretBuilder(secret()).withApiVersion("v1").withKind("Secret").build()));
    MockWebServer server = new MockWebServer();
    server.setDispatcher(new Dispatcher() {
      @Override
      public MockResponse dispatch(RecordedRequest request) {
        String body = responses.get(request.getPath().replaceFirst("\\?.*", ""));
        return new MockResponse().setResponseCode(body == null ? 404 : 200)
            .addHeader("Content-Type: application/json").setBody(body == null ? "{}" : body);
      }
    });
    server.start();
    try {
      Path kubeconfig = dir.resolve("mgmt.kubeconfig");
      Files.writeString(kubeconfig, """
          apiVersion: v1
          kind: Config
          clusters: [{name: mgmt, cluster: {server: "http://127.0.0.1:%d"}}]
          users: [{name: admin, user: {token: not-a-secret}}]
          contexts: [{name: mgmt, context: {cluster: mgmt, user: admin}}, {name: other, context: {cluster: mgmt}}]
          current-context: other
          """.formatted(server.getPort()));
      ExecConfig exec = KubeConfigUtils.parseConfigFromString(execKubeconfig()).getUsers().get(0).getUser().getExec();
      List<String> command = new ArrayList<>();
      command.add(exec.getCommand());
      command.addAll(exec.getArgs());
      ProcessBuilder builder = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new File(
          "/dev/null")));
      builder.environment().put("KUBECONFIG", kubeconfig.toString());
      builder.environment().put("HOME", dir.toString());
      Process process = builder.start();
      assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("the plugin ends").isTrue();
      String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(process.exitValue()).as(stderr).isZero();
      JsonNode credential = Serialization.jsonMapper().readTree(process.getInputStream());
      assertThat(credential.at("/status/token").asText()).isEqualTo(ID_TOKEN);
      assertThat(credential.at("/status/expirationTimestamp").asText()).isEqualTo(EXPIRY);
    } finally {
      server.shutdown();
    }
  }

  record Run(int exit, String stdout, String stderr, List<String> kubectlArgs) {}

  /**
   * Runs the kubeconfig's exec entry (command and args, as kubectl would) with a stub kubectl on the PATH that records
   * its arguments, prints {@code kubectlOutput} and exits with {@code kubectlExit}.
   */
  private Run runExec(String kubeconfig, String kubectlOutput, int kubectlExit) throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Path argsFile = dir.resolve("kubectl-args");
    Path output = dir.resolve("kubectl-output");
    Files.writeString(output, kubectlOutput);
    Path kubectl = bin.resolve("kubectl");
    Files.writeString(kubectl, """
        #!/bin/sh
        for a in "$@"; do printf '%%s\\n' "$a"; done > '%s'
        cat '%s'
        exit %d
        """.formatted(argsFile, output, kubectlExit));
    Files.setPosixFilePermissions(kubectl, PosixFilePermissions.fromString("rwxr-xr-x"));
    ExecConfig exec = KubeConfigUtils.parseConfigFromString(kubeconfig).getUsers().get(0).getUser().getExec();
    List<String> command = new ArrayList<>();
    command.add(exec.getCommand());
    command.addAll(exec.getArgs());
    ProcessBuilder builder = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    builder.environment().put("PATH", bin + ":/usr/bin:/bin");
    Process process = builder.start();
    assertThat(process.waitFor(20, TimeUnit.SECONDS)).as("the plugin ends").isTrue();
    String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    List<String> kubectlArgs = Files.exists(argsFile) ? Files.readAllLines(argsFile) : List.of();
    return new Run(process.exitValue(), stdout, stderr, kubectlArgs);
  }

  private static String b64(String value) {
    return Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8));
  }
}
