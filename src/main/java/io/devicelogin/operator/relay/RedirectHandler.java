package io.devicelogin.operator.relay;

import io.devicelogin.operator.http.HardenedServer;
import io.devicelogin.operator.idp.RedirectResponse;
import java.io.PrintStream;
import java.util.function.IntConsumer;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Serves the redirect URI's path: a GET whose query is the IdP's sign-in response is forwarded (only {@code code},
 * {@code state}, {@code iss}) and answered with a fixed page saying what the operator made of it. Every request is
 * untrusted: any web page the person visits can make their browser send one. Requests for another path get 404 (from
 * {@link HardenedServer}), another method 405; a request for another host name (DNS rebinding) or one a page makes
 * in the background ({@code Sec-Fetch-Mode} other than {@code navigate}) is not read. One response is handled at a
 * time; the first the operator accepts or refuses, or an IdP error, ends the relay.
 */
final class RedirectHandler implements Request.Handler {

  private static final String PAGE = """
      <!doctype html>
      <html lang="en"><head><meta charset="utf-8"><title>devicelogin relay</title></head>
      <body><p>%s</p></body></html>
      """;
  static final String ACCEPTED = "Signed in. The operator has your sign-in response and finishes the login; you "
      + "can close this page.";
  static final String REFUSED = "The operator refused this sign-in response: it was already used, it expired, or "
      + "it belongs to another login. Start the login again.";
  static final String UNAVAILABLE = "The relay could not hand this sign-in response to the operator right now. "
      + "Reload this page to try again.";
  static final String UNREADABLE = "This is not a sign-in response. The relay keeps waiting for your identity "
      + "provider to send you here.";
  static final String IDP_ERROR = "The identity provider did not sign you in%s. Nothing was sent to the operator; "
      + "start the login again.";
  static final String FINISHED = "This relay has finished. You can close this page.";

  /** An RFC 6749 error code ({@code access_denied}), the only part of an error shown on the page. */
  private static final Pattern ERROR_CODE = Pattern.compile("[a-z_]{1,64}");
  /** What of a state may reach the terminal; anything else is shown as {@code ?}. */
  private static final Pattern STATE_CHARACTER = Pattern.compile("[A-Za-z0-9._~-]");

  private final RelayArguments arguments;
  private final Forwarder forwarder;
  private final PrintStream out;
  private final IntConsumer exit;
  /** Whether a response ended the relay; guarded by {@code this}. */
  private boolean finished;

  /** @param exit called with the exit code once the page that ends the relay is written */
  RedirectHandler(RelayArguments arguments, Forwarder forwarder, PrintStream out, IntConsumer exit) {
    this.arguments = arguments;
    this.forwarder = forwarder;
    this.out = out;
    this.exit = exit;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws InterruptedException {
    if (!arguments.path().equals(request.getHttpURI().getPath())) {
      return false;
    }
    if (!HttpMethod.GET.is(request.getMethod())) {
      response.getHeaders().put(HttpHeader.ALLOW, HttpMethod.GET.asString());
      Response.writeError(request, response, callback, HttpStatus.METHOD_NOT_ALLOWED_405);
      return true;
    }
    if (!arguments.isRedirectHost(request.getHeaders().get(HttpHeader.HOST))) {
      say("ignored a request for another host name (a web page pointing its name at this machine?)");
      Response.writeError(request, response, callback, HttpStatus.MISDIRECTED_REQUEST_421);
      return true;
    }
    String mode = request.getHeaders().get("Sec-Fetch-Mode");
    if (mode != null && !mode.equals("navigate")) {
      say("ignored a request a web page made in the background (the identity provider sends your browser here)");
      Response.writeError(request, response, callback, HttpStatus.FORBIDDEN_403);
      return true;
    }
    RedirectResponse redirect = RedirectResponse.fromQuery(request.getHttpURI().getQuery());
    synchronized (this) {
      if (finished) {
        page(response, HttpStatus.GONE_410, FINISHED, callback);
      } else if (redirect instanceof RedirectResponse.Code code) {
        forward(code, response, callback);
      } else if (redirect instanceof RedirectResponse.Error error) {
        say("the identity provider sent an error instead of a sign-in response: " + error.error()
            + (error.description() == null || error.description().isEmpty() ? "" : " (" + error.description() + ")")
            + "; nothing was forwarded");
        String shown = ERROR_CODE.matcher(error.error()).matches() ? " (" + error.error() + ")" : "";
        end(Relay.NOT_ACCEPTED, response, HttpStatus.BAD_REQUEST_400, IDP_ERROR.formatted(shown), callback);
      } else {
        say("ignored a request to " + arguments.path() + " that is not a sign-in response ("
            + ((RedirectResponse.Unreadable) redirect).why() + ")");
        page(response, HttpStatus.BAD_REQUEST_400, UNREADABLE, callback);
      }
    }
    return true;
  }

  private void forward(RedirectResponse.Code code, Response response, Callback callback) throws InterruptedException {
    Forwarder.Result result = forwarder.forward(code);
    String what = "received a sign-in response for state " + statePrefix(code.state()) + ", forwarded to "
        + arguments.callback() + ": ";
    switch (result.verdict()) {
      case ACCEPTED -> {
        say(what + "accepted");
        end(Relay.ACCEPTED, response, HttpStatus.OK_200, ACCEPTED, callback);
      }
      case REFUSED -> {
        say(what + "refused (" + result.detail() + ")");
        end(Relay.NOT_ACCEPTED, response, HttpStatus.BAD_REQUEST_400, REFUSED, callback);
      }
      case UNAVAILABLE -> {
        say(what + "the operator could not take it (" + result.detail()
            + "); reload the page in your browser to send it again");
        page(response, HttpStatus.BAD_GATEWAY_502, UNAVAILABLE, callback);
      }
    }
  }

  /** Writes the page that ends the relay, then hands over the exit code. */
  private void end(int exitCode, Response response, int status, String text, Callback callback) {
    finished = true;
    page(response, status, text, Callback.from(callback, () -> exit.accept(exitCode)));
  }

  /** A fixed page with the headers every browser-facing page carries: not stored, loads nothing, sends no referrer. */
  private static void page(Response response, int status, String text, Callback callback) {
    HardenedServer.browserPageHeaders(response, "default-src 'none'");
    HardenedServer.respond(response, status, "text/html; charset=utf-8", PAGE.formatted(text), callback);
  }

  /** The state's first 8 characters, enough to match it with a login; characters a terminal could act on are not. */
  static String statePrefix(String state) {
    StringBuilder shown = new StringBuilder();
    for (int i = 0; i < Math.min(8, state.length()); i++) {
      String c = String.valueOf(state.charAt(i));
      shown.append(STATE_CHARACTER.matcher(c).matches() ? c : "?");
    }
    return state.length() > 8 ? shown + "..." : shown.toString();
  }

  private void say(String line) {
    out.println("devicelogin-relay: " + line);
  }
}
