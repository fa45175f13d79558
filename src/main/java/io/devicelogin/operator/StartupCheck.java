package io.devicelogin.operator;

import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProvider;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.List;
import java.util.Set;

/** Fails fast, with a clear message, when the cluster can't be reached or the CRDs are not installed. */
public final class StartupCheck {

  /** Why the operator cannot start; the message says what to do. */
  public static final class StartupException extends Exception {
    StartupException(String message) {
      super(message);
    }
  }

  private StartupCheck() {}

  static void verify(KubernetesClient operatorClient, Set<String> watchNamespaces) throws StartupException {
    // A client that gives up after two retries: an unreachable cluster should be reported in seconds, not minutes.
    try (KubernetesClient client = new KubernetesClientBuilder()
        .withConfig(new ConfigBuilder(operatorClient.getConfiguration()).withRequestRetryBackoffLimit(2).build())
        .build()) {
      verifyWith(client, watchNamespaces);
    }
  }

  private static void verifyWith(KubernetesClient client, Set<String> watchNamespaces) throws StartupException {
    String namespace = watchNamespaces.isEmpty() ? null : watchNamespaces.iterator().next();
    for (Class<? extends HasMetadata> type :
        List.of(DeviceLogin.class, IdentityProvider.class, ClusterIdentityProvider.class)) {
      boolean namespaced = type != ClusterIdentityProvider.class;
      try {
        var options = new ListOptionsBuilder().withLimit(1L).build();
        if (namespaced && namespace != null) {
          client.resources(type).inNamespace(namespace).list(options);
        } else {
          client.resources(type).inAnyNamespace().list(options);
        }
      } catch (KubernetesClientException e) {
        String crd = HasMetadata.getPlural(type) + "." + HasMetadata.getGroup(type);
        if (e.getCode() == 404) {
          throw new StartupException("The CustomResourceDefinition " + crd + " is not installed in the cluster at "
              + client.getMasterUrl() + "; install the CRDs first: kubectl apply -f crds/");
        }
        if (e.getCode() == 401 || e.getCode() == 403) {
          throw new StartupException("The operator's identity may not list " + crd + " at " + client.getMasterUrl()
              + " (HTTP " + e.getCode() + "); grant it the RBAC rules from the Helm chart or operator/ manifests");
        }
        throw unreachable(client, e);
      }
    }
    verifyNamespacesReadable(client);
  }

  /** The Namespace informer (labels for a ClusterIdentityProvider's namespaceSelector) lists Namespaces. */
  private static void verifyNamespacesReadable(KubernetesClient client) throws StartupException {
    try {
      client.namespaces().list(new ListOptionsBuilder().withLimit(1L).build());
    } catch (KubernetesClientException e) {
      if (e.getCode() == 401 || e.getCode() == 403) {
        throw new StartupException("The operator's identity may not list namespaces at " + client.getMasterUrl()
            + " (HTTP " + e.getCode() + "); it reads their labels for ClusterIdentityProviders' namespaceSelector. "
            + "Grant it the RBAC rules from the Helm chart or operator/ manifests");
      }
      throw unreachable(client, e);
    }
  }

  private static StartupException unreachable(KubernetesClient client, KubernetesClientException e) {
    return new StartupException("Cannot reach the Kubernetes API at " + client.getMasterUrl() + ": "
        + rootMessage(e) + ". Check KUBECONFIG (or the in-cluster service account) and that the cluster is up.");
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getClass().getSimpleName() + (root.getMessage() == null ? "" : ": " + root.getMessage());
  }

}
