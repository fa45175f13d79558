package io.devicelogin.operator.secret;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.devicelogin.operator.idp.IdpLimits;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a Secret the operator wrote can look like, and what the Secret informer keeps of a labelled Secret. Anyone who
 * may create Secrets in a watched namespace can put the operator's label on them (RBAC can't restrict by label), each
 * up to about 1 MiB: the informer would keep them all, whole. So only a Secret that can be the operator's
 * ({@link #fits}) is kept as it is; of any other labelled Secret the informer keeps a stub without data, which no check
 * takes for the operator's own.
 */
public final class SecretBounds {

  /**
   * The most data (base64 characters, keys included) a grant or token Secret of the operator's holds: the token
   * Secret's three tokens at {@link IdpLimits#MAX_TOKEN_CHARS} each, its CA data (a provider's caBundle, at most
   * {@link IdentityProviderSpec#MAX_CA_BUNDLE_CHARS}, base64-encoded twice), and 8 KiB for the rest (expiry, issuer URL, client id, key names). A grant Secret
   * holds less (a device code within the same bound, a user code, URIs). About 378 KiB.
   */
  public static final int MAX_DATA_CHARS =
      3 * base64Chars(IdpLimits.MAX_TOKEN_CHARS) + base64Chars(base64Chars(IdentityProviderSpec.MAX_CA_BUNDLE_CHARS)) + 8 * 1024;

  /**
   * The most label and annotation text (keys and values) such a Secret carries: the operator writes its username,
   * subject (each at most {@link IdpLimits#MAX_IDENTITY_CLAIM_CHARS}), DeviceLogin name and uid, grant id and refresh
   * mark; 16 KiB leaves room for a few labels or annotations a person adds.
   */
  public static final int MAX_METADATA_CHARS = 16 * 1024;

  /** The most owner references and finalizers (each) such a Secret carries; the operator sets one owner reference. */
  static final int MAX_REFERENCES = 8;

  /** The annotations the operator reads from its Secrets; the only ones a stub keeps. */
  private static final List<String> READ_ANNOTATIONS = List.of(Constants.DEVICELOGIN_ANNOTATION,
      TokenSecrets.WRITER_UID_ANNOTATION, TokenSecrets.GRANT_ANNOTATION, Constants.SUBJECT_ANNOTATION,
      Constants.USERNAME_ANNOTATION);

  /** The longest annotation value and type a stub keeps. */
  private static final int MAX_STUB_VALUE_CHARS = 2 * IdpLimits.MAX_IDENTITY_CLAIM_CHARS;

  private SecretBounds() {}

  /**
   * Whether {@code secret} can be a Secret the operator wrote: a grant or token Secret, with data (the operator always
   * writes some) within {@link #MAX_DATA_CHARS}, no stringData, and metadata within {@link #MAX_METADATA_CHARS} and
   * {@link #MAX_REFERENCES}. Any other Secret is never read as a grant or tokens, written over or deleted, whatever its
   * annotations and owner references say; a stub the informer keeps ({@link #kept}) never fits.
   */
  public static boolean fits(Secret secret) {
    if (!GrantStore.TYPE.equals(secret.getType()) && !Constants.TOKEN_SECRET_TYPE.equals(secret.getType())) {
      return false;
    }
    if (secret.getData() == null || secret.getData().isEmpty() || secret.getStringData() != null
        && !secret.getStringData().isEmpty() || chars(secret.getData()) > MAX_DATA_CHARS) {
      return false;
    }
    ObjectMeta meta = secret.getMetadata();
    return chars(meta.getLabels()) + chars(meta.getAnnotations()) <= MAX_METADATA_CHARS
        && size(meta.getOwnerReferences()) <= MAX_REFERENCES && size(meta.getFinalizers()) <= MAX_REFERENCES;
  }

  /**
   * What the informer keeps of a labelled Secret: one that {@link #fits} as it is, without managedFields (the API
   * server's bookkeeping, which the operator never reads and an update without them leaves as it is); any other as a
   * stub: name, namespace, uid, resourceVersion, its type (if short), the annotations the operator reads (if short)
   * and its controller owner reference, without data. Reading a stub is reading a Secret that is not the operator's.
   */
  public static Secret kept(Secret secret) {
    ObjectMeta meta = secret.getMetadata();
    if (fits(secret)) {
      return meta.getManagedFields() == null || meta.getManagedFields().isEmpty()
          ? secret
          : new SecretBuilder(secret).editMetadata().withManagedFields().endMetadata().build();
    }
    Map<String, String> annotations = new LinkedHashMap<>();
    if (meta.getAnnotations() != null) {
      for (String key : READ_ANNOTATIONS) {
        String value = meta.getAnnotations().get(key);
        if (value != null && value.length() <= MAX_STUB_VALUE_CHARS) {
          annotations.put(key, value);
        }
      }
    }
    List<OwnerReference> controller = meta.getOwnerReferences() == null ? List.of() : meta.getOwnerReferences()
        .stream().filter(ref -> Boolean.TRUE.equals(ref.getController())).limit(1).toList();
    String type = secret.getType();
    return new SecretBuilder()
        .withNewMetadata()
        .withName(meta.getName())
        .withNamespace(meta.getNamespace())
        .withUid(meta.getUid())
        .withResourceVersion(meta.getResourceVersion())
        .withAnnotations(annotations.isEmpty() ? null : annotations)
        .withOwnerReferences(controller)
        .endMetadata()
        .withType(type == null || type.length() <= MAX_STUB_VALUE_CHARS ? type : "(type too long to keep)")
        .build();
  }

  private static int base64Chars(int bytes) {
    return (bytes + 2) / 3 * 4;
  }

  private static long chars(Map<String, String> map) {
    if (map == null) {
      return 0;
    }
    long chars = 0;
    for (Map.Entry<String, String> entry : map.entrySet()) {
      chars += entry.getKey().length() + (entry.getValue() == null ? 0 : entry.getValue().length());
    }
    return chars;
  }

  private static int size(List<?> list) {
    return list == null ? 0 : list.size();
  }
}
