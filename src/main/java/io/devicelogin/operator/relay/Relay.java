package io.devicelogin.operator.relay;

import io.devicelogin.operator.http.HardenedServer;
import io.devicelogin.operator.idp.RedirectResponse;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * {@code java -jar devicelogin-relay.jar --redirect-uri http://localhost:8000/ --callback https://…/callback}: the
 * local relay (API.md, logins without the device grant, channel 3). A person runs it on their own machine, where the
 * IdP sends the browser after sign-in; it listens only on the redirect URI's loopback address, forwards the
 * response's {@code code}, {@code state} and {@code iss} to the operator's callback and says on stdout and in the
 * browser whether the operator accepted them. It never prints or shows the code.
 *
 * <p>Exit codes: {@value #ACCEPTED} when the operator accepted a response, {@value #NOT_ACCEPTED} when it refused it,
 * the IdP sent an error, the relay could not listen, or no response came within {@code --timeout};
 * {@value #BAD_ARGUMENT} for a bad command line.
 */
public final class Relay {

  static final int ACCEPTED = 0;
  static final int NOT_ACCEPTED = 1;
  static final int BAD_ARGUMENT = 2;

  static final String USAGE = """
      Usage: java -jar devicelogin-relay.jar --redirect-uri URI --callback URL [--timeout DURATION] [--insecure-http]

      Waits on this machine for your browser to arrive at the redirect URI after you sign in at the identity
      provider, and forwards only the sign-in response's code, state and iss to the devicelogin operator's
      callback. Nothing else of the request (headers, cookies, other parameters) leaves this machine.

        --redirect-uri URI   the identity provider's redirectUri, e.g. http://localhost:8000/ (host localhost,
                             127.0.0.1 or [::1]); the relay listens only there
        --callback URL       the operator's callback endpoint, e.g. https://login.example.com/callback
        --timeout DURATION   give up after this long, e.g. 90s, 10m, 1h (default 10m, a login's lifetime)
        --insecure-http      allow an http:// callback on another machine (the code crosses the network in
                             clear text)

      Exit codes: 0 the operator accepted the sign-in response; 1 it did not (refused, the identity provider
      sent an error, or nothing arrived in time); 2 bad arguments.
      """;

  private Relay() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out));
  }

  /** Runs the relay until it is done; returns the exit code. */
  public static int run(String[] args, PrintStream out) {
    if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
      out.print(USAGE);
      return 0;
    }
    RelayArguments arguments;
    try {
      arguments = RelayArguments.parse(args);
    } catch (RelayArguments.Invalid e) {
      out.println("devicelogin-relay: " + e.getMessage() + " (see --help)");
      return BAD_ARGUMENT;
    }
    BlockingQueue<Integer> exitCode = new ArrayBlockingQueue<>(1);
    RedirectHandler handler = new RedirectHandler(arguments, new Forwarder(arguments.callback()), out, exitCode::add);
    HardenedServer server;
    try {
      server = HardenedServer.start("relay", arguments.bindAddress(), arguments.port(), HardenedServer.Limits.DEFAULT,
          handler);
    } catch (IOException e) {
      out.println("devicelogin-relay: cannot listen on " + arguments.redirectUri() + " (" + e.getMessage()
          + "; is another program using port " + arguments.port() + "?)");
      return NOT_ACCEPTED;
    }
    try (server) {
      out.println("devicelogin-relay: waiting at " + arguments.redirectUri() + " (only on " + arguments.bindAddress()
          + ") for your sign-in response, to forward it to " + arguments.callback() + "; giving up in "
          + RelayArguments.describe(arguments.timeout()));
      out.println("devicelogin-relay: open the login's authorization URL (status.authorizationUrl) in a browser on "
          + "this machine and sign in");
      Integer code = exitCode.poll(arguments.timeout().toMillis(), TimeUnit.MILLISECONDS);
      if (code == null) {
        out.println("devicelogin-relay: gave up, no sign-in response arrived within "
            + RelayArguments.describe(arguments.timeout()));
        return NOT_ACCEPTED;
      }
      return code;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return NOT_ACCEPTED;
    }
  }
}
