package io.devicelogin.operator.secret;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.flow.Grant;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Persists each started device grant in an operator-owned Secret (owned by its DeviceLogin) before its user code is
 * published, so a restarted operator continues the same grant instead of starting a second one. Reads are served
 * from memory once the grant was seen, so polling costs no API reads.
 */
public final class GrantStore {

  public static final String TYPE = Constants.GROUP + "/device-grant";
  public static final String COMPONENT_LABEL = Constants.GROUP + "/component";
  public static final String COMPONENT = "device-grant";
  private static final String PREFIX = "devicelogin-grant-";

  private static final String ID = "grant-id";
  private static final String GENERATION = "generation";
  private static final String RESTART = "restart";
  private static final String DEVICE_CODE = "device-code";
  private static final String USER_CODE = "user-code";
  private static final String VERIFICATION_URI = "verification-uri";
  private static final String VERIFICATION_URI_COMPLETE = "verification-uri-complete";
  private static final String EXPIRES_AT = "expires-at";
  private static final String INTERVAL = "interval-seconds";
  private static final Set<String> REQUIRED =
      Set.of(ID, GENERATION, DEVICE_CODE, USER_CODE, VERIFICATION_URI, EXPIRES_AT, INTERVAL);

  private final KubernetesClient client;
  private final Map<String, Grant> byLoginUid = new ConcurrentHashMap<>();

  public GrantStore(KubernetesClient client) {
    this.client = client;
  }

  /**
   * {@code devicelogin-grant-<name>}: a DeviceLogin name is already a valid Secret name, so it is kept as it is (two
   * DeviceLogins never share a grant Secret); only a name too long for the prefix is shortened with a hash.
   */
  public static String secretName(DeviceLogin login) {
    String name = login.getMetadata().getName();
    return PREFIX.length() + name.length() <= Names.MAX_NAME ? PREFIX + name : Names.prefixed(PREFIX, name);
  }

  /** The grant stored for this DeviceLogin (this very object, by uid), if any. */
  public Optional<Grant> find(DeviceLogin login) {
    Grant cached = byLoginUid.get(login.getMetadata().getUid());
    if (cached != null) {
      return Optional.of(cached);
    }
    Secret secret = client.secrets()
        .inNamespace(login.getMetadata().getNamespace())
        .withName(secretName(login))
        .get();
    if (secret == null || !ownedBy(secret, login)) {
      return Optional.empty();
    }
    Optional<Grant> grant = fromData(secret.getData());
    grant.ifPresent(g -> byLoginUid.put(login.getMetadata().getUid(), g));
    return grant;
  }

  /** Creates or updates the grant's Secret; returns only once the API server has it. */
  public void save(DeviceLogin login, Grant grant) {
    Secret secret = new SecretBuilder()
        .withNewMetadata()
        .withName(secretName(login))
        .withNamespace(login.getMetadata().getNamespace())
        .addToLabels(Constants.MANAGED_BY_LABEL, Constants.MANAGED_BY)
        .addToLabels(COMPONENT_LABEL, COMPONENT)
        .addToAnnotations(Constants.DEVICELOGIN_ANNOTATION, login.getMetadata().getName())
        .withOwnerReferences(OwnerReferences.controller(login))
        .endMetadata()
        .withType(TYPE)
        .withData(toData(grant))
        .build();
    client.secrets().inNamespace(login.getMetadata().getNamespace()).resource(secret)
        .createOr(NonDeletingOperation::update);
    remember(login, grant);
  }

  /** The grant of this DeviceLogin if this process has it in memory; never asks the API server. */
  public Optional<Grant> cached(DeviceLogin login) {
    return Optional.ofNullable(byLoginUid.get(login.getMetadata().getUid()));
  }

  /** Updates the in-memory copy only (used before a write that may fail, so polling follows the newest interval). */
  public void remember(DeviceLogin login, Grant grant) {
    byLoginUid.put(login.getMetadata().getUid(), grant);
  }

  /** Deletes the grant's Secret (idempotent). */
  public void delete(DeviceLogin login) {
    client.secrets().inNamespace(login.getMetadata().getNamespace()).withName(secretName(login)).delete();
    forget(login);
  }

  /** Drops the in-memory copy only. */
  public void forget(DeviceLogin login) {
    byLoginUid.remove(login.getMetadata().getUid());
  }

  private static boolean ownedBy(Secret secret, DeviceLogin login) {
    return secret.getMetadata().getOwnerReferences().stream()
        .anyMatch(ref -> login.getMetadata().getUid().equals(ref.getUid()));
  }

  private static Map<String, String> toData(Grant grant) {
    Map<String, String> data = new LinkedHashMap<>();
    data.put(ID, encode(grant.id()));
    data.put(GENERATION, encode(Long.toString(grant.generation())));
    if (grant.restart() != null) {
      data.put(RESTART, encode(grant.restart()));
    }
    data.put(DEVICE_CODE, encode(grant.deviceCode()));
    data.put(USER_CODE, encode(grant.userCode()));
    data.put(VERIFICATION_URI, encode(grant.verificationUri().toString()));
    if (grant.verificationUriComplete() != null) {
      data.put(VERIFICATION_URI_COMPLETE, encode(grant.verificationUriComplete().toString()));
    }
    data.put(EXPIRES_AT, encode(grant.expiresAt().toString()));
    data.put(INTERVAL, encode(Long.toString(grant.interval().toSeconds())));
    return data;
  }

  /** The stored grant, or empty when the data is incomplete or unreadable (then a fresh grant replaces it). */
  private static Optional<Grant> fromData(Map<String, String> data) {
    if (data == null || !data.keySet().containsAll(REQUIRED)) {
      return Optional.empty();
    }
    try {
      String complete = decode(data.get(VERIFICATION_URI_COMPLETE));
      return Optional.of(new Grant(
          decode(data.get(ID)),
          Long.parseLong(decode(data.get(GENERATION))),
          decode(data.get(RESTART)),
          decode(data.get(DEVICE_CODE)),
          decode(data.get(USER_CODE)),
          URI.create(decode(data.get(VERIFICATION_URI))),
          complete == null ? null : URI.create(complete),
          Instant.parse(decode(data.get(EXPIRES_AT))),
          Duration.ofSeconds(Long.parseLong(decode(data.get(INTERVAL))))));
    } catch (IllegalArgumentException | DateTimeException e) {
      return Optional.empty();
    }
  }

  static String encode(String value) {
    return Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8));
  }

  static String decode(String value) {
    return value == null ? null : new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
  }
}
