package io.devicelogin.operator.install;

import static org.assertj.core.api.Assertions.assertThat;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.InstallCommand;
import com.marcnuri.helm.Release;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The admission policies need ValidatingAdmissionPolicy v1 (Kubernetes 1.30+); on an older cluster the chart still
 * installs, without them, and says so. {@code helm install --dry-run} (helm-java) against a stand-in API server that
 * serves only discovery: Helm reads the cluster's kinds from it, renders, and GETs every object it would create to
 * check it does not exist yet — so the GETs show what it rendered, and the release notes what it told the admin.
 */
class AdmissionPolicyApiGateTest {

  private static final List<String> WEBHOOKS = List.of("validatingwebhookconfigurations:ValidatingWebhookConfiguration",
      "mutatingwebhookconfigurations:MutatingWebhookConfiguration");
  private static final List<String> POLICIES = List.of("validatingadmissionpolicies:ValidatingAdmissionPolicy",
      "validatingadmissionpolicybindings:ValidatingAdmissionPolicyBinding");

  @Test
  void aClusterWithoutValidatingAdmissionPolicyGetsTheOperatorWithoutThePoliciesAndAWarning() throws Exception {
    try (Cluster cluster = new Cluster("29", WEBHOOKS)) {
      String notes = cluster.dryRunInstall(null);
      assertThat(cluster.gets()).as("objects Helm checked before installing")
          .anyMatch(p -> p.endsWith("/deployments/devicelogin-operator"))
          .noneMatch(p -> p.contains("validatingadmissionpolic"));
      assertThat(notes).contains("WARNING: the identity-binding admission policy is NOT installed (this cluster has no "
          + "ValidatingAdmissionPolicy v1, Kubernetes 1.30+)")
          .contains("NOT enforced: anyone who may create DeviceLogins in a namespace can name another person")
          .contains("WARNING: the operator-secrets admission policy is NOT installed");
    }
  }

  @Test
  void aClusterWithValidatingAdmissionPolicyGetsBothPolicies() throws Exception {
    List<String> resources = new ArrayList<>(WEBHOOKS);
    resources.addAll(POLICIES);
    try (Cluster cluster = new Cluster("31", resources)) {
      String notes = cluster.dryRunInstall(null);
      assertThat(cluster.gets()).contains(
          "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/devicelogin-operator-identity-binding",
          "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/devicelogin-operator-identity-binding",
          "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/devicelogin-operator-operator-secrets",
          "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/devicelogin-operator-operator-secrets");
      assertThat(notes).contains("Identity binding is on (Deny)").doesNotContain("WARNING");
    }
  }

  @Test
  void policiesTurnedOffAreNotInstalledAndTheNotesSaySo() throws Exception {
    List<String> resources = new ArrayList<>(WEBHOOKS);
    resources.addAll(POLICIES);
    try (Cluster cluster = new Cluster("31", resources)) {
      String notes = cluster.dryRunInstall("""
          admission:
            identityBinding: {enabled: false}
            operatorSecrets: {enabled: false}
          """);
      assertThat(cluster.gets()).noneMatch(p -> p.contains("validatingadmissionpolic"));
      assertThat(notes)
          .contains("WARNING: the identity-binding admission policy is NOT installed (admission.identityBinding.enabled"
              + "=false)")
          .contains("WARNING: the operator-secrets admission policy is NOT installed");
    }
  }

  /** An API server stand-in that serves discovery of the kinds the chart renders, 404 for everything else. */
  private static final class Cluster implements AutoCloseable {

    private final MockWebServer server = new MockWebServer();
    private final Map<String, String> discovery = new LinkedHashMap<>();
    private final List<String> gets = Collections.synchronizedList(new ArrayList<>());

    Cluster(String minor, List<String> admissionResources) {
      discovery.put("/version", """
          {"major": "1", "minor": "%s", "gitVersion": "v1.%s.0", "platform": "linux/amd64"}""".formatted(minor, minor));
      discovery.put("/api", """
          {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}""");
      discovery.put("/api/v1", resourceList("v1", List.of("namespaces:Namespace", "secrets:Secret",
          "serviceaccounts:ServiceAccount", "services:Service", "configmaps:ConfigMap")));
      Map<String, List<String>> groups = new LinkedHashMap<>();
      groups.put("apps/v1", List.of("deployments:Deployment"));
      groups.put("rbac.authorization.k8s.io/v1", List.of("clusterroles:ClusterRole",
          "clusterrolebindings:ClusterRoleBinding", "roles:Role", "rolebindings:RoleBinding"));
      groups.put("admissionregistration.k8s.io/v1", admissionResources);
      groups.put("apiextensions.k8s.io/v1", List.of("customresourcedefinitions:CustomResourceDefinition"));
      groups.forEach((groupVersion, resources) -> discovery.put("/apis/" + groupVersion,
          resourceList(groupVersion, resources)));
      discovery.put("/apis", groups.keySet().stream().map(gv -> {
        String group = gv.substring(0, gv.indexOf('/'));
        return """
            {"name": "%s", "versions": [{"groupVersion": "%s", "version": "v1"}],
             "preferredVersion": {"groupVersion": "%s", "version": "v1"}}""".formatted(group, gv, gv);
      }).collect(Collectors.joining(",", "{\"kind\": \"APIGroupList\", \"apiVersion\": \"v1\", \"groups\": [", "]}")));
      server.setDispatcher(new Dispatcher() {
        @Override
        public MockResponse dispatch(RecordedRequest request) {
          String path = request.getPath().replaceFirst("\\?.*", "");
          String body = discovery.get(path);
          if (body != null) {
            return new MockResponse().setResponseCode(200).addHeader("Content-Type: application/json").setBody(body);
          }
          if (request.getMethod().equals("GET")) {
            gets.add(path);
          }
          return new MockResponse().setResponseCode(404).addHeader("Content-Type: application/json").setBody("""
              {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}""");
        }
      });
      server.start();
    }

    private static String resourceList(String groupVersion, List<String> resources) {
      return resources.stream().map(r -> {
        String[] nameKind = r.split(":");
        boolean namespaced = !List.of("namespaces", "clusterroles", "clusterrolebindings", "customresourcedefinitions")
            .contains(nameKind[0]) && !nameKind[0].startsWith("validating") && !nameKind[0].startsWith("mutating");
        return """
            {"name": "%s", "singularName": "", "namespaced": %s, "kind": "%s",
             "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}"""
            .formatted(nameKind[0], namespaced, nameKind[1]);
      }).collect(Collectors.joining(",",
          "{\"kind\": \"APIResourceList\", \"groupVersion\": \"" + groupVersion + "\", \"resources\": [", "]}"));
    }

    /** {@code helm install --dry-run} of the chart with these values (null: the defaults); the release notes. */
    String dryRunInstall(String values) throws IOException {
      String kubeconfig = """
          apiVersion: v1
          kind: Config
          clusters: [{name: stand-in, cluster: {server: "http://127.0.0.1:%d"}}]
          users: [{name: admin, user: {token: not-a-secret}}]
          contexts: [{name: stand-in, context: {cluster: stand-in, user: admin}}]
          current-context: stand-in
          """.formatted(server.getPort());
      InstallCommand install = new Helm(Chart.DIR).install().withName(Chart.RELEASE).withNamespace(Chart.NAMESPACE)
          .withKubeConfigContents(kubeconfig).dryRun().disableOpenApiValidation();
      if (values != null) {
        Path file = Files.createTempFile(Path.of("target"), "values", ".yaml");
        Files.writeString(file, values);
        install.withValuesFile(file);
      }
      Release release = install.call();
      return release.getOutput();
    }

    List<String> gets() {
      synchronized (gets) {
        return List.copyOf(gets);
      }
    }

    @Override
    public void close() {
      server.shutdown();
    }
  }
}
