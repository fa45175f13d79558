package io.devicelogin.operator.api.v1alpha1;

/** Names from the API contract that more than one package uses. */
public final class Constants {
  public static final String GROUP = "devicelogin.io";
  public static final String VERSION = "v1alpha1";

  public static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
  public static final String MANAGED_BY = "devicelogin-operator";
  public static final String USERNAME_LABEL = GROUP + "/username";
  public static final String USERNAME_ANNOTATION = GROUP + "/username";
  public static final String SUBJECT_ANNOTATION = GROUP + "/subject";
  public static final String DEVICELOGIN_ANNOTATION = GROUP + "/devicelogin";

  /** Annotation on a DeviceLogin: a new value starts a fresh login without a spec change. */
  public static final String RESTART_ANNOTATION = GROUP + "/restart";

  /** Finalizer that revokes and cleans up before a DeviceLogin goes away. */
  public static final String FINALIZER = GROUP + "/cleanup";

  public static final String TOKEN_SECRET_TYPE = GROUP + "/oidc-tokens";

  /** Type of a Secret a person or portal creates to paste back an IdP's redirect (the operator consumes it). */
  public static final String AUTHORIZATION_RESPONSE_TYPE = GROUP + "/authorization-response";

  /** Key of an authorization-response Secret holding the full URL the browser was sent to. */
  public static final String REDIRECT_URL_KEY = "redirect-url";

  /** Label naming the DeviceLogin (same namespace) an authorization-response Secret is for. */
  public static final String DEVICELOGIN_LABEL = GROUP + "/devicelogin";

  /** Label a Secret needs, set to "true", for the operator to read it as a provider's client secret. */
  public static final String CLIENT_SECRET_LABEL = GROUP + "/client-secret";

  /** Condition type present on every resource. */
  public static final String READY = "Ready";

  private Constants() {}
}
