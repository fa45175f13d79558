package io.devicelogin.operator.relay;

import com.nimbusds.oauth2.sdk.AuthorizationCode;
import com.nimbusds.oauth2.sdk.AuthorizationSuccessResponse;
import com.nimbusds.oauth2.sdk.ResponseMode;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.oauth2.sdk.id.State;
import io.devicelogin.operator.idp.RedirectResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import javax.net.ssl.SSLException;

/**
 * Sends a sign-in response to the operator's callback: a GET whose query is the response's {@code code},
 * {@code state} and {@code iss}, re-encoded, and nothing of the request that brought them (no header, cookie or other
 * parameter). Redirects are not followed; the answer's body is not read.
 */
final class Forwarder {

  /** How the operator's callback answered. */
  enum Verdict {
    /** 2xx: the operator stored the response with its login. */
    ACCEPTED,
    /** Another 4xx, a 3xx or 1xx: the operator will not take it (unknown, used or expired state; wrong iss). */
    REFUSED,
    /** 429, 5xx or no answer: nothing was stored; the same response may be sent again. */
    UNAVAILABLE
  }

  /** What the callback answered, for the person: {@code detail} names the status or failure, never a URL. */
  record Result(Verdict verdict, String detail) {}

  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(30);

  private final URI callback;
  private final HttpClient http;

  Forwarder(URI callback) {
    this.callback = callback;
    // no cookie handler, no authenticator, no redirects; the JVM's proxy settings (https.proxyHost...) apply
    this.http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(CONNECT_TIMEOUT)
        .proxy(ProxySelector.getDefault())
        .build();
  }

  Result forward(RedirectResponse.Code response) throws InterruptedException {
    URI target = new AuthorizationSuccessResponse(callback, new AuthorizationCode(response.code()), null,
        new State(response.state()), response.issuer() == null ? null : new Issuer(response.issuer()),
        ResponseMode.QUERY).toURI();
    HttpRequest request = HttpRequest.newBuilder(target)
        .GET()
        .timeout(ANSWER_TIMEOUT)
        .header("User-Agent", "devicelogin-relay")
        .build();
    int status;
    try {
      HttpResponse<InputStream> answer = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
      // only the status matters: the page is for a browser, and reading it could take as long as the server likes
      answer.body().close();
      status = answer.statusCode();
    } catch (IOException e) {
      // the exception's message may quote the request: only its kind is shown
      return new Result(Verdict.UNAVAILABLE, failure(e));
    }
    if (status >= 200 && status < 300) {
      return new Result(Verdict.ACCEPTED, "HTTP " + status);
    }
    if (status == 429 || status >= 500) {
      return new Result(Verdict.UNAVAILABLE, "HTTP " + status);
    }
    return new Result(Verdict.REFUSED, "HTTP " + status);
  }

  private static String failure(IOException e) {
    if (e instanceof HttpConnectTimeoutException) {
      return "no connection within " + CONNECT_TIMEOUT.toSeconds() + " s";
    }
    if (e instanceof HttpTimeoutException) {
      return "no answer within " + ANSWER_TIMEOUT.toSeconds() + " s";
    }
    if (e instanceof ConnectException) {
      return "could not connect";
    }
    if (e instanceof SSLException) {
      return "TLS failed (does this Java trust the callback's certificate?)";
    }
    return "the connection failed (" + e.getClass().getSimpleName() + ")";
  }
}
