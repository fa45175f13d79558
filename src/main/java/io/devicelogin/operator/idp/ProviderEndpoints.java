package io.devicelogin.operator.idp;

import com.nimbusds.jose.JWSAlgorithm;
import java.net.URI;
import java.util.Set;

/**
 * The parts of an IdP's discovery document the operator uses.
 *
 * @param revocationEndpoint RFC 7009 endpoint, or null when the IdP advertises none
 * @param idTokenAlgorithms asymmetric algorithms the IdP signs ID tokens with
 * @param clientSecretPost whether a confidential client must send its secret in the form (client_secret_post)
 *     because the IdP does not support HTTP Basic
 * @param deviceAuthorizationEndpoint RFC 8628 endpoint, or null when the IdP advertises none
 * @param authorizationEndpoint where a person's browser is sent for the authorization code grant, or null
 * @param pkceS256 whether the IdP advertises PKCE with S256 ({@code code_challenge_methods_supported})
 * @param issParameter whether the IdP says it sends {@code iss} in its authorization responses (RFC 9207): then a
 *     response without it is refused
 */
public record ProviderEndpoints(
    URI issuer,
    URI deviceAuthorizationEndpoint,
    URI tokenEndpoint,
    URI jwksUri,
    URI revocationEndpoint,
    Set<JWSAlgorithm> idTokenAlgorithms,
    boolean clientSecretPost,
    URI authorizationEndpoint,
    boolean pkceS256,
    boolean issParameter) {}
