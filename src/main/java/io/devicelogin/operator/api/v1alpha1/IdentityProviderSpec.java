package io.devicelogin.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;
import java.util.Map;

/** One OIDC client at one identity provider; shared by IdentityProvider and ClusterIdentityProvider. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
@ValidationRule(value = "!has(self.grant) || self.grant != 'AuthorizationCode' || has(self.redirectUri)",
    message = "redirectUri is required when grant is AuthorizationCode")
public class IdentityProviderSpec {

  /** The longest spec.redirectUri (characters). */
  public static final int MAX_REDIRECT_URI_CHARS = 2048;

  /** Which OAuth grant logins through a provider use. */
  public enum GrantType {
    DeviceCode,
    AuthorizationCode
  }

  /** The longest spec.caBundle (characters): the CRD's bound, and what the operator's token Secrets may carry of it. */
  public static final int MAX_CA_BUNDLE_CHARS = 64 * 1024;

  /** Whether the IdP sends the email_verified claim (see emailVerifiedClaim). */
  public enum EmailVerifiedClaim {
    Required,
    NotSent
  }

  /**
   * The OAuth/OIDC parameters the operator sets itself, which spec.authorizationParameters must not name (compared
   * ignoring case): the one list the CRD's CEL rule and the operator's check ({@code flow.AuthorizationParameters})
   * are both built from. A constant expression, so the rule's annotation can embed it.
   */
  public static final String PROTOCOL_PARAMETERS = "client_id|client_secret|scope|response_type|redirect_uri|state"
      + "|nonce|code_challenge|code_challenge_method|grant_type|device_code|code|code_verifier";
  /** At most this many spec.authorizationParameters: they travel in the authorization URL a browser must open. */
  public static final int MAX_AUTHORIZATION_PARAMETERS = 32;
  /** A spec.authorizationParameters key: 1 to 64 characters, ASCII letters, digits, '_', '.', '-'. */
  public static final String AUTHORIZATION_PARAMETER_KEY = "^[A-Za-z0-9_.-]{1,64}$";
  /** The longest spec.authorizationParameters value (characters). */
  public static final int MAX_AUTHORIZATION_PARAMETER_CHARS = 1024;

  public static final List<String> DEFAULT_SCOPES = List.of("openid", "profile", "email", "offline_access");

  @Required
  @Size(min = 1, max = 2048)
  @Pattern("^https?://[^\\s?#]+$")
  @JsonPropertyDescription(
      "OIDC issuer URL. Endpoints are discovered from <issuerUrl>/.well-known/openid-configuration. "
          + "Must be https:// unless allowInsecureHttp is true, without a query (?) or fragment (#).")
  private String issuerUrl;

  @Required
  @Size(min = 1, max = 512)
  @JsonPropertyDescription("OAuth 2.0 client id registered at the IdP with the device authorization grant enabled "
      + "(grant AuthorizationCode: with the standard flow, PKCE S256 and redirectUri).")
  private String clientId;

  @JsonPropertyDescription(
      "Secret holding the client secret of a confidential client. Looked up in the provider's namespace "
          + "(ClusterIdentityProvider: the operator's namespace). Omit for a public client.")
  private SecretKeyReference clientSecretRef;

  @Default("[\"openid\",\"profile\",\"email\",\"offline_access\"]")
  @Size(max = 64)
  @ValidationRule(value = "self.exists(s, s == 'openid')", message = "scopes must include 'openid'")
  @JsonPropertyDescription("Scopes requested in the device authorization request. Must include openid.")
  private List<String> scopes;

  @Default("email")
  @Size(min = 1, max = 256)
  @JsonPropertyDescription("ID token claim that names the user: the Secret name and spec.user are compared with it.")
  private String usernameClaim;

  @Default("groups")
  @Size(min = 1, max = 256)
  @JsonPropertyDescription("ID token claim that lists the user's groups.")
  private String groupsClaim;

  @Size(max = 256)
  @JsonPropertyDescription(
      "If set, a login whose groups share none of these ends Failed (reason GroupNotAllowed) and no Secret is written.")
  private List<String> allowedGroups;

  @Size(max = MAX_CA_BUNDLE_CHARS)
  @JsonPropertyDescription("PEM-encoded CA certificates trusted, in addition to the system ones, for the IdP's TLS.")
  private String caBundle;

  @Default("true")
  @JsonPropertyDescription(
      "A DeviceLogin naming this provider must set spec.user, or it ends Failed (reason UserRequired) before any "
          + "request to the IdP: whoever approves a login without spec.user would hand their tokens to whoever "
          + "created it (RFC 8628 section 5.4).")
  private Boolean requireUser;

  @Size(max = 64)
  @ValidationRule(value = "self.all(s, size(s) > 0 && !s.contains(' '))",
      message = "allowedScopes must be single scopes, not empty or holding spaces")
  @JsonPropertyDescription(
      "Scopes a DeviceLogin's spec.scopes may ask for. Absent: only the provider's scopes. A DeviceLogin asking for "
          + "any other ends Failed (reason ScopeNotAllowed) before any request to the IdP.")
  private List<String> allowedScopes;

  @Default("Required")
  @JsonPropertyDescription(
      "With usernameClaim email: Required (default) accepts an ID token only with email_verified true; NotSent "
          + "is for IdPs that never send email_verified (Entra ID) and accepts it absent (still refusing false).")
  private EmailVerifiedClaim emailVerifiedClaim;

  @Default("false")
  @JsonPropertyDescription("Allow an http:// issuer. Only for local development: tokens travel unencrypted.")
  private Boolean allowInsecureHttp;

  @Default("DeviceCode")
  @JsonPropertyDescription(
      "The grant logins through this provider use. DeviceCode (default): the OAuth 2.0 device authorization grant "
          + "(RFC 8628), the person enters a user code. AuthorizationCode: for IdPs without the device grant, the "
          + "authorization code grant with PKCE (S256); the DeviceLogin shows status.authorizationUrl, and the IdP's "
          + "redirect reaches the operator by a pasted authorization-response Secret, the operator's callback endpoint "
          + "or a local relay. Requires redirectUri.")
  private GrantType grant;

  @Size(max = MAX_REDIRECT_URI_CHARS)
  @Pattern("^https?://[^\\s#]+$")
  @JsonPropertyDescription(
      "The redirect URI registered for clientId at the IdP, sent exactly as written (grant AuthorizationCode only): "
          + "a loopback address such as http://localhost:8000/ for IdPs that allow only localhost (the person pastes "
          + "the address the browser could not open, or runs the local relay), or the operator's public callback "
          + "https://<host>/callback. http:// only for a loopback host or with allowInsecureHttp; no fragment.")
  private String redirectUri;

  @Size(max = MAX_AUTHORIZATION_PARAMETERS)
  @ValidationRule(value = "self.all(k, k.matches('" + AUTHORIZATION_PARAMETER_KEY + "') "
      + "&& !k.matches('(?i)^(" + PROTOCOL_PARAMETERS + ")$') && size(self[k]) <= " + MAX_AUTHORIZATION_PARAMETER_CHARS
      + ")", message = "authorizationParameters keys must be 1 to 64 characters of A-Z a-z 0-9 _ . - and not a "
      + "protocol parameter the operator sets itself (" + PROTOCOL_PARAMETERS + ", in any case); values at most "
      + MAX_AUTHORIZATION_PARAMETER_CHARS + " characters")
  @JsonPropertyDescription(
      "Extra parameters, set by the admin, sent on the device authorization request and in the authorization URL "
          + "(grant AuthorizationCode), for example audience (Auth0 APIs), organization (Auth0 Organizations), "
          + "resource, acr_values, prompt or domain_hint (Entra ID). Not sent on token, refresh or revocation "
          + "requests. The protocol's own parameters (client_id, client_secret, scope, response_type, redirect_uri, "
          + "state, nonce, code_challenge, code_challenge_method, grant_type, device_code, code, code_verifier) are "
          + "refused in any letter case: the provider is not Ready (reason ParameterNotAllowed) and nothing is sent. "
          + "At most " + MAX_AUTHORIZATION_PARAMETERS + " entries, keys 1 to 64 characters of A-Z a-z 0-9 _ . -, "
          + "values at most " + MAX_AUTHORIZATION_PARAMETER_CHARS + " characters: they travel in a URL a browser must "
          + "open, and a bounded rule is one the API server can afford to check.")
  private Map<String, String> authorizationParameters;

  public String getIssuerUrl() {
    return issuerUrl;
  }

  public void setIssuerUrl(String issuerUrl) {
    this.issuerUrl = issuerUrl;
  }

  public String getClientId() {
    return clientId;
  }

  public void setClientId(String clientId) {
    this.clientId = clientId;
  }

  public SecretKeyReference getClientSecretRef() {
    return clientSecretRef;
  }

  public void setClientSecretRef(SecretKeyReference clientSecretRef) {
    this.clientSecretRef = clientSecretRef;
  }

  public List<String> getScopes() {
    return scopes;
  }

  public void setScopes(List<String> scopes) {
    this.scopes = scopes;
  }

  public String getUsernameClaim() {
    return usernameClaim;
  }

  public void setUsernameClaim(String usernameClaim) {
    this.usernameClaim = usernameClaim;
  }

  public String getGroupsClaim() {
    return groupsClaim;
  }

  public void setGroupsClaim(String groupsClaim) {
    this.groupsClaim = groupsClaim;
  }

  public List<String> getAllowedGroups() {
    return allowedGroups;
  }

  public void setAllowedGroups(List<String> allowedGroups) {
    this.allowedGroups = allowedGroups;
  }

  public String getCaBundle() {
    return caBundle;
  }

  public void setCaBundle(String caBundle) {
    this.caBundle = caBundle;
  }

  public Boolean getRequireUser() {
    return requireUser;
  }

  public void setRequireUser(Boolean requireUser) {
    this.requireUser = requireUser;
  }

  public List<String> getAllowedScopes() {
    return allowedScopes;
  }

  public void setAllowedScopes(List<String> allowedScopes) {
    this.allowedScopes = allowedScopes;
  }

  public EmailVerifiedClaim getEmailVerifiedClaim() {
    return emailVerifiedClaim;
  }

  public void setEmailVerifiedClaim(EmailVerifiedClaim emailVerifiedClaim) {
    this.emailVerifiedClaim = emailVerifiedClaim;
  }

  public Boolean getAllowInsecureHttp() {
    return allowInsecureHttp;
  }

  public void setAllowInsecureHttp(Boolean allowInsecureHttp) {
    this.allowInsecureHttp = allowInsecureHttp;
  }

  public GrantType getGrant() {
    return grant;
  }

  public void setGrant(GrantType grant) {
    this.grant = grant;
  }

  public String getRedirectUri() {
    return redirectUri;
  }

  public void setRedirectUri(String redirectUri) {
    this.redirectUri = redirectUri;
  }

  public Map<String, String> getAuthorizationParameters() {
    return authorizationParameters;
  }

  public void setAuthorizationParameters(Map<String, String> authorizationParameters) {
    this.authorizationParameters = authorizationParameters;
  }

  /** Whether logins use the authorization code grant (the default is the device grant). */
  public boolean authorizationCodeGrant() {
    return grant == GrantType.AuthorizationCode;
  }

  /** Scopes with the contract's default applied (the API server applies it too; objects built in code may not). */
  public List<String> effectiveScopes() {
    return scopes == null || scopes.isEmpty() ? DEFAULT_SCOPES : scopes;
  }

  public String effectiveUsernameClaim() {
    return usernameClaim == null || usernameClaim.isBlank() ? "email" : usernameClaim;
  }

  public String effectiveGroupsClaim() {
    return groupsClaim == null || groupsClaim.isBlank() ? "groups" : groupsClaim;
  }

  /** requireUser with its default (true) applied. */
  public boolean userRequired() {
    return !Boolean.FALSE.equals(requireUser);
  }

  /** Whether the IdP is known not to send email_verified (the default says it sends it). */
  public boolean emailVerifiedNotSent() {
    return emailVerifiedClaim == EmailVerifiedClaim.NotSent;
  }

  public boolean insecureHttpAllowed() {
    return Boolean.TRUE.equals(allowInsecureHttp);
  }
}
