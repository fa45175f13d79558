package io.devicelogin.operator.idp;

import static io.devicelogin.operator.idp.NimbusIdentityProviderClient.CACHE_ENTRIES;
import static io.devicelogin.operator.idp.NimbusIdentityProviderClient.DISCOVERY_BACKOFF;
import static io.devicelogin.operator.idp.NimbusIdentityProviderClient.DISCOVERY_TTL;
import static io.devicelogin.operator.idp.NimbusIdentityProviderClient.MAX_DISCOVERY_BACKOFF;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.auth.ClientAuthenticationMethod;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import io.devicelogin.operator.messages.Messages;
import io.devicelogin.operator.metrics.OperatorMetrics;
import java.net.URI;
import java.net.URL;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A provider's endpoints from its OIDC discovery document: fetched and checked with Nimbus, cached, a failure
 * remembered with back-off, one fetch at a time per provider. It only ever sends the metadata request, never a
 * credential.
 */
final class ProviderDiscovery {

  private static final Set<JWSAlgorithm> ASYMMETRIC = new LinkedHashSet<>();

  static {
    ASYMMETRIC.addAll(JWSAlgorithm.Family.RSA);
    ASYMMETRIC.addAll(JWSAlgorithm.Family.EC);
    ASYMMETRIC.addAll(JWSAlgorithm.Family.ED);
  }

  private final IdpTransport transport;
  private final OperatorMetrics metrics;
  private final Clock clock;
  private final BoundedCache<Discovery> discovered;
  /** Discoveries under way, by cache key: a provider's discovery is fetched by one thread at a time. */
  private final Map<String, CompletableFuture<ProviderEndpoints>> discovering = new ConcurrentHashMap<>();

  /** What discovery gave for one provider: endpoints, or a failure remembered for a back-off period. */
  private sealed interface Discovery {
    record Found(ProviderEndpoints endpoints) implements Discovery {}

    record Failed(IdpException.Kind kind, String message, Instant at, int failures) implements Discovery {

      /** When discovery may be tried again: a forced refresh after the first period, else after the back-off. */
      Instant retryAt(boolean forced) {
        if (forced) {
          return at.plus(DISCOVERY_BACKOFF);
        }
        Duration backoff = DISCOVERY_BACKOFF.multipliedBy(1L << Math.min(failures - 1, 10));
        return at.plus(backoff.compareTo(MAX_DISCOVERY_BACKOFF) > 0 ? MAX_DISCOVERY_BACKOFF : backoff);
      }
    }
  }

  ProviderDiscovery(IdpTransport transport, OperatorMetrics metrics, Clock clock) {
    this.transport = transport;
    this.metrics = metrics;
    this.clock = clock;
    this.discovered = new BoundedCache<>(CACHE_ENTRIES, DISCOVERY_TTL, clock);
  }

  /** How many discoveries (found or failed) are cached now. */
  int cacheSize() {
    return discovered.size();
  }

  /** The provider's endpoints, cached as {@link NimbusIdentityProviderClient#discover} describes. */
  ProviderEndpoints discover(ProviderConfig provider, boolean forceRefresh) throws IdpException {
    String key = BoundedCache.key(
        "discovery", provider.issuer().toString(), provider.caBundle(), String.valueOf(provider.namespaced()));
    Discovery cached = discovered.get(key);
    Instant now = clock.instant();
    if (!forceRefresh && cached instanceof Discovery.Found found) {
      return found.endpoints();
    }
    if (cached instanceof Discovery.Failed failed && now.isBefore(failed.retryAt(forceRefresh))) {
      throw new IdpException(failed.kind(), failed.message());
    }
    CompletableFuture<ProviderEndpoints> mine = new CompletableFuture<>();
    CompletableFuture<ProviderEndpoints> running = discovering.putIfAbsent(key, mine);
    if (running != null) {
      // a waiting thread is held like one sending: it takes a place of the provider's fair share
      try (CallLimiter.Permit permit = transport.permit("discovery", provider)) {
        return awaitDiscovery(running);
      }
    }
    try {
      ProviderEndpoints endpoints = fetchDiscovery(provider);
      discovered.put(key, new Discovery.Found(endpoints));
      mine.complete(endpoints);
      return endpoints;
    } catch (IdpException e) {
      if (!(cached instanceof Discovery.Found)) {
        int failures = cached instanceof Discovery.Failed failed ? failed.failures() + 1 : 1;
        discovered.put(key, new Discovery.Failed(e.kind(), e.getMessage(), now, failures));
      }
      mine.completeExceptionally(e);
      throw e;
    } catch (RuntimeException e) {
      mine.completeExceptionally(e);
      throw e;
    } finally {
      discovering.remove(key, mine);
    }
  }

  /** The result of another thread's discovery of the same provider. */
  private ProviderEndpoints awaitDiscovery(CompletableFuture<ProviderEndpoints> running) throws IdpException {
    try {
      return running.get(transport.deadline().plusSeconds(1).toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IdpException failed) {
        throw new IdpException(failed.kind(), failed.getMessage());
      }
      throw new IdpException(
          IdpException.Kind.UNAVAILABLE, "discovery failed: " + e.getCause().getClass().getSimpleName());
    } catch (TimeoutException e) {
      throw new IdpException(IdpException.Kind.UNAVAILABLE, "discovery did not complete within "
          + BoundedHttpSender.show(transport.deadline()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IdpException(IdpException.Kind.UNAVAILABLE, "interrupted while waiting for discovery");
    }
  }

  private ProviderEndpoints fetchDiscovery(ProviderConfig provider) throws IdpException {
    Issuer issuer = new Issuer(provider.issuer());
    URL url;
    try {
      url = OIDCProviderMetadata.resolveURL(issuer);
    } catch (com.nimbusds.oauth2.sdk.GeneralException e) {
      throw new IdpException(IdpException.Kind.REJECTED, "issuerUrl is not a valid URL: " + e.getMessage(), e);
    }
    HTTPResponse response = transport.send("discovery", new HTTPRequest(HTTPRequest.Method.GET, url), provider);
    if (response.getStatusCode() >= 500) {
      metrics.idpRequest("discovery", "unavailable");
      throw new IdpException(
          IdpException.Kind.UNAVAILABLE, "discovery at " + url + " answered HTTP " + response.getStatusCode());
    }
    if (response.getStatusCode() != 200) {
      metrics.idpRequest("discovery", "invalid");
      throw new IdpException(
          IdpException.Kind.REJECTED,
          "discovery at " + url + " answered HTTP " + response.getStatusCode() + "; check issuerUrl");
    }
    net.minidev.json.JSONObject json;
    try {
      json = response.getBodyAsJSONObject();
    } catch (ParseException e) {
      metrics.idpRequest("discovery", "invalid");
      throw new IdpException(IdpException.Kind.REJECTED, url + " is not a valid OIDC discovery document: its answer "
          + "is not a JSON object; check issuerUrl");
    }
    OIDCProviderMetadata metadata;
    try {
      metadata = OIDCProviderMetadata.parse(json);
    } catch (ParseException e) {
      metrics.idpRequest("discovery", "invalid");
      throw new IdpException(IdpException.Kind.REJECTED, url + " is not a valid OIDC discovery document: a required "
          + "member (issuer, jwks_uri, response_types_supported, subject_types_supported, "
          + "id_token_signing_alg_values_supported) is missing or malformed");
    }
    if (!issuer.equals(metadata.getIssuer())) {
      metrics.idpRequest("discovery", "invalid");
      throw new IdpException(
          IdpException.Kind.REJECTED,
          "discovery document at " + url + " names issuer " + Messages.fromIdp(metadata.getIssuer().getValue())
              + ", not " + issuer + "; set issuerUrl to exactly the IdP's issuer");
    }
    if (metadata.getTokenEndpointURI() == null || metadata.getJWKSetURI() == null) {
      metrics.idpRequest("discovery", "invalid");
      throw new IdpException(
          IdpException.Kind.REJECTED, "the discovery document at " + url + " lacks token_endpoint or jwks_uri");
    }
    if (provider.namespaced()) {
      String elsewhere = offOrigin(provider.issuer(), Map.of(
          "device authorization",
          Objects.requireNonNullElse(metadata.getDeviceAuthorizationEndpointURI(), provider.issuer()),
          "authorization", Objects.requireNonNullElse(metadata.getAuthorizationEndpointURI(), provider.issuer()),
          "token", metadata.getTokenEndpointURI(),
          "JWKS", metadata.getJWKSetURI(),
          "revocation", Objects.requireNonNullElse(metadata.getRevocationEndpointURI(), provider.issuer())));
      if (elsewhere != null) {
        metrics.idpRequest("discovery", "invalid");
        throw new IdpException(IdpException.Kind.NOT_ALLOWED, "the discovery document puts the " + elsewhere
            + " endpoint on another origin (scheme, host and port) than issuerUrl; a namespaced IdentityProvider's "
            + "endpoints must all be on its issuer's origin, so the operator does not use it. An IdP that needs "
            + "other origins can be set up by the cluster admin as a ClusterIdentityProvider");
      }
    }
    metrics.idpRequest("discovery", "success");
    return new ProviderEndpoints(
        provider.issuer(),
        metadata.getDeviceAuthorizationEndpointURI(),
        metadata.getTokenEndpointURI(),
        metadata.getJWKSetURI(),
        metadata.getRevocationEndpointURI(),
        idTokenAlgorithms(metadata.getIDTokenJWSAlgs()),
        clientSecretPost(metadata.getTokenEndpointAuthMethods()),
        metadata.getAuthorizationEndpointURI(),
        metadata.getCodeChallengeMethods() != null
            && metadata.getCodeChallengeMethods().contains(CodeChallengeMethod.S256),
        metadata.supportsAuthorizationResponseIssuerParam());
  }

  /** The first endpoint (by kind) not on the issuer's origin, or null when all are. */
  private static String offOrigin(URI issuer, Map<String, URI> endpoints) {
    for (String kind : List.of("device authorization", "authorization", "token", "JWKS", "revocation")) {
      URI endpoint = endpoints.get(kind);
      if (!origin(endpoint).equals(origin(issuer))) {
        return kind;
      }
    }
    return null;
  }

  /** scheme://host:port, lower case, with the scheme's default port when none is given. */
  private static String origin(URI uri) {
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
    int port = uri.getPort() >= 0 ? uri.getPort() : scheme.equals("https") ? 443 : scheme.equals("http") ? 80 : -1;
    String host = uri.getHost() == null ? "" : uri.getHost().toLowerCase(java.util.Locale.ROOT);
    return scheme + "://" + host + ":" + port;
  }

  private static Set<JWSAlgorithm> idTokenAlgorithms(List<JWSAlgorithm> advertised) {
    Set<JWSAlgorithm> algorithms = new LinkedHashSet<>();
    if (advertised != null) {
      advertised.stream().filter(ASYMMETRIC::contains).forEach(algorithms::add);
    }
    if (algorithms.isEmpty()) {
      algorithms.add(JWSAlgorithm.RS256);
    }
    return Set.copyOf(algorithms);
  }

  private static boolean clientSecretPost(List<ClientAuthenticationMethod> methods) {
    return methods != null
        && !methods.isEmpty()
        && !methods.contains(ClientAuthenticationMethod.CLIENT_SECRET_BASIC)
        && methods.contains(ClientAuthenticationMethod.CLIENT_SECRET_POST);
  }
}
