package io.devicelogin.operator.api.v1alpha1;

/**
 * Reasons on a DeviceLogin's Ready condition, exactly as the API contract names them, plus InvalidSpec (the spec breaks a
 * rule the CRD schema states, for objects that reached the operator without admission validation) Superseded (a newer
 * DeviceLogin took over the Secret), SecretConflict (the target Secret belongs to someone else), ProviderChanged (the
 * provider now names another issuer or client than the login's grant or tokens were made with), CRDOutdated (the
 * installed CRD lacks fields this operator uses, so no login is started on a spec the API server may have pruned)
 * SecretWriteRefused (the API server refused for good to store the tokens; they were dropped, not held forever) and
 * CodeExchangeInterrupted (the operator stopped while exchanging an authorization code, which can't be used twice).
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
  CRDOutdated,
  ProviderChanged,
  UserRequired,
  NamespaceNotAllowed,
  ScopeNotAllowed,
  SecretWriteRefused,
  CodeExchangeInterrupted
}
