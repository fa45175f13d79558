package io.devicelogin.operator.secret;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.flow.CodeGrant;
import io.devicelogin.operator.flow.StartedGrant;
import io.devicelogin.operator.idp.UnverifiedTokens;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.SecretList;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import java.net.HttpURLConnection;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Persists each started grant in an operator-owned Secret (owned by its DeviceLogin) before what the person needs is
 * published (a device grant's user code, an authorization code grant's URL with its PKCE verifier, state and nonce;
 * {@link GrantData} has the keys), so a restarted operator continues the same grant instead of starting a second one.
 * The Secret keeps the type {@value #TYPE} for both grants (one type for RBAC, admission and the informer). Reads
 * come from the operator's Secret informer ({@link OwnSecrets}), which sees this process's writes at once, so polling
 * costs no API reads.
 *
 * <p>Only a Secret of type {@value #TYPE} within what the operator writes ({@link SecretBounds#fits}) and controlled by
 * this very DeviceLogin (uid) is read as its grant, written over or deleted, and every write and delete is conditional
 * on the resourceVersion that check saw: a Secret someone else put at the grant Secret's name is never overwritten,
 * deleted or read.
 */
public final class GrantStore {

  public static final String TYPE = Constants.GROUP + "/device-grant";
  public static final String COMPONENT_LABEL = Constants.GROUP + "/component";
  public static final String COMPONENT = "device-grant";
  private static final String PREFIX = "devicelogin-grant-";

  private static final Logger LOG = LoggerFactory.getLogger(GrantStore.class);

  private final KubernetesClient client;
  private final OwnSecrets secrets;

  public GrantStore(KubernetesClient client, OwnSecrets secrets) {
    this.client = client;
    this.secrets = secrets;
  }

  /**
   * {@code devicelogin-grant-<name>}: a DeviceLogin name is already a valid Secret name, so it is kept as it is (two
   * DeviceLogins never share a grant Secret); only a name too long for the prefix is shortened with a hash.
   */
  public static String secretName(DeviceLogin login) {
    return secretName(login.getMetadata().getName());
  }

  /** {@link #secretName(DeviceLogin)} of the DeviceLogin named {@code loginName}. */
  static String secretName(String loginName) {
    return PREFIX.length() + loginName.length() <= Names.MAX_NAME
        ? PREFIX + loginName : Names.prefixed(PREFIX, loginName);
  }

  /**
   * Annotation the callback endpoint sets on a grant Secret with the time it stored the IdP's response there (its
   * change wakes the login, on whichever replica leads).
   */
  public static final String RESPONSE_ANNOTATION = Constants.GROUP + "/authorization-response";

  /**
   * Annotation the callback endpoint sets on a waiting login's grant Secret when it refused a response naming it: why,
   * for the login's condition.
   */
  public static final String REFUSED_ANNOTATION = Constants.GROUP + "/response-refused";

  /** Why a response for this DeviceLogin's grant was last refused (by the callback endpoint or a paste), if one was. */
  public Optional<String> refusal(DeviceLogin login) {
    return own(login).map(secret -> TokenSecrets.annotation(secret, REFUSED_ANNOTATION));
  }

  /**
   * Notes on this DeviceLogin's grant Secret why a pasted response was refused, as the callback endpoint does, so its
   * condition keeps saying so on later reconciles. Best effort: a grant Secret that changed or went since the informer
   * saw it is left as it is.
   */
  public void noteRefusal(DeviceLogin login, String why) {
    Optional<Secret> seen = own(login);
    if (seen.isEmpty()) {
      return;
    }
    Secret noted = new SecretBuilder(seen.get()).editMetadata().addToAnnotations(REFUSED_ANNOTATION, why)
        .endMetadata().build();
    try {
      secrets.updated(update(noted, seen.get().getMetadata().getResourceVersion()), seen.get());
    } catch (KubernetesClientException e) {
      if (e.getCode() != HttpURLConnection.HTTP_CONFLICT && e.getCode() != HttpURLConnection.HTTP_NOT_FOUND) {
        throw e;
      }
      LOG.debug("DeviceLogin {}/{}: could not note a refused response: HTTP {}", login.getMetadata().getNamespace(),
          login.getMetadata().getName(), e.getCode());
    }
  }

  /**
   * Whether {@code secret} is the grant Secret of the DeviceLogin named {@code loginName} as far as the Secret itself
   * can tell (the callback endpoint has no DeviceLogin to compare uids with): the grant type, within what the operator
   * writes, naming that DeviceLogin and controlled by a DeviceLogin of that name.
   */
  static boolean grantSecretOf(Secret secret, String loginName) {
    return TYPE.equals(secret.getType()) && SecretBounds.fits(secret)
        && loginName.equals(TokenSecrets.annotation(secret, Constants.DEVICELOGIN_ANNOTATION))
        && secret.getMetadata().getOwnerReferences() != null
        && secret.getMetadata().getOwnerReferences().stream().anyMatch(ref -> Boolean.TRUE.equals(ref.getController())
            && "DeviceLogin".equals(ref.getKind()) && loginName.equals(ref.getName()));
  }

  /** The grant stored for this DeviceLogin (this very object, by uid), if any; another Secret of that name is not. */
  public Optional<StartedGrant> find(DeviceLogin login) {
    return own(login).flatMap(secret -> GrantData.grant(secret.getData()));
  }

  /**
   * Why a grant of this DeviceLogin can't be stored: a Secret that is not its grant Secret (another type, or not
   * controlled by this DeviceLogin) holds the name; empty when the name is free or holds its own grant Secret. Asks the
   * API server (one GET): a Secret without the operator's label is not in the informer.
   */
  public Optional<String> foreignSecret(DeviceLogin login) {
    Secret secret = get(login);
    return secret == null || ownedBy(secret, login) ? Optional.empty() : Optional.of(foreign(secret));
  }

  /**
   * Stores the grant: creates its Secret, or updates this DeviceLogin's own one as last seen; returns only once the API
   * server has it. Throws if a Secret of that name is not this DeviceLogin's grant Secret (it is left as it is).
   */
  public void save(DeviceLogin login, StartedGrant grant) {
    save(login, grant, null);
  }

  /**
   * {@link #save}, with tokens the IdP issued for this grant whose ID token could not be checked yet (null: none): kept
   * beside the used-up device code, so a restart checks them again instead of losing the login.
   */
  public void save(DeviceLogin login, StartedGrant grant, UnverifiedTokens unverified) {
    Secret desired = toSecret(login, grant, unverified);
    Optional<Secret> seen = own(login);
    try {
      store(login, desired, seen.orElse(null));
    } catch (KubernetesClientException e) {
      if (e.getCode() != HttpURLConnection.HTTP_CONFLICT && e.getCode() != HttpURLConnection.HTTP_NOT_FOUND) {
        throw e;
      }
      // created or changed since the informer saw it (or gone): look again, write over it only if it is ours
      Secret current = get(login);
      if (current != null && !ownedBy(current, login)) {
        throw new IllegalStateException(foreign(current) + "; it was not written over");
      }
      if (current != null && seen.isPresent() && grant instanceof CodeGrant) {
        // the callback endpoint may have stored a response there: the retry decides on what is there now
        throw e;
      }
      store(login, desired, current);
    }
  }

  private void store(DeviceLogin login, Secret desired, Secret previous) {
    if (previous == null) {
      secrets.created(secrets(login).resource(desired).create());
    } else {
      secrets.updated(update(desired, previous.getMetadata().getResourceVersion()), previous);
    }
  }

  /**
   * Deletes the grant's Secret if it is this DeviceLogin's (idempotent); another Secret of that name is left. The
   * delete is conditional on the resourceVersion the informer has (no read needed); if it changed since, it is read and
   * checked again.
   */
  public void delete(DeviceLogin login) {
    Optional<Secret> seen = own(login);
    if (seen.isEmpty()) {
      return;
    }
    try {
      deleteAt(login, seen.get().getMetadata().getResourceVersion());
      return;
    } catch (KubernetesClientException e) {
      if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
        throw e;
      }
    }
    Secret current = get(login);
    if (current == null) {
      return;
    }
    if (!ownedBy(current, login)) {
      LOG.warn("DeviceLogin {}/{}: {}; left as it is", login.getMetadata().getNamespace(),
          login.getMetadata().getName(), foreign(current));
      return;
    }
    deleteAt(login, current.getMetadata().getResourceVersion());
  }

  /** The tokens stored with this DeviceLogin's grant that wait for a check of their ID token, if any. */
  public Optional<UnverifiedTokens> unverified(DeviceLogin login) {
    return own(login).flatMap(secret -> GrantData.unverified(secret.getData()));
  }

  /** This DeviceLogin's grant Secret as the informer has it, if any. */
  private Optional<Secret> own(DeviceLogin login) {
    return secrets.get(login.getMetadata().getNamespace(), secretName(login)).filter(s -> ownedBy(s, login));
  }

  private void deleteAt(DeviceLogin login, String resourceVersion) {
    secrets(login).withName(secretName(login)).lockResourceVersion(resourceVersion).delete();
  }

  private Secret get(DeviceLogin login) {
    return secrets(login).withName(secretName(login)).get();
  }

  private Secret update(Secret desired, String resourceVersion) {
    return client.secrets().inNamespace(desired.getMetadata().getNamespace()).resource(
        new SecretBuilder(desired).editMetadata().withResourceVersion(resourceVersion).endMetadata().build()).update();
  }

  private NonNamespaceOperation<Secret, SecretList, Resource<Secret>> secrets(DeviceLogin login) {
    return client.secrets().inNamespace(login.getMetadata().getNamespace());
  }

  private static Secret toSecret(DeviceLogin login, StartedGrant grant, UnverifiedTokens unverified) {
    return new SecretBuilder()
        .withNewMetadata()
        .withName(secretName(login))
        .withNamespace(login.getMetadata().getNamespace())
        .addToLabels(Constants.MANAGED_BY_LABEL, Constants.MANAGED_BY)
        .addToLabels(COMPONENT_LABEL, COMPONENT)
        .addToAnnotations(Constants.DEVICELOGIN_ANNOTATION, login.getMetadata().getName())
        .withOwnerReferences(OwnerReferences.controller(login))
        .endMetadata()
        .withType(TYPE)
        .withData(GrantData.of(grant, unverified))
        .build();
  }

  /**
   * A grant Secret of this very DeviceLogin: the grant type, within what the operator writes ({@link SecretBounds}),
   * and controlled by its uid.
   */
  private static boolean ownedBy(Secret secret, DeviceLogin login) {
    return TYPE.equals(secret.getType()) && SecretBounds.fits(secret) && OwnerReferences.controlledBy(secret, login);
  }

  private static String foreign(Secret secret) {
    String why = !TYPE.equals(secret.getType()) ? "type " + secret.getType()
        : !SecretBounds.fits(secret) ? "its data is missing or larger than the operator writes"
        : "it belongs to another object";
    return "Secret " + secret.getMetadata().getName() + " already exists and is not this DeviceLogin's grant Secret ("
        + why + ")";
  }

  static String encode(String value) {
    return Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8));
  }

  static String decode(String value) {
    return value == null ? null : new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
  }
}
