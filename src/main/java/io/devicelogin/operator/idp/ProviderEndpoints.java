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
 */
public record ProviderEndpoints(
    URI issuer,
    URI deviceAuthorizationEndpoint,
    URI tokenEndpoint,
    URI jwksUri,
    URI revocationEndpoint,
    Set<JWSAlgorithm> idTokenAlgorithms,
    boolean clientSecretPost) {}
