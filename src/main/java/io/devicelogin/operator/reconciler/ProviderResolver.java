package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.ProviderResource;
import io.devicelogin.operator.api.v1alpha1.SecretKeyReference;
import io.devicelogin.operator.flow.AuthorizationParameters;
import io.devicelogin.operator.messages.Messages;
import io.devicelogin.operator.idp.IdentityProviderClient;
import io.devicelogin.operator.idp.IdpException;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.idp.ProviderEndpoints;
import io.devicelogin.operator.idp.RedirectUris;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.upgrade.CrdSchemas;
import io.devicelogin.operator.upgrade.InstalledCrds;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.util.List;
import java.util.Map;

/**
 * Turns a provider resource into a usable {@link ProviderConfig}: checks the issuer URL, reads the client secret and
 * runs (cached) OIDC discovery. Shared by the provider reconcilers (which report it as the Ready condition) and the
 * DeviceLogin reconciler (which needs the config), so both judge a provider the same way.
 */
public final class ProviderResolver {

  public static final String DISCOVERED = "Discovered";
  public static final String INVALID_ISSUER_URL = "InvalidIssuerUrl";
  public static final String INSECURE_ISSUER = "InsecureIssuer";
  public static final String CLIENT_SECRET_NOT_ALLOWED = "ClientSecretNotAllowed";
  public static final String DISCOVERY_FAILED = "DiscoveryFailed";
  public static final String IDP_UNAVAILABLE = "IdPUnavailable";
  /** This operator version can't read the object (see TolerantResource): a provider's reason and the Event's. */
  public static final String UNREADABLE = "Unreadable";
  /** The installed CRD lacks fields this operator version uses (see InstalledCrds). */
  public static final String CRD_OUTDATED = "CRDOutdated";
  /**
   * A namespaced IdentityProvider's endpoint resolves to an address in IDP_DENIED_CIDRS or lies on another origin than
   * its issuer; the operator sends nothing there.
   */
  public static final String ENDPOINT_NOT_ALLOWED = "EndpointNotAllowed";
  /** spec.redirectUri is missing or not a redirect URI the operator sends (grant AuthorizationCode). */
  public static final String INVALID_REDIRECT_URI = "InvalidRedirectUri";
  /** The IdP does not offer the provider's grant (no device endpoint; no authorization endpoint or PKCE S256). */
  public static final String GRANT_NOT_SUPPORTED = "GrantNotSupported";
  /**
   * spec.authorizationParameters names a protocol parameter (client_id, scope...) or breaks the CRD's bounds; nothing
   * is sent to the IdP.
   */
  public static final String PARAMETER_NOT_ALLOWED = "ParameterNotAllowed";

  private final KubernetesClient client;
  private final IdentityProviderClient idp;
  private final String operatorNamespace;
  private final CrdSchemas crds;

  public ProviderResolver(
      KubernetesClient client, IdentityProviderClient idp, String operatorNamespace, CrdSchemas crds) {
    this.client = client;
    this.idp = idp;
    this.operatorNamespace = operatorNamespace;
    this.crds = crds;
  }

  /**
   * @param freshDiscovery fetch the discovery document even if a cached one is still valid
   */
  public ProviderResolution resolve(ProviderResource provider, boolean freshDiscovery) {
    if (provider.readProblem() != null) {
      return new ProviderResolution.NotReady(UNREADABLE, "This operator version can't read the provider: "
          + provider.readProblem() + ". It is not used until it is changed or the operator is upgraded; run the "
          + "operator and CRDs of the same release.", false);
    }
    // a namespaced IdentityProvider is a tenant's: its namespace holds its client secret and names its fair share
    String tenant = provider instanceof Namespaced ? provider.getMetadata().getNamespace() : null;
    Class<? extends HasMetadata> kind = tenant != null ? IdentityProvider.class : ClusterIdentityProvider.class;
    List<String> lacking = crds.missingFields(kind);
    if (!lacking.isEmpty()) {
      return new ProviderResolution.NotReady(CRD_OUTDATED, InstalledCrds.outdatedMessage(kind, lacking), true);
    }
    IdentityProviderSpec spec = provider.getSpec();
    if (spec == null || spec.getIssuerUrl() == null || spec.getClientId() == null) {
      return new ProviderResolution.NotReady(
          INVALID_ISSUER_URL, "spec.issuerUrl and spec.clientId are required", false);
    }
    URI issuer;
    try {
      issuer = new URI(spec.getIssuerUrl());
    } catch (java.net.URISyntaxException e) {
      return new ProviderResolution.NotReady(
          INVALID_ISSUER_URL, "spec.issuerUrl is not a valid URL: " + e.getMessage(), false);
    }
    String scheme = issuer.getScheme() == null ? "" : issuer.getScheme().toLowerCase(java.util.Locale.ROOT);
    if (issuer.getHost() == null || !(scheme.equals("https") || scheme.equals("http"))) {
      return new ProviderResolution.NotReady(
          INVALID_ISSUER_URL, "spec.issuerUrl must be an absolute https:// URL, got '" + spec.getIssuerUrl() + "'",
          false);
    }
    if (issuer.getRawQuery() != null || issuer.getRawFragment() != null || issuer.getRawUserInfo() != null) {
      return new ProviderResolution.NotReady(
          INVALID_ISSUER_URL, "spec.issuerUrl must not have a query ('?'), a fragment ('#') or user info ('@'): "
              + "discovery appends /.well-known/openid-configuration to the issuer's path", false);
    }
    if (scheme.equals("http") && !spec.insecureHttpAllowed()) {
      return new ProviderResolution.NotReady(
          INSECURE_ISSUER,
          "spec.issuerUrl uses http://, which would send tokens unencrypted; use https:// or, for local "
              + "development only, set spec.allowInsecureHttp: true",
          false);
    }
    java.util.Optional<String> parameterProblem = AuthorizationParameters.problem(spec.getAuthorizationParameters());
    if (parameterProblem.isPresent()) {
      return new ProviderResolution.NotReady(PARAMETER_NOT_ALLOWED, parameterProblem.get(), false);
    }
    String clientSecret = null;
    SecretKeyReference ref = spec.getClientSecretRef();
    if (ref != null) {
      String namespace = tenant != null ? tenant : operatorNamespace;
      Secret secret = client.secrets().inNamespace(namespace).withName(ref.getName()).get();
      clientSecret = readable(secret) ? secretValue(secret, ref.getKey()) : null;
      if (clientSecret == null || clientSecret.isEmpty()) {
        // One message for a missing Secret or key and a Secret the operator may not read: the status of a provider a
        // tenant controls must not tell whether some other Secret (or key) exists.
        return new ProviderResolution.NotReady(CLIENT_SECRET_NOT_ALLOWED, "The client secret spec.clientSecretRef "
            + "names (key '" + ref.getKey() + "' of Secret " + namespace + "/" + ref.getName() + ") is not "
            + "available: the operator reads only a Secret labelled " + Constants.CLIENT_SECRET_LABEL + ": \"true\" "
            + "that is none of its own (token, grant or authorization-response) Secrets, and only a non-empty key. "
            + "Put the client secret in such a Secret and name it here", false);
      }
    }
    URI redirectUri = null;
    if (spec.authorizationCodeGrant()) {
      String problem = RedirectUris.problem(spec.getRedirectUri(), spec.insecureHttpAllowed());
      if (problem != null) {
        return new ProviderResolution.NotReady(INVALID_REDIRECT_URI, problem, false);
      }
      redirectUri = URI.create(spec.getRedirectUri());
    }
    ProviderConfig config = new ProviderConfig(issuer, spec.getClientId(), clientSecret, spec.getCaBundle(),
        spec.effectiveScopes(), tenant, spec.insecureHttpAllowed(), redirectUri, spec.getAuthorizationParameters());
    try {
      ProviderEndpoints endpoints = idp.discover(config, freshDiscovery);
      String unsupported = unsupportedGrant(config, endpoints);
      if (unsupported != null) {
        return new ProviderResolution.NotReady(GRANT_NOT_SUPPORTED, unsupported, false);
      }
      if (!spec.insecureHttpAllowed()) {
        for (URI endpoint : java.util.Arrays.asList(endpoints.deviceAuthorizationEndpoint(),
            endpoints.authorizationEndpoint(), endpoints.tokenEndpoint(), endpoints.jwksUri(),
            endpoints.revocationEndpoint())) {
          if (endpoint != null && !"https".equalsIgnoreCase(endpoint.getScheme())) {
            return new ProviderResolution.NotReady(INSECURE_ISSUER, "The discovery document advertises " + endpoint
                + ", which would send codes and tokens unencrypted; fix the IdP's configuration or, for local "
                + "development only, set spec.allowInsecureHttp: true", false);
          }
        }
      }
      return new ProviderResolution.Ready(config, endpoints);
    } catch (IdpException e) {
      String message = Messages.capitalize(e.getMessage());
      return switch (e.kind()) {
        case UNAVAILABLE -> new ProviderResolution.NotReady(IDP_UNAVAILABLE, message, true);
        case REJECTED -> new ProviderResolution.NotReady(DISCOVERY_FAILED, message, false);
        case NOT_ALLOWED -> new ProviderResolution.NotReady(ENDPOINT_NOT_ALLOWED, message, false);
      };
    }
  }

  /** Why the IdP can't serve the provider's grant, as the provider's condition says it, or null when it can. */
  private static String unsupportedGrant(ProviderConfig config, ProviderEndpoints endpoints) {
    if (!config.authorizationCode()) {
      return endpoints.deviceAuthorizationEndpoint() != null ? null : "The IdP advertises no "
          + "device_authorization_endpoint: enable the OAuth 2.0 device authorization grant at the IdP, or use "
          + "spec.grant: AuthorizationCode with a redirectUri registered for the client";
    }
    if (endpoints.authorizationEndpoint() == null) {
      return "The IdP advertises no authorization_endpoint, which spec.grant AuthorizationCode needs";
    }
    if (!endpoints.pkceS256()) {
      return "The IdP does not advertise PKCE with S256 (code_challenge_methods_supported), which spec.grant "
          + "AuthorizationCode requires (RFC 9700); enable PKCE S256 for the client at the IdP";
    }
    return null;
  }

  /**
   * Whether the operator may read {@code secret} as a client secret: labelled for it, and not one of the operator's
   * own Secrets (token, grant or authorization-response Secrets hold other people's credentials).
   */
  private static boolean readable(Secret secret) {
    if (secret == null) {
      return false;
    }
    Map<String, String> labels = secret.getMetadata().getLabels() == null ? Map.of() : secret.getMetadata().getLabels();
    return "true".equals(labels.get(Constants.CLIENT_SECRET_LABEL))
        && !Constants.MANAGED_BY.equals(labels.get(Constants.MANAGED_BY_LABEL))
        && (secret.getType() == null || !secret.getType().startsWith(Constants.GROUP + "/"));
  }

  private static String secretValue(Secret secret, String key) {
    String value = TokenSecrets.value(secret, key);
    if (value != null) {
      return value.trim();
    }
    return secret.getStringData() == null ? null : secret.getStringData().get(key);
  }
}
