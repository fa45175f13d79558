package io.devicelogin.operator.testing;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.secret.OwnSecrets;
import io.devicelogin.operator.secret.TokenSecrets;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.List;
import java.util.Optional;

/**
 * {@link OwnSecrets} read straight from the API server: an informer that is always up to date, for tests that use the
 * Secret stores without a running operator.
 */
public final class ApiSecrets implements OwnSecrets {

  private final KubernetesClient client;

  public ApiSecrets(KubernetesClient client) {
    this.client = client;
  }

  @Override
  public Optional<Secret> get(String namespace, String name) {
    return Optional.ofNullable(client.secrets().inNamespace(namespace).withName(name).get())
        .filter(ApiSecrets::labelled);
  }

  @Override
  public List<Secret> byGrant(String namespace, String grantId) {
    return client.secrets().inNamespace(namespace).withLabel(Constants.MANAGED_BY_LABEL, Constants.MANAGED_BY).list()
        .getItems().stream().filter(s -> grantId.equals(TokenSecrets.grantId(s))).toList();
  }

  @Override
  public void created(Secret stored) {}

  @Override
  public void updated(Secret stored, Secret previous) {}

  private static boolean labelled(Secret secret) {
    return secret.getMetadata().getLabels() != null
        && Constants.MANAGED_BY.equals(secret.getMetadata().getLabels().get(Constants.MANAGED_BY_LABEL));
  }
}
