package io.devicelogin.operator.secret;

import io.fabric8.kubernetes.api.model.Secret;
import java.util.List;
import java.util.Optional;

/**
 * Where the operator reads its own Secrets (grant and token Secrets, label {@code app.kubernetes.io/managed-by}) and
 * tells what it wrote, so its next read sees it: {@link SecretInformer} in the operator.
 */
public interface OwnSecrets {

  /** The operator-labelled Secret {@code name} in {@code namespace} as last written or seen, if any. */
  Optional<Secret> get(String namespace, String name);

  /** The operator-labelled Secrets in {@code namespace} naming grant {@code grantId}. */
  List<Secret> byGrant(String namespace, String grantId);

  /** Notes a Secret this process created, as the API server returned it. */
  void created(Secret stored);

  /** Notes a Secret this process updated over {@code previous}, as the API server returned it. */
  void updated(Secret stored, Secret previous);
}
