package io.devicelogin.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.ArrayList;
import java.util.List;

/** What a person and a portal need to know about a login. Never holds a device code or a token. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class DeviceLoginStatus {

  @JsonPropertyDescription("Pending, AwaitingUser, Ready, Denied, Expired or Failed.")
  private Phase phase;

  @JsonPropertyDescription("Code the person enters at verificationUri. Cleared once the login ends.")
  private String userCode;

  @JsonPropertyDescription("Where the person approves the login in their own browser. Cleared once the login ends.")
  private String verificationUri;

  @JsonPropertyDescription("verificationUri with the user code filled in, when the IdP offers one. Cleared once the login ends.")
  private String verificationUriComplete;

  @JsonPropertyDescription("Grant AuthorizationCode: the address the person opens in their own browser to sign in (it "
      + "carries state, nonce, the PKCE S256 challenge and the provider's exact redirect_uri; nothing secret). "
      + "Cleared once the login ends.")
  private String authorizationUrl;

  @JsonPropertyDescription("RFC 3339 time the user code (grant AuthorizationCode: the authorization URL's state) "
      + "expires.")
  private String expiresAt;

  @JsonPropertyDescription("Seconds between token polls now; grows when the IdP asks to slow down.")
  private Integer pollInterval;

  @JsonPropertyDescription("Secret in this namespace holding the tokens, once written.")
  private String secretName;

  @JsonPropertyDescription("Who logged in, from the validated ID token.")
  private Identity identity;

  @JsonPropertyDescription("RFC 3339 time the ID token in the Secret expires.")
  private String tokenExpiresAt;

  @JsonPropertyDescription("RFC 3339 time the operator refreshes the tokens.")
  private String renewalTime;

  @JsonPropertyDescription("RFC 3339 time the tokens were last refreshed.")
  private String lastRefreshTime;

  @JsonPropertyDescription("How many times in a row the step under way failed: starting the login at the IdP, "
      + "refreshing the tokens, or revoking the refresh token while the DeviceLogin is deleted. The operator backs off "
      + "by it; the next step that succeeds clears it.")
  private Integer failedAttempts;

  @JsonPropertyDescription("RFC 3339 time of the last of failedAttempts.")
  private String lastFailureTime;

  @JsonPropertyDescription("metadata.generation this status describes.")
  private Long observedGeneration;

  @JsonPropertyDescription(
      "Value of the devicelogin.io/restart annotation this status describes; a new value starts a fresh login.")
  private String observedRestart;

  @JsonPropertyDescription("Standard conditions; type Ready is always present, its reason says where the login is.")
  private List<Condition> conditions = new ArrayList<>();

  public Phase getPhase() {
    return phase;
  }

  public void setPhase(Phase phase) {
    this.phase = phase;
  }

  public String getUserCode() {
    return userCode;
  }

  public void setUserCode(String userCode) {
    this.userCode = userCode;
  }

  public String getVerificationUri() {
    return verificationUri;
  }

  public void setVerificationUri(String verificationUri) {
    this.verificationUri = verificationUri;
  }

  public String getVerificationUriComplete() {
    return verificationUriComplete;
  }

  public String getAuthorizationUrl() {
    return authorizationUrl;
  }

  public void setAuthorizationUrl(String authorizationUrl) {
    this.authorizationUrl = authorizationUrl;
  }

  public void setVerificationUriComplete(String verificationUriComplete) {
    this.verificationUriComplete = verificationUriComplete;
  }

  public String getExpiresAt() {
    return expiresAt;
  }

  public void setExpiresAt(String expiresAt) {
    this.expiresAt = expiresAt;
  }

  public Integer getPollInterval() {
    return pollInterval;
  }

  public void setPollInterval(Integer pollInterval) {
    this.pollInterval = pollInterval;
  }

  public String getSecretName() {
    return secretName;
  }

  public void setSecretName(String secretName) {
    this.secretName = secretName;
  }

  public Identity getIdentity() {
    return identity;
  }

  public void setIdentity(Identity identity) {
    this.identity = identity;
  }

  public String getTokenExpiresAt() {
    return tokenExpiresAt;
  }

  public void setTokenExpiresAt(String tokenExpiresAt) {
    this.tokenExpiresAt = tokenExpiresAt;
  }

  public String getRenewalTime() {
    return renewalTime;
  }

  public void setRenewalTime(String renewalTime) {
    this.renewalTime = renewalTime;
  }

  public Integer getFailedAttempts() {
    return failedAttempts;
  }

  public void setFailedAttempts(Integer failedAttempts) {
    this.failedAttempts = failedAttempts;
  }

  public String getLastFailureTime() {
    return lastFailureTime;
  }

  public void setLastFailureTime(String lastFailureTime) {
    this.lastFailureTime = lastFailureTime;
  }

  public String getLastRefreshTime() {
    return lastRefreshTime;
  }

  public void setLastRefreshTime(String lastRefreshTime) {
    this.lastRefreshTime = lastRefreshTime;
  }

  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long observedGeneration) {
    this.observedGeneration = observedGeneration;
  }

  public String getObservedRestart() {
    return observedRestart;
  }

  public void setObservedRestart(String observedRestart) {
    this.observedRestart = observedRestart;
  }

  public List<Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<Condition> conditions) {
    this.conditions = conditions;
  }
}
