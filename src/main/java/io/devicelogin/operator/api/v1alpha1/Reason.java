package io.devicelogin.operator.api.v1alpha1;

/**
 * Reasons on a DeviceLogin's Ready condition, exactly as the API contract names them, plus InvalidSpec (the spec breaks a
 * rule the CRD schema states, for objects that reached the operator without admission validation) Superseded (a newer
 * DeviceLogin took over the Secret) and SecretConflict (the target Secret belongs to someone else).
 */
public enum Reason {
  AuthorizationPending,
  Issued,
  Refreshed,
  AccessDenied,
  ExpiredToken,
  IdentityMismatch,
  GroupNotAllowed,
  ProviderNotReady,
  IdPUnavailable,
  InvalidTokenResponse,
  RefreshFailed,
  InvalidSpec,
  Superseded,
  SecretConflict,
  UserRequired,
  NamespaceNotAllowed,
  ScopeNotAllowed
}
