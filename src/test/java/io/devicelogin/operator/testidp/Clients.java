package io.devicelogin.operator.testidp;

import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.auth.ClientAuthentication;
import com.nimbusds.oauth2.sdk.auth.PlainClientSecret;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.util.MultivaluedMapUtils;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The confidential clients of a {@link FakeIdp} and client authentication (RFC 6749 section 2.3):
 * {@code client_secret_basic} or {@code client_secret_post} for a client with a secret, a bare
 * {@code client_id} for any other (public) client. Thread-safe.
 */
final class Clients {

  private final Map<String, Secret> secrets = new ConcurrentHashMap<>();

  void requireSecret(String clientId, String secret) {
    secrets.put(clientId, new Secret(secret));
  }

  /** The id of the client that sent the request, empty if it failed to identify or authenticate. */
  Optional<String> authenticate(HTTPRequest request, Map<String, List<String>> form) {
    ClientAuthentication authentication;
    try {
      authentication = ClientAuthentication.parse(request);
    } catch (ParseException e) {
      return Optional.empty();
    }
    String formClientId = MultivaluedMapUtils.getFirstValue(form, "client_id");
    String clientId = authentication != null ? authentication.getClientID().getValue() : formClientId;
    if (clientId == null || formClientId != null && !formClientId.equals(clientId)) {
      return Optional.empty();
    }
    Secret expected = secrets.get(clientId);
    if (expected == null) {
      return Optional.of(clientId);
    }
    return authentication instanceof PlainClientSecret plain && expected.equals(plain.getClientSecret())
        ? Optional.of(clientId)
        : Optional.empty();
  }
}
