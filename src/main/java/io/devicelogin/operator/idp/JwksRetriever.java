package io.devicelogin.operator.idp;

import com.nimbusds.jose.util.Resource;
import com.nimbusds.jose.util.ResourceRetriever;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import io.devicelogin.operator.metrics.OperatorMetrics;
import java.io.IOException;
import java.net.URL;

/**
 * Fetches a provider's JWKS for Nimbus through the bounded sender (bounded like every other IdP answer, within the
 * fair share) and counts the fetches. It hands the key set to Nimbus unread and never quotes it in a message.
 */
final class JwksRetriever implements ResourceRetriever {

  private final IdpTransport transport;
  private final BoundedHttpSender sender;
  private final ProviderConfig provider;
  private final OperatorMetrics metrics;

  JwksRetriever(IdpTransport transport, BoundedHttpSender sender, ProviderConfig provider, OperatorMetrics metrics) {
    this.transport = transport;
    this.sender = sender;
    this.provider = provider;
    this.metrics = metrics;
  }

  @Override
  public Resource retrieveResource(URL url) throws IOException {
    HTTPResponse response;
    CallLimiter.Permit permit;
    try {
      permit = transport.permit("jwks", provider);
    } catch (IdpException busy) {
      throw new IOException(busy.getMessage(), busy);
    }
    try (permit) {
      response = new HTTPRequest(HTTPRequest.Method.GET, url).send(sender);
    } catch (IOException e) {
      if (IdpTransport.notAllowed(e)) {
        throw new IOException(IdpTransport.notAllowedMessage("the JWKS endpoint"), e);
      }
      metrics.idpRequest("jwks", "unavailable");
      throw new IOException(transport.failure("the JWKS endpoint", e), e);
    }
    if (response.getStatusCode() != 200) {
      metrics.idpRequest("jwks", "unavailable");
      throw new IOException("the JWKS endpoint answered HTTP " + response.getStatusCode());
    }
    metrics.idpRequest("jwks", "success");
    String body = response.getBody();
    return new Resource(body == null ? "" : body, response.getHeaderValue("Content-Type"));
  }
}
