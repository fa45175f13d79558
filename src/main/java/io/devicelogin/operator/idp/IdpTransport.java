package io.devicelogin.operator.idp;

import static io.devicelogin.operator.idp.NimbusIdentityProviderClient.CACHE_ENTRIES;
import static io.devicelogin.operator.idp.NimbusIdentityProviderClient.VALIDATOR_TTL;

import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import io.devicelogin.operator.messages.Messages;
import io.devicelogin.operator.metrics.OperatorMetrics;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.URL;
import java.time.Clock;
import java.time.Duration;
import javax.net.ssl.SSLSocketFactory;

/**
 * Sends one request to an IdP endpoint within the provider owner's fair share, the egress guard, the provider's TLS
 * trust and the time and size bounds, and words why it failed. It never reads an answer's content and never quotes
 * its body or headers.
 */
final class IdpTransport {

  private final Duration connectTimeout;
  private final Duration readTimeout;
  private final Duration deadline;
  private final OperatorMetrics metrics;
  private final EgressGuard guard;
  private final CallLimiter limiter;
  private final TlsTrust tls;

  IdpTransport(Duration connectTimeout, Duration readTimeout, OperatorMetrics metrics, Clock clock, EgressGuard guard,
      CallLimiter limiter) {
    this.connectTimeout = connectTimeout;
    this.readTimeout = readTimeout;
    this.deadline = connectTimeout.plus(readTimeout);
    this.metrics = metrics;
    this.guard = guard;
    this.limiter = limiter;
    this.tls = new TlsTrust(guard, CACHE_ENTRIES, VALIDATOR_TTL, clock);
  }

  /** The bound on one whole exchange with the IdP (connect, send, status line, headers, body): connect + read timeout. */
  Duration deadline() {
    return deadline;
  }

  /** How many caBundles' TLS trust is cached now. */
  int cachedBundles() {
    return tls.cachedBundles();
  }

  /**
   * The sender for one request to {@code url}: a namespaced provider's requests are held to the {@link EgressGuard}
   * (unless it denies nothing), a ClusterIdentityProvider's are not.
   */
  BoundedHttpSender sender(ProviderConfig provider, URL url) throws IdpException {
    boolean guarded = provider.namespaced() && !guard.deniesNothing();
    SSLSocketFactory factory = "https".equalsIgnoreCase(url.getProtocol())
        ? tls.socketFactory(provider.caBundle(), guarded)
        : null;
    return new BoundedHttpSender(connectTimeout, readTimeout, deadline, factory, guarded ? guard : null);
  }

  /**
   * Sends one request. Messages name the endpoint and what failed, never the answer's body or headers.
   *
   * @param endpoint the endpoint's metric label: discovery, device_authorization, token, refresh or revocation
   */
  HTTPResponse send(String endpoint, HTTPRequest request, ProviderConfig provider) throws IdpException {
    // "refresh" is a metric label, not an endpoint; messages say "device authorization" like the other messages
    String name = (endpoint.equals("refresh") ? "token" : endpoint).replace('_', ' ');
    URL target = request.getURL();
    HTTPResponse response;
    CallLimiter.Permit permit = permit(endpoint, provider);
    try (permit) {
      response = request.send(sender(provider, target));
    } catch (IOException e) {
      if (notAllowed(e)) {
        throw new IdpException(IdpException.Kind.NOT_ALLOWED, notAllowedMessage("the " + name + " endpoint"));
      }
      if (e instanceof javax.net.ssl.SSLException) {
        metrics.idpRequest(endpoint, "invalid");
        throw new IdpException(
            IdpException.Kind.REJECTED,
            "TLS with the " + name + " endpoint " + target + " failed (" + Messages.fromIdp(e.getMessage())
                + "); if the IdP's certificate comes from a private CA, put that CA in spec.caBundle");
      }
      metrics.idpRequest(endpoint, "unavailable");
      throw new IdpException(IdpException.Kind.UNAVAILABLE, failure(name + " endpoint " + target, e));
    }
    IdpAnswers.readJsonAsJson(response);
    return response;
  }

  /** A place in the provider owner's fair share of requests in flight ({@link CallLimiter}); counted when refused. */
  CallLimiter.Permit permit(String endpoint, ProviderConfig provider) throws IdpException {
    try {
      return limiter.acquire(provider);
    } catch (IdpException busy) {
      metrics.idpRequest(endpoint, "deferred");
      throw busy;
    }
  }

  /** Whether the guard refused the connection (the JDK may wrap or copy the exception). */
  static boolean notAllowed(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof EgressGuard.EndpointNotAllowedException) {
        return true;
      }
    }
    return false;
  }

  static String notAllowedMessage(String endpoint) {
    return endpoint + "'s host resolves to an address in IDP_DENIED_CIDRS (loopback, link-local and similar "
        + "addresses by default), which the operator does not contact for a namespaced IdentityProvider; nothing was "
        + "sent to it. Use the IdP's public or cluster address, or ask the cluster admin for a "
        + "ClusterIdentityProvider";
  }

  /** Why an exchange failed, for a message: bounds by name, other I/O errors by type. */
  String failure(String what, IOException e) {
    if (e instanceof BoundedHttpSender.ResponseTooLargeException
        || e instanceof BoundedHttpSender.DeadlineExceededException
        || e instanceof BoundedHttpSender.TruncatedResponseException) {
      return what + ": " + e.getMessage();
    }
    if (e instanceof SocketTimeoutException) {
      boolean connect = e.getMessage() != null && e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("connect");
      return "cannot reach " + what + ": " + (connect
          ? "no connection within " + BoundedHttpSender.show(connectTimeout) + " (connect timeout)"
          : "no answer within " + BoundedHttpSender.show(readTimeout) + " (read timeout)");
    }
    return "cannot reach " + what + ": " + e.getClass().getSimpleName()
        + (e.getMessage() == null ? "" : ": " + Messages.fromIdp(e.getMessage()));
  }
}
