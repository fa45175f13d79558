package io.devicelogin.operator.secret;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginSpec;
import io.devicelogin.operator.api.v1alpha1.Identity;
import io.devicelogin.operator.flow.ProviderChange;
import io.devicelogin.operator.idp.IssuedTokens;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.status.Rfc3339;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.Resource;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The per-user Secret of the API contract: type {@code devicelogin.io/oidc-tokens}, keys as kubectl's oidc
 * auth-provider names them, written with updates (no server-side apply).
 */
public final class TokenSecrets {

  /** Annotation naming the grant whose tokens the Secret holds, so a restart can tell that a login finished. */
  public static final String GRANT_ANNOTATION = Constants.GROUP + "/grant-id";

  /**
   * Annotation set (to the attempt's time, RFC 3339) just before the Secret's refresh token is sent to the IdP, and
   * removed by the update that stores the refreshed tokens: a process that finds it without having set it knows that a
   * refresh was interrupted, so the refresh token may already be rotated at the IdP and must not be presented again.
   */
  public static final String REFRESH_STARTED_ANNOTATION = Constants.GROUP + "/refresh-started";

  /**
   * Annotation holding the uid of the DeviceLogin that writes the Secret: a DeviceLogin deleted and re-created with the
   * same name is another object and not its writer. (The name annotation is kept for people.)
   */
  public static final String WRITER_UID_ANNOTATION = Constants.GROUP + "/devicelogin-uid";

  public static final String ID_TOKEN = "id-token";
  public static final String REFRESH_TOKEN = "refresh-token";
  public static final String ACCESS_TOKEN = "access-token";
  public static final String EXPIRY = "expiry";
  public static final String ISSUER_URL = "idp-issuer-url";
  public static final String CLIENT_ID = "client-id";
  public static final String CA_DATA = "idp-certificate-authority-data";

  /**
   * Annotation naming the operator instance that set {@link #REFRESH_STARTED_ANNOTATION}: a mark found with another
   * instance's name (or none) is an interrupted refresh; one with this instance's name is its own refresh in flight.
   */
  public static final String REFRESH_STARTED_BY_ANNOTATION = Constants.GROUP + "/refresh-started-by";

  private final KubernetesClient client;
  private final OwnSecrets secrets;

  public TokenSecrets(KubernetesClient client, OwnSecrets secrets) {
    this.client = client;
    this.secrets = secrets;
  }

  /** spec.secretName, or "oidc-" + the username made a valid DNS-1123 name. */
  public static String secretName(DeviceLogin login, String username) {
    String explicit = login.getSpec().getSecretName();
    return explicit != null ? explicit : Names.prefixed("oidc-", username);
  }

  /** The Secret exactly as the contract describes it. */
  public static Secret build(
      DeviceLogin login, String secretName, ProviderConfig provider, Identity identity, IssuedTokens tokens,
      String grantId) {
    Map<String, String> data = new LinkedHashMap<>();
    data.put(ID_TOKEN, GrantStore.encode(tokens.idToken()));
    if (tokens.refreshToken() != null) {
      data.put(REFRESH_TOKEN, GrantStore.encode(tokens.refreshToken()));
    }
    data.put(ACCESS_TOKEN, GrantStore.encode(tokens.accessToken()));
    data.put(EXPIRY, GrantStore.encode(Rfc3339.format(tokens.idTokenExpiry())));
    data.put(ISSUER_URL, GrantStore.encode(provider.issuer().toString()));
    data.put(CLIENT_ID, GrantStore.encode(provider.clientId()));
    if (provider.caBundle() != null) {
      data.put(CA_DATA, GrantStore.encode(Base64.getEncoder().encodeToString(
          provider.caBundle().getBytes(StandardCharsets.UTF_8))));
    }
    SecretBuilder builder = new SecretBuilder()
        .withNewMetadata()
        .withName(secretName)
        .withNamespace(login.getMetadata().getNamespace())
        .addToLabels(Constants.MANAGED_BY_LABEL, Constants.MANAGED_BY)
        .addToLabels(Constants.USERNAME_LABEL, Names.dnsSafe(identity.getUsername(), Names.MAX_LABEL_VALUE))
        .addToAnnotations(Constants.USERNAME_ANNOTATION, identity.getUsername())
        .addToAnnotations(Constants.SUBJECT_ANNOTATION, identity.getSubject())
        .addToAnnotations(Constants.DEVICELOGIN_ANNOTATION, login.getMetadata().getName())
        .addToAnnotations(WRITER_UID_ANNOTATION, login.getMetadata().getUid())
        .addToAnnotations(GRANT_ANNOTATION, grantId)
        .endMetadata()
        .withType(Constants.TOKEN_SECRET_TYPE)
        .withData(data);
    if (login.getSpec().effectiveDeletionPolicy() == DeviceLoginSpec.DeletionPolicy.Delete) {
      builder.editMetadata().withOwnerReferences(OwnerReferences.controller(login)).endMetadata();
    }
    return builder.build();
  }

  /**
   * Writes {@code secret} over {@code existing} as it was read (refused with 409 if it changed since, so what was
   * checked is what is written over), or creates it when {@code existing} is null (refused if one was created since).
   */
  public void write(Secret secret, Secret existing) {
    Resource<Secret> resource = client.secrets().inNamespace(secret.getMetadata().getNamespace()).resource(
        new SecretBuilder(secret).editMetadata()
            .withResourceVersion(existing == null ? null : existing.getMetadata().getResourceVersion())
            .endMetadata().build());
    if (existing == null) {
      secrets.created(resource.create());
    } else {
      secrets.updated(resource.update(), existing);
    }
  }

  /**
   * A copy of {@code current} holding the tokens of a refresh: a new ID token (and its expiry) only when the IdP sent
   * one, a new refresh token only when it rotated it; the refresh is no longer in flight. Keeps {@code current}'s
   * resourceVersion, so the update is refused if someone else changed the Secret in between.
   */
  public static Secret withRefreshedTokens(Secret current, IssuedTokens tokens) {
    Map<String, String> data = new LinkedHashMap<>(current.getData());
    data.put(ACCESS_TOKEN, GrantStore.encode(tokens.accessToken()));
    if (tokens.idToken() != null) {
      data.put(ID_TOKEN, GrantStore.encode(tokens.idToken()));
      data.put(EXPIRY, GrantStore.encode(Rfc3339.format(tokens.idTokenExpiry())));
    }
    if (tokens.refreshToken() != null) {
      data.put(REFRESH_TOKEN, GrantStore.encode(tokens.refreshToken()));
    }
    return withTokenData(current, data);
  }

  /**
   * A copy of {@code latest} (as last read, resourceVersion included) with {@code data}, without the refresh marker
   * and with the operator's label (put back if someone removed it, so the operator's informer sees the Secret again):
   * what the update storing refreshed tokens writes.
   */
  public static Secret withTokenData(Secret latest, Map<String, String> data) {
    return withoutRefreshStarted(new SecretBuilder(latest).withData(data).editMetadata()
        .addToLabels(Constants.MANAGED_BY_LABEL, Constants.MANAGED_BY).endMetadata().build());
  }

  /**
   * A copy of {@code current} marking a refresh as started at {@code startedAt} by operator instance {@code instance};
   * keeps its resourceVersion.
   */
  public static Secret withRefreshStarted(Secret current, String startedAt, String instance) {
    return new SecretBuilder(current).editMetadata().addToAnnotations(REFRESH_STARTED_ANNOTATION, startedAt)
        .addToAnnotations(REFRESH_STARTED_BY_ANNOTATION, instance).endMetadata().build();
  }

  /** A copy of {@code current} without the refresh marker; keeps its resourceVersion. */
  public static Secret withoutRefreshStarted(Secret current) {
    return new SecretBuilder(current).editMetadata().removeFromAnnotations(REFRESH_STARTED_ANNOTATION)
        .removeFromAnnotations(REFRESH_STARTED_BY_ANNOTATION).endMetadata().build();
  }

  /** Whether the refresh mark on this Secret was set by operator instance {@code instance} (this process). */
  public static boolean refreshStartedBy(Secret secret, String instance) {
    return instance.equals(annotation(secret, REFRESH_STARTED_BY_ANNOTATION));
  }

  /** When the refresh in flight with this Secret's refresh token started, or null when none is. */
  public static String refreshStarted(Secret secret) {
    return annotation(secret, REFRESH_STARTED_ANNOTATION);
  }

  /** The operator-labelled Secret {@code name} in {@code namespace} as last written or seen (informer), or null. */
  public Secret get(String namespace, String name) {
    return secrets.get(namespace, name).orElse(null);
  }

  /**
   * The Secret {@code name} in {@code namespace} as the API server has it now, labelled or not, or null: one GET, for
   * when a write was refused because the informer did not show what is there.
   */
  public Secret fetch(String namespace, String name) {
    return client.secrets().inNamespace(namespace).withName(name).get();
  }

  /**
   * Replaces {@code previous} (as read) with {@code secret}, refusing (409) if it changed since; returns it as stored.
   */
  public Secret update(Secret secret, Secret previous) {
    Secret stored = client.secrets().inNamespace(secret.getMetadata().getNamespace()).resource(secret).update();
    secrets.updated(stored, previous);
    return stored;
  }

  /**
   * Deletes the Secret {@code name} if {@code login} writes it, unless it changed between that check and the delete
   * (then the delete is refused with 409 and the caller retries); returns whether there was such a Secret.
   */
  public boolean deleteIfWrittenBy(DeviceLogin login, String name) {
    Secret current = get(login.getMetadata().getNamespace(), name);
    if (current == null || !writtenBy(current, login)) {
      return false;
    }
    client.secrets().inNamespace(current.getMetadata().getNamespace()).withName(name)
        .lockResourceVersion(current.getMetadata().getResourceVersion()).delete();
    return true;
  }

  /**
   * Why {@code candidate} must not be written over {@code existing}, or null when it may: only a token Secret holding
   * tokens of the same issuer, client id and subject (and within what the operator writes) is written over. The
   * reason names what differs, with no values but the issuer URL, client id and username.
   */
  public static String conflict(Secret existing, Secret candidate) {
    if (existing == null) {
      return null;
    }
    String name = existing.getMetadata().getName();
    if (!Constants.TOKEN_SECRET_TYPE.equals(existing.getType())) {
      return "Secret " + name + " already exists and is not a DeviceLogin token Secret (type " + existing.getType()
          + ")";
    }
    if (!SecretBounds.fits(existing)) {
      return "Secret " + name + " already exists and is not a DeviceLogin token Secret (its data is missing or larger "
          + "than the operator writes)";
    }
    if (!Objects.equals(value(existing, ISSUER_URL), value(candidate, ISSUER_URL))) {
      return "Secret " + name + " holds tokens of another issuer (" + value(existing, ISSUER_URL) + ")";
    }
    if (!Objects.equals(value(existing, CLIENT_ID), value(candidate, CLIENT_ID))) {
      return "Secret " + name + " holds tokens of another client (" + value(existing, CLIENT_ID) + ")";
    }
    if (!Objects.equals(annotation(existing, Constants.SUBJECT_ANNOTATION),
        annotation(candidate, Constants.SUBJECT_ANNOTATION))) {
      String username = annotation(existing, Constants.USERNAME_ANNOTATION);
      return "Secret " + name + " holds the tokens of another user" + (username == null ? "" : " (" + username + ")");
    }
    return null;
  }

  /**
   * What changed in the provider since the tokens {@code secret} holds were issued (by the issuer and to the client it
   * records), or empty when {@code now} is that issuer and client: only then may its refresh token be sent there.
   */
  public static Optional<String> providerChange(Secret secret, ProviderConfig now) {
    return ProviderChange.since(value(secret, ISSUER_URL), value(secret, CLIENT_ID), now);
  }

  /** The id of the grant (login) whose tokens the Secret holds. */
  public static String grantId(Secret secret) {
    return annotation(secret, GRANT_ANNOTATION);
  }

  /**
   * Whether {@code login} (this very object, by uid) is the DeviceLogin that writes this token Secret (the newest login
   * to complete owns it); a Secret of another type, or one the operator can't have written ({@link SecretBounds#fits}:
   * no data, or more than it writes), never is. A Secret an older operator version wrote has no uid annotation: it
   * counts as this DeviceLogin's only if it names it and this DeviceLogin (by uid) is its controller owner; without
   * that owner (deletionPolicy Retain) it can't be attributed and is not taken for this DeviceLogin's.
   */
  public static boolean writtenBy(Secret secret, DeviceLogin login) {
    if (!Constants.TOKEN_SECRET_TYPE.equals(secret.getType()) || !SecretBounds.fits(secret)) {
      return false;
    }
    String uid = annotation(secret, WRITER_UID_ANNOTATION);
    if (uid != null) {
      return uid.equals(login.getMetadata().getUid());
    }
    return login.getMetadata().getName().equals(writer(secret)) && OwnerReferences.controlledBy(secret, login);
  }

  /** The name of the DeviceLogin that writes this Secret. */
  public static String writer(Secret secret) {
    return annotation(secret, Constants.DEVICELOGIN_ANNOTATION);
  }

  /** The token Secret {@code login} wrote for grant {@code grantId}, if it exists. */
  public Optional<Secret> findWrittenFor(DeviceLogin login, String grantId) {
    return secrets.byGrant(login.getMetadata().getNamespace(), grantId).stream()
        .filter(s -> Constants.TOKEN_SECRET_TYPE.equals(s.getType()))
        .filter(s -> grantId.equals(grantId(s)) && writtenBy(s, login))
        .findFirst();
  }

  /** One annotation of a Secret, or null. */
  public static String annotation(Secret secret, String key) {
    return secret.getMetadata().getAnnotations() == null ? null : secret.getMetadata().getAnnotations().get(key);
  }

  /** The value of one key of a Secret's data, decoded. */
  public static String value(Secret secret, String key) {
    return secret.getData() == null ? null : GrantStore.decode(secret.getData().get(key));
  }
}
