package io.devicelogin.operator.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.devicelogin.operator.http.HealthServer;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicy;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicyBinding;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The Helm chart, rendered with default and with non-default values, checked object by object. */
class ChartTest {

  private static final String SA = "devicelogin-operator";

  /** Where a permission is needed. */
  enum Scope {
    /** In every watched namespace (all namespaces: cluster-wide, as the informers list and watch across them). */
    WATCHED,
    /** Cluster-scoped kind. */
    CLUSTER,
    /** The operator's own namespace. */
    OPERATOR_NAMESPACE
  }

  /** One API call the operator makes, and where it makes it. */
  record Need(Scope scope, String group, String resource, String verb, String name) {}

  /**
   * Every call the operator makes (read off src/main and JOSDK/fabric8): informers (list, watch) on the three kinds,
   * direct GETs of providers, status patches, Secrets (grant and token Secrets, client secrets), Events, the Lease.
   */
  static final List<Need> NEEDS = needs();

  private static List<Need> needs() {
    List<Need> needs = new ArrayList<>();
    for (String verb : List.of("get", "list", "watch")) {
      // JOSDK informers; DeviceLoginReconciler GETs the named provider; StartupCheck lists each kind
      needs.add(new Need(Scope.WATCHED, "devicelogin.io", "devicelogins", verb, null));
      needs.add(new Need(Scope.WATCHED, "devicelogin.io", "identityproviders", verb, null));
      needs.add(new Need(Scope.CLUSTER, "devicelogin.io", "clusteridentityproviders", verb, null));
      // TenancyRules: informer on Namespaces (labels for namespaceSelector), GET of one not yet in its cache
      needs.add(new Need(Scope.CLUSTER, "", "namespaces", verb, null));
    }
    // InstalledCrds GETs the operator's own CRDs by name
    for (String crd : List.of("devicelogins", "identityproviders", "clusteridentityproviders")) {
      needs.add(new Need(Scope.CLUSTER, "apiextensions.k8s.io", "customresourcedefinitions", "get",
          crd + ".devicelogin.io"));
    }
    // JOSDK adds and removes the cleanup finalizer with a JSON patch on the DeviceLogin; finalizers subresource
    // for clusters that enforce owner-reference/finalizer permissions
    needs.add(new Need(Scope.WATCHED, "devicelogin.io", "devicelogins", "patch", null));
    needs.add(new Need(Scope.WATCHED, "devicelogin.io", "devicelogins/finalizers", "update", null));
    // StatusWriter: one JSON patch replacing /status
    needs.add(new Need(Scope.WATCHED, "devicelogin.io", "devicelogins/status", "patch", null));
    needs.add(new Need(Scope.WATCHED, "devicelogin.io", "identityproviders/status", "patch", null));
    needs.add(new Need(Scope.CLUSTER, "devicelogin.io", "clusteridentityproviders/status", "patch", null));
    // SecretInformer (list, watch the managed-by label), GrantStore (get before a start, create, update, delete),
    // TokenSecrets (create, update, delete, get after a refused write), ProviderResolver (client secret GET)
    for (String verb : List.of("get", "list", "watch", "create", "update", "delete")) {
      needs.add(new Need(Scope.WATCHED, "", "secrets", verb, null));
    }
    // ProviderResolver: a ClusterIdentityProvider's client secret lives in the operator's namespace
    needs.add(new Need(Scope.OPERATOR_NAMESPACE, "", "secrets", "get", null));
    // EventRecorder
    needs.add(new Need(Scope.WATCHED, "", "events", "create", null));
    // Leader election: fabric8 LeaseLock get/create/patch; JOSDK's pre-check asks for get/create/update
    needs.add(new Need(Scope.OPERATOR_NAMESPACE, "coordination.k8s.io", "leases", "create", null));
    for (String verb : List.of("get", "update", "patch")) {
      needs.add(new Need(Scope.OPERATOR_NAMESPACE, "coordination.k8s.io", "leases", verb, "devicelogin-operator"));
    }
    return List.copyOf(needs);
  }

  static final String NON_DEFAULT_VALUES = """
      image: {repository: registry.example.com/platform/devicelogin-operator, tag: "1.2.3", pullPolicy: Always}
      imagePullSecrets: [{name: regcred}]
      replicas: 2
      watchNamespaces: [team-a, team-b]
      logFormat: json
      httpPort: 9090
      reconcileThreads: 32
      leaderElection: {enabled: true}
      resources: {requests: {cpu: 100m, memory: 300Mi}, limits: {memory: 600Mi}}
      extraEnv: [{name: HTTPS_PROXY, value: "http://proxy.example.com:3128"}]
      nodeSelector: {kubernetes.io/os: linux}
      tolerations: [{key: dedicated, operator: Equal, value: platform, effect: NoSchedule}]
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              topologyKey: kubernetes.io/hostname
              labelSelector: {matchLabels: {app.kubernetes.io/name: devicelogin-operator}}
      podAnnotations: {example.com/team: platform}
      metrics:
        service: {enabled: true, port: 9090}
        serviceMonitor: {enabled: true, interval: 15s, labels: {release: prometheus}}
      admission:
        identityBinding:
          enabled: true
          usernamePrefix: "oidc:"
          privilegedUsers: ["system:serviceaccount:backstage:backstage"]
          privilegedGroups: ["platform-admins"]
      """;

  @Test
  void lintPasses() {
    LintResult result = new Helm(Chart.DIR).lint().strict().call();
    assertThat(result.isFailed()).as("helm lint --strict: %s", result.getMessages()).isFalse();
  }

  @Test
  void defaultsRenderTheOperatorWatchingAllNamespaces() {
    Chart chart = Chart.render(null);
    assertThat(chart.objects()).extracting(o -> o.getKind() + "/" + o.getMetadata().getName())
        .containsExactlyInAnyOrder(
            "ServiceAccount/devicelogin-operator", "ClusterRole/devicelogin-operator",
            "ClusterRoleBinding/devicelogin-operator", "Role/devicelogin-operator-self",
            "RoleBinding/devicelogin-operator-self", "Deployment/devicelogin-operator",
            "Service/devicelogin-operator-metrics", "Service/devicelogin-operator-callback",
            "CustomResourceDefinition/devicelogins.devicelogin.io",
            "CustomResourceDefinition/identityproviders.devicelogin.io",
            "CustomResourceDefinition/clusteridentityproviders.devicelogin.io",
            "ValidatingAdmissionPolicy/devicelogin-operator-identity-binding",
            "ValidatingAdmissionPolicyBinding/devicelogin-operator-identity-binding",
            "ValidatingAdmissionPolicy/devicelogin-operator-operator-secrets",
            "ValidatingAdmissionPolicyBinding/devicelogin-operator-operator-secrets");
    Deployment deployment = chart.one(Deployment.class);
    assertThat(deployment.getSpec().getReplicas()).isEqualTo(1);
    Container container = container(deployment);
    assertThat(container.getImage()).isEqualTo("devicelogin-operator:0.1.0");
    assertThat(env(container)).containsEntry("WATCH_NAMESPACES", "").containsEntry("HTTP_PORT", "8080")
        .containsEntry("LOG_FORMAT", "text").containsEntry("LEADER_ELECTION", "true")
        .containsEntry("RECONCILE_THREADS", "32").containsEntry("CALLBACK_PORT", "8081")
        .containsEntry("JAVA_TOOL_OPTIONS", "-XX:MaxRAMPercentage=75");
    assertThat(container.getEnv()).filteredOn(e -> e.getName().equals("OPERATOR_NAMESPACE")).singleElement()
        .satisfies(e -> assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("metadata.namespace"));
    assertThat(deployment.getSpec().getTemplate().getSpec().getServiceAccountName()).isEqualTo(SA);
    assertThat(chart.one(ServiceAccount.class).getMetadata().getNamespace()).isEqualTo(Chart.NAMESPACE);
  }

  /**
   * The CRDs are templates, so helm upgrade applies the new schema (Helm never upgrades a chart's crds/ directory);
   * kept on uninstall by default, since deleting a CRD deletes every object of its kind.
   */
  @Test
  void crdsAreRenderedAsTemplatesEqualToCrdsAndKeptOnUninstall() throws Exception {
    List<CustomResourceDefinition> rendered = Chart.render(null).all(CustomResourceDefinition.class);
    assertThat(rendered).hasSize(3);
    for (CustomResourceDefinition crd : rendered) {
      CustomResourceDefinition committed = Serialization.unmarshal(
          Files.readString(Path.of("crds", crd.getMetadata().getName() + "-v1.yml")), CustomResourceDefinition.class);
      assertThat(Serialization.asJson(crd.getSpec())).as(crd.getMetadata().getName())
          .isEqualTo(Serialization.asJson(committed.getSpec()));
      assertThat(crd.getMetadata().getAnnotations()).containsEntry("helm.sh/resource-policy", "keep");
      assertThat(crd.getMetadata().getLabels()).containsEntry("app.kubernetes.io/managed-by", "Helm");
    }
    assertThat(Chart.render("crds: {keep: false}").all(CustomResourceDefinition.class))
        .hasSize(3).allSatisfy(crd -> assertThat(crd.getMetadata().getAnnotations()).isNullOrEmpty());
    assertThat(Chart.render("crds: {enabled: false}").all(CustomResourceDefinition.class)).isEmpty();
    assertThat(Path.of("charts", "devicelogin-operator", "crds")).as("Helm's install-once directory").doesNotExist();
  }

  @Test
  void defaultRbacIsExactlyWhatTheOperatorCallsWithoutWildcards() {
    Chart chart = Chart.render(null);
    assertNoWildcards(chart);
    Rbac rbac = new Rbac(chart, Chart.NAMESPACE, SA);
    for (Need need : NEEDS) {
      String namespace = switch (need.scope()) {
        case WATCHED, CLUSTER -> null;
        case OPERATOR_NAMESPACE -> Chart.NAMESPACE;
      };
      assertThat(rbac.allows(need.verb(), need.group(), need.resource(), namespace, need.name()))
          .as("granted: %s", need).isTrue();
    }
    assertThat(granted(rbac)).as("nothing beyond what the operator calls").isEqualTo(needed());
    assertThat(rbac.allows("get", "coordination.k8s.io", "leases", Chart.NAMESPACE, "another-lease"))
        .as("only its own Lease").isFalse();
    assertThat(rbac.allows("get", "apiextensions.k8s.io", "customresourcedefinitions", null,
        "certificates.cert-manager.io")).as("only its own CRDs").isFalse();
    assertThat(rbac.allows("create", "coordination.k8s.io", "leases", "team-a", null))
        .as("Leases only in the operator's namespace").isFalse();
  }

  @Test
  void watchingSomeNamespacesUsesRolesThereAndAClusterRoleOnlyForClusterScopedKinds() {
    Chart chart = Chart.render(NON_DEFAULT_VALUES);
    assertNoWildcards(chart);
    Rbac rbac = new Rbac(chart, Chart.NAMESPACE, SA);
    for (Need need : NEEDS) {
      List<String> namespaces = switch (need.scope()) {
        case WATCHED -> List.of("team-a", "team-b");
        case CLUSTER -> java.util.Collections.singletonList(null);
        case OPERATOR_NAMESPACE -> List.of(Chart.NAMESPACE);
      };
      for (String namespace : namespaces) {
        assertThat(rbac.allows(need.verb(), need.group(), need.resource(), namespace, need.name()))
            .as("granted in %s: %s", namespace, need).isTrue();
      }
    }
    assertThat(granted(rbac)).isEqualTo(needed());
    ClusterRole clusterRole = chart.one(ClusterRole.class);
    assertThat(clusterRole.getRules()).flatExtracting(PolicyRule::getResources)
        .containsOnly("clusteridentityproviders", "clusteridentityproviders/status", "customresourcedefinitions",
            "namespaces");
    assertThat(chart.all(Role.class)).extracting(r -> r.getMetadata().getNamespace() + "/" + r.getMetadata().getName())
        .containsExactlyInAnyOrder("team-a/devicelogin-operator", "team-b/devicelogin-operator",
            "devicelogin-system/devicelogin-operator-self");
    for (String verb : List.of("get", "list", "watch", "create", "update", "delete")) {
      assertThat(rbac.allows(verb, "", "secrets", "team-c", null)).as("%s secrets in an unwatched namespace", verb)
          .isFalse();
    }
    assertThat(rbac.allows("list", "", "secrets", Chart.NAMESPACE, null))
        .as("only GET of client secrets in the operator's namespace").isFalse();
    assertThat(rbac.allows("list", "devicelogin.io", "devicelogins", "team-c", null)).isFalse();
  }

  @Test
  void podIsNonRootReadOnlyUnprivilegedWithAWritableTmp() {
    for (String values : new String[] {null, NON_DEFAULT_VALUES}) {
      Deployment deployment = Chart.render(values).one(Deployment.class);
      PodSpec pod = deployment.getSpec().getTemplate().getSpec();
      assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
      assertThat(pod.getSecurityContext().getRunAsUser()).isPositive();
      assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
      Container container = container(deployment);
      var security = container.getSecurityContext();
      assertThat(security.getRunAsNonRoot()).isTrue();
      assertThat(security.getReadOnlyRootFilesystem()).isTrue();
      assertThat(security.getAllowPrivilegeEscalation()).isFalse();
      assertThat(security.getPrivileged()).isNotEqualTo(Boolean.TRUE);
      assertThat(security.getCapabilities().getDrop()).containsExactly("ALL");
      assertThat(security.getCapabilities().getAdd()).isNullOrEmpty();
      assertThat(security.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
      assertThat(container.getVolumeMounts()).filteredOn(m -> m.getMountPath().equals("/tmp")).singleElement()
          .satisfies(m -> assertThat(pod.getVolumes()).filteredOn(v -> v.getName().equals(m.getName()))
              .singleElement().satisfies(v -> assertThat(v.getEmptyDir()).isNotNull()));
    }
  }

  @Test
  void probesPointAtPathsTheOperatorServesOnHttpPort() throws Exception {
    for (String values : new String[] {null, NON_DEFAULT_VALUES}) {
      Container container = container(Chart.render(values).one(Deployment.class));
      int port = Integer.parseInt(env(container).get("HTTP_PORT"));
      assertThat(container.getPorts()).filteredOn(p -> p.getName().equals("http")).singleElement().satisfies(p -> {
        assertThat(p.getContainerPort()).isEqualTo(port);
      });
      assertProbe(container.getLivenessProbe(), "/healthz");
      assertProbe(container.getReadinessProbe(), "/readyz");
    }
    // and the operator's HTTP server answers exactly those paths
    try (HealthServer server = HealthServer.start(
        0, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), () -> true, () -> true)) {
      HttpClient http = HttpClient.newHttpClient();
      for (String path : List.of("/healthz", "/readyz", "/metrics")) {
        HttpResponse<Void> response = http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(),
            HttpResponse.BodyHandlers.discarding());
        assertThat(response.statusCode()).as(path).isEqualTo(200);
      }
    }
  }

  @Test
  void nonDefaultValuesReachTheDeploymentServiceAndServiceMonitor() {
    Chart chart = Chart.render(NON_DEFAULT_VALUES);
    Deployment deployment = chart.one(Deployment.class);
    PodSpec pod = deployment.getSpec().getTemplate().getSpec();
    Container container = container(deployment);
    assertThat(deployment.getSpec().getReplicas()).isEqualTo(2);
    assertThat(container.getImage()).isEqualTo("registry.example.com/platform/devicelogin-operator:1.2.3");
    assertThat(container.getImagePullPolicy()).isEqualTo("Always");
    assertThat(pod.getImagePullSecrets()).extracting(s -> s.getName()).containsExactly("regcred");
    assertThat(env(container)).containsEntry("WATCH_NAMESPACES", "team-a,team-b").containsEntry("HTTP_PORT", "9090")
        .containsEntry("LOG_FORMAT", "json").containsEntry("LEADER_ELECTION", "true")
        .containsEntry("RECONCILE_THREADS", "32").containsEntry("HTTPS_PROXY", "http://proxy.example.com:3128");
    assertThat(container.getResources().getLimits().get("memory").toString()).isEqualTo("600Mi");
    assertThat(container.getResources().getRequests().get("cpu").toString()).isEqualTo("100m");
    assertThat(pod.getNodeSelector()).containsEntry("kubernetes.io/os", "linux");
    assertThat(pod.getTolerations()).singleElement().satisfies(t -> assertThat(t.getKey()).isEqualTo("dedicated"));
    assertThat(pod.getAffinity().getPodAntiAffinity()).isNotNull();
    assertThat(deployment.getSpec().getTemplate().getMetadata().getAnnotations())
        .containsEntry("example.com/team", "platform");

    Service service = chart.find(Service.class, Chart.NAMESPACE, "devicelogin-operator-metrics").orElseThrow();
    assertThat(service.getSpec().getPorts()).singleElement().satisfies(p -> {
      assertThat(p.getPort()).isEqualTo(9090);
      assertThat(p.getTargetPort().getStrVal()).isEqualTo("http");
    });
    assertThat(service.getSpec().getSelector())
        .isEqualTo(deployment.getSpec().getSelector().getMatchLabels());

    HasMetadata monitor = chart.kind("ServiceMonitor").get(0);
    assertThat(monitor).isInstanceOf(GenericKubernetesResource.class);
    Map<String, Object> spec = ((GenericKubernetesResource) monitor).get("spec");
    assertThat(monitor.getMetadata().getLabels()).containsEntry("release", "prometheus");
    assertThat(spec.toString()).contains("port=http-metrics", "path=/metrics", "interval=15s");
    assertThat(service.getSpec().getPorts().get(0).getName()).isEqualTo("http-metrics");
  }

  @Test
  void admissionPoliciesAreOnByDefaultEachBoundAndCanBeTurnedOff() {
    Chart chart = Chart.render(null);
    assertThat(chart.all(ValidatingAdmissionPolicy.class)).extracting(p -> p.getMetadata().getName())
        .containsExactlyInAnyOrder("devicelogin-operator-identity-binding", "devicelogin-operator-operator-secrets");
    for (ValidatingAdmissionPolicy policy : chart.all(ValidatingAdmissionPolicy.class)) {
      assertThat(chart.all(ValidatingAdmissionPolicyBinding.class))
          .filteredOn(b -> b.getSpec().getPolicyName().equals(policy.getMetadata().getName())).singleElement()
          .satisfies(b -> assertThat(b.getSpec().getValidationActions()).containsExactly("Deny"));
    }
    Chart off = Chart.render("""
        admission:
          identityBinding: {enabled: false}
          operatorSecrets: {enabled: false}
        """);
    assertThat(off.kind("ValidatingAdmissionPolicy")).isEmpty();
    assertThat(off.kind("ValidatingAdmissionPolicyBinding")).isEmpty();
    Chart warn = Chart.render("admission: {identityBinding: {validationActions: [Warn, Audit]}}\n");
    assertThat(warn.find(ValidatingAdmissionPolicyBinding.class, null, "devicelogin-operator-identity-binding")
        .orElseThrow().getSpec().getValidationActions()).containsExactly("Warn", "Audit");
  }

  @Test
  void networkPolicyIsOffByDefaultAndLetsOnlyTheListedPeersReachTheHttpPort() {
    assertThat(Chart.render(null).all(NetworkPolicy.class)).isEmpty();

    Chart chart = Chart.render("""
        httpPort: 9090
        networkPolicy:
          enabled: true
          metricsFrom:
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
            podSelector: {matchLabels: {app.kubernetes.io/name: prometheus}}
          extraIngress:
          - ports: [{port: 8443, protocol: TCP}]
        """);
    NetworkPolicy policy = chart.one(NetworkPolicy.class);
    Deployment deployment = chart.one(Deployment.class);
    assertThat(policy.getMetadata().getNamespace()).isEqualTo(Chart.NAMESPACE);
    assertThat(policy.getSpec().getPodSelector().getMatchLabels())
        .isEqualTo(deployment.getSpec().getSelector().getMatchLabels());
    assertThat(policy.getSpec().getPolicyTypes()).containsExactly("Ingress");
    assertThat(policy.getSpec().getIngress()).hasSize(2);
    NetworkPolicyIngressRule metrics = policy.getSpec().getIngress().get(0);
    assertThat(metrics.getFrom()).singleElement().satisfies(peer -> {
      assertThat(peer.getNamespaceSelector().getMatchLabels())
          .containsExactly(Map.entry("kubernetes.io/metadata.name", "monitoring"));
      assertThat(peer.getPodSelector().getMatchLabels())
          .containsExactly(Map.entry("app.kubernetes.io/name", "prometheus"));
    });
    // the named port follows httpPort
    assertThat(metrics.getPorts()).singleElement().satisfies(port -> {
      assertThat(port.getPort().getStrVal()).isEqualTo("http");
      assertThat(port.getProtocol()).isEqualTo("TCP");
    });
    assertThat(container(deployment).getPorts()).extracting(p -> p.getName()).containsExactly("http", "callback");
    assertThat(policy.getSpec().getIngress().get(1).getPorts()).singleElement()
        .satisfies(port -> assertThat(port.getPort().getIntVal()).isEqualTo(8443));

    // no peers: no Pod may connect at all (an empty list, not a missing one, which would be the same but unclear)
    NetworkPolicy closed = Chart.render("networkPolicy: {enabled: true}\n").one(NetworkPolicy.class);
    assertThat(closed.getSpec().getIngress()).isEmpty();
    assertThat(Chart.renderYaml("networkPolicy: {enabled: true}\n")).contains("ingress: []");
  }

  @Test
  void theCallbackEndpointHasAPortAndAServiceAndAnIngressOnlyWhenAskedFor() {
    Chart defaults = Chart.render(null);
    Container container = container(defaults.one(Deployment.class));
    assertThat(container.getPorts()).filteredOn(p -> p.getName().equals("callback")).singleElement()
        .satisfies(p -> assertThat(p.getContainerPort()).isEqualTo(8081));
    Service service = defaults.find(Service.class, Chart.NAMESPACE, "devicelogin-operator-callback").orElseThrow();
    assertThat(service.getSpec().getType()).isEqualTo("ClusterIP");
    assertThat(service.getSpec().getPorts()).singleElement().satisfies(p -> {
      assertThat(p.getPort()).isEqualTo(8081);
      assertThat(p.getTargetPort().getStrVal()).isEqualTo("callback");
    });
    assertThat(defaults.all(Ingress.class)).as("no Ingress by default").isEmpty();

    Chart exposed = Chart.render("""
        callback:
          port: 9091
          ingress:
            enabled: true
            className: nginx
            host: login.example.com
            annotations: {cert-manager.io/cluster-issuer: letsencrypt}
            tls: [{secretName: callback-tls, hosts: [login.example.com]}]
        networkPolicy:
          enabled: true
          callbackFrom: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}}]
        """);
    assertThat(env(container(exposed.one(Deployment.class)))).containsEntry("CALLBACK_PORT", "9091");
    Ingress ingress = exposed.one(Ingress.class);
    assertThat(ingress.getMetadata().getName()).isEqualTo("devicelogin-operator-callback");
    assertThat(ingress.getMetadata().getNamespace()).isEqualTo(Chart.NAMESPACE);
    assertThat(ingress.getMetadata().getAnnotations()).containsEntry("cert-manager.io/cluster-issuer", "letsencrypt");
    assertThat(ingress.getSpec().getIngressClassName()).isEqualTo("nginx");
    assertThat(ingress.getSpec().getTls()).singleElement().satisfies(tls -> {
      assertThat(tls.getSecretName()).isEqualTo("callback-tls");
      assertThat(tls.getHosts()).containsExactly("login.example.com");
    });
    // only /callback: nothing else of the operator (not /metrics) is reachable through it
    assertThat(ingress.getSpec().getRules()).singleElement().satisfies(rule -> {
      assertThat(rule.getHost()).isEqualTo("login.example.com");
      assertThat(rule.getHttp().getPaths()).singleElement().satisfies(path -> {
        assertThat(path.getPath()).isEqualTo(io.devicelogin.operator.callback.CallbackServer.PATH);
        assertThat(path.getPathType()).isEqualTo("Exact");
        assertThat(path.getBackend().getService().getName()).isEqualTo("devicelogin-operator-callback");
        assertThat(path.getBackend().getService().getPort().getName()).isEqualTo("http-callback");
      });
    });
    assertThat(exposed.one(NetworkPolicy.class).getSpec().getIngress()).singleElement().satisfies(rule -> {
      assertThat(rule.getPorts()).singleElement().satisfies(p -> assertThat(p.getPort().getStrVal())
          .isEqualTo("callback"));
      assertThat(rule.getFrom()).singleElement().satisfies(peer -> assertThat(
          peer.getNamespaceSelector().getMatchLabels()).containsEntry("kubernetes.io/metadata.name", "ingress-nginx"));
    });

    Chart off = Chart.render(
        "callback: {enabled: false}\nnetworkPolicy: {enabled: true, callbackFrom: [{podSelector: {}}]}\n");
    Container without = container(off.one(Deployment.class));
    assertThat(env(without)).containsEntry("CALLBACK_PORT", "off");
    assertThat(without.getPorts()).extracting(p -> p.getName()).containsExactly("http");
    assertThat(off.find(Service.class, Chart.NAMESPACE, "devicelogin-operator-callback")).isEmpty();
    assertThat(off.one(NetworkPolicy.class).getSpec().getIngress()).as("no rule for a port not served").isEmpty();
    assertThatThrownBy(() -> Chart.render("callback: {enabled: false, ingress: {enabled: true}}\n"))
        .hasMessageContaining("callback.ingress.enabled needs callback.enabled");
    assertThatThrownBy(() -> Chart.render("callback: {port: 0}\n")).hasMessageContaining("callback");
    assertThatThrownBy(() -> Chart.render("callback: {ingress: {hosts: [a]}}\n")).as("a misspelt key")
        .hasMessageContaining("hosts");
  }

  @Test
  void schemaRefusesBadValues() {
    assertThatThrownBy(() -> Chart.render("replicas: 2\nleaderElection: {enabled: false}\n"))
        .hasMessageContaining("leaderElection");
    assertThatThrownBy(() -> Chart.render("logFormat: xml\n")).hasMessageContaining("logFormat");
    assertThatThrownBy(() -> Chart.render("watchNamespaces: [Team_A]\n")).hasMessageContaining("watchNamespaces");
    assertThatThrownBy(() -> Chart.render("replica: 2\n")).as("a misspelt key").hasMessageContaining("replica");
    assertThatThrownBy(() -> Chart.render("reconcileThreads: 0\n")).hasMessageContaining("reconcileThreads");
    assertThatThrownBy(() -> Chart.render("reconcileThreads: 1000\n")).hasMessageContaining("reconcileThreads");
    assertThatThrownBy(() -> Chart.render("admission: {operatorSecrets: {validationActions: [Allow]}}\n"))
        .hasMessageContaining("validationActions");
    assertThatThrownBy(() -> Chart.render("admission: {operatorSecret: {enabled: false}}\n"))
        .as("a misspelt key").hasMessageContaining("operatorSecret");
    assertThatThrownBy(() -> Chart.render("networkPolicy: {enabled: true, metricsFrom: [{podSelecter: {}}]}\n"))
        .as("a misspelt peer field").hasMessageContaining("networkPolicy");
    assertThatThrownBy(() -> Chart.render("networkPolicy: {enabled: true, metricsFrom: [{}]}\n"))
        .as("an empty peer would let everyone in").hasMessageContaining("networkPolicy");
  }

  private static void assertProbe(Probe probe, String path) {
    assertThat(probe).as("probe on %s", path).isNotNull();
    assertThat(probe.getHttpGet().getPath()).isEqualTo(path);
    assertThat(probe.getHttpGet().getPort().getStrVal()).isEqualTo("http");
  }

  static void assertNoWildcards(Chart chart) {
    List<PolicyRule> rules = new ArrayList<>();
    chart.all(ClusterRole.class).forEach(r -> rules.addAll(r.getRules()));
    chart.all(Role.class).forEach(r -> rules.addAll(r.getRules()));
    assertThat(rules).isNotEmpty();
    for (PolicyRule rule : rules) {
      List<String> all = new ArrayList<>();
      all.addAll(rule.getApiGroups());
      all.addAll(rule.getResources());
      all.addAll(rule.getVerbs());
      if (rule.getResourceNames() != null) {
        all.addAll(rule.getResourceNames());
      }
      assertThat(all).as("rule %s", rule).noneMatch(s -> s.contains("*"));
      assertThat(rule.getNonResourceURLs()).isNullOrEmpty();
    }
  }

  private static Set<String> granted(Rbac rbac) {
    Set<String> granted = new LinkedHashSet<>();
    for (Rbac.Grant grant : rbac.grants()) {
      for (String group : grant.rule().getApiGroups()) {
        for (String resource : grant.rule().getResources()) {
          for (String verb : grant.rule().getVerbs()) {
            granted.add(group + "/" + resource + ":" + verb);
          }
        }
      }
    }
    return granted;
  }

  private static Set<String> needed() {
    return NEEDS.stream().map(n -> n.group() + "/" + n.resource() + ":" + n.verb()).collect(Collectors.toSet());
  }

  static Container container(Deployment deployment) {
    return deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
  }

  static Map<String, String> env(Container container) {
    return container.getEnv().stream().filter(e -> e.getValue() != null)
        .collect(Collectors.toMap(EnvVar::getName, EnvVar::getValue));
  }
}
