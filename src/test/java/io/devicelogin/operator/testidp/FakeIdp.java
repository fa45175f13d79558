package io.devicelogin.operator.testidp;

import com.nimbusds.common.contenttype.ContentType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.oauth2.sdk.AccessTokenResponse;
import com.nimbusds.oauth2.sdk.AuthorizationCode;
import com.nimbusds.oauth2.sdk.AuthorizationErrorResponse;
import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.GrantType;
import com.nimbusds.oauth2.sdk.OAuth2Error;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.ResponseMode;
import com.nimbusds.oauth2.sdk.ResponseType;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.auth.ClientAuthenticationMethod;
import com.nimbusds.oauth2.sdk.device.DeviceAuthorizationSuccessResponse;
import com.nimbusds.oauth2.sdk.device.DeviceCode;
import com.nimbusds.oauth2.sdk.device.UserCode;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.token.RefreshToken;
import com.nimbusds.oauth2.sdk.util.MultivaluedMapUtils;
import com.nimbusds.openid.connect.sdk.AuthenticationRequest;
import com.nimbusds.openid.connect.sdk.AuthenticationSuccessResponse;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponse;
import com.nimbusds.openid.connect.sdk.SubjectType;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A scripted OpenID Connect provider for integration tests: a real HTTP server on 127.0.0.1 that
 * runs the device authorization grant (RFC 8628), the authorization code grant with PKCE S256 (RFC
 * 6749 section 4.1, RFC 7636, RFC 9207's {@code iss}; the person's browser is {@link #signIn}),
 * refresh token rotation and token revocation (RFC 7009), and signs its ID tokens (RS256). The issuer is {@code http://127.0.0.1:<port>/realms/test};
 * all endpoints live under it and are announced by discovery.
 *
 * <pre>{@code
 * try (FakeIdp idp = FakeIdp.start().interval(1)) {
 *   // ... point the operator at idp.issuer(), let it start a login ...
 *   idp.lastLogin().approve(Claims.user("alice").groups("dev"));
 *   // ... assert on the Secret, on idp.lastLogin().tooEarlyPolls(), ...
 * }
 * }</pre>
 *
 * <p>What happens to one device code is scripted on its {@link Login}; everything else on this
 * class. Every request is recorded ({@link #requests()}). Thread-safe.
 */
public final class FakeIdp implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(FakeIdp.class);

  private static final String ISSUER_PATH = "/realms/test";
  private static final String DISCOVERY_PATH = "/.well-known/openid-configuration";
  private static final String AUTHORIZATION_PATH = "/protocol/openid-connect/auth";
  private static final String DEVICE_AUTHORIZATION_PATH = "/protocol/openid-connect/auth/device";
  private static final String TOKEN_PATH = "/protocol/openid-connect/token";
  private static final String JWKS_PATH = "/protocol/openid-connect/certs";
  private static final String REVOCATION_PATH = "/protocol/openid-connect/revoke";
  private static final String VERIFICATION_PATH = "/device";

  /** RFC 8628 section 6.1: consonants only, so no words can be spelt. */
  private static final String USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ";

  private static final SecureRandom RANDOM = new SecureRandom();

  static {
    // The JDK server writes a response's headers and body separately; with Nagle's algorithm the
    // body then waits for the client's delayed ACK, 40 ms per response on a kept-alive connection.
    // Read once per JVM, when the first HttpServer starts.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  private final ExecutorService executor =
      Executors.newCachedThreadPool(
          task -> {
            Thread thread = new Thread(task, "fake-idp");
            thread.setDaemon(true);
            return thread;
          });
  private final int port;
  private final String issuer;
  private final String wrongIssuer;
  private final TokenFactory tokenFactory;
  private final Clients clients = new Clients();
  private final RefreshTokens refreshTokens = new RefreshTokens();
  private final Map<String, Login> loginsByDeviceCode = new ConcurrentHashMap<>();
  private final List<Login> logins = new CopyOnWriteArrayList<>();
  private final List<RecordedRequest> requests = new CopyOnWriteArrayList<>();
  private final Queue<Outcome> deviceAuthorizationScript = new ConcurrentLinkedQueue<>();
  private final List<String> revokedTokens = new CopyOnWriteArrayList<>();
  private final AtomicInteger revocationCount = new AtomicInteger();
  private final List<SignIn> signIns = new CopyOnWriteArrayList<>();
  private final Map<String, SignIn> signInsByCode = new ConcurrentHashMap<>();
  private final Queue<Outcome> codeExchangeScript = new ConcurrentLinkedQueue<>();

  private volatile DiscoveryMode discoveryMode = DiscoveryMode.NORMAL;
  private volatile int expiresIn = 600;
  private volatile int interval = 5;
  private volatile int tokenLifetime = 300;
  private volatile int refreshedTokenLifetime;
  private volatile java.util.function.ToIntFunction<String> expiresInByScope;
  private volatile boolean enforceSlowDown;
  private volatile boolean signWithUnpublishedKey;
  private volatile boolean failRevocation;
  private volatile Duration delay = Duration.ZERO;
  private volatile Interceptor interceptor = (request, proceed) -> proceed.get();
  private volatile boolean pkceS256 = true;
  private volatile boolean issParameter = true;
  private volatile ResponseIss responseIss = ResponseIss.CORRECT;
  private volatile List<String> redirectUris = List.of();
  private volatile CountDownLatch codeExchangeHold;
  private volatile IdpProfile profile;

  private HttpServer server;

  private FakeIdp(int advertisedPort) {
    server = bind(0);
    port = server.getAddress().getPort();
    issuer = "http://127.0.0.1:" + (advertisedPort < 0 ? port : advertisedPort) + ISSUER_PATH;
    wrongIssuer = issuer + "-other";
    tokenFactory = new TokenFactory(issuer, wrongIssuer);
  }

  /** Starts a fake IdP on a free port of 127.0.0.1. */
  public static FakeIdp start() {
    return new FakeIdp(-1);
  }

  /**
   * Starts a fake IdP on a free port of 127.0.0.1 behind {@code proxy}: the issuer, every endpoint discovery advertises
   * and the {@code iss} of its tokens name the proxy's port, and the proxy forwards to this IdP.
   */
  public static FakeIdp startBehind(FaultProxy proxy) {
    FakeIdp idp = new FakeIdp(proxy.port());
    proxy.forwardTo(idp.port);
    return idp;
  }

  /** Stops the server for good. */
  @Override
  public void close() {
    down();
    executor.shutdownNow();
  }

  // ---- where things are

  /** The issuer, {@code http://127.0.0.1:<port>/realms/test}. */
  public String issuer() {
    return issuer;
  }

  /** {@code <issuer>/.well-known/openid-configuration}. */
  public URI discoveryUri() {
    return endpoint(DISCOVERY_PATH);
  }

  /** The authorization endpoint announced by discovery, where a person signs in ({@link #signIn}). */
  public URI authorizationEndpoint() {
    return endpoint(AUTHORIZATION_PATH);
  }

  /** The device authorization endpoint announced by discovery. */
  public URI deviceAuthorizationEndpoint() {
    return endpoint(DEVICE_AUTHORIZATION_PATH);
  }

  /** The token endpoint announced by discovery. */
  public URI tokenEndpoint() {
    return endpoint(TOKEN_PATH);
  }

  /** The JWKS endpoint announced by discovery. */
  public URI jwksUri() {
    return endpoint(JWKS_PATH);
  }

  /** The revocation endpoint announced by discovery. */
  public URI revocationEndpoint() {
    return endpoint(REVOCATION_PATH);
  }

  /** The {@code verification_uri} handed out with every user code ({@code <issuer>/device}). */
  public URI verificationUri() {
    return endpoint(VERIFICATION_PATH);
  }

  private URI endpoint(String path) {
    return URI.create(issuer + path);
  }

  // ---- configuration

  /** How discovery answers from now on (default {@link DiscoveryMode#NORMAL}). */
  public FakeIdp discovery(DiscoveryMode mode) {
    discoveryMode = mode;
    return this;
  }

  /**
   * Whether discovery advertises {@code code_challenge_methods_supported: [S256]} (default true); sign-ins check the
   * S256 challenge either way.
   */
  public FakeIdp pkceS256(boolean advertised) {
    pkceS256 = advertised;
    return this;
  }

  /**
   * Whether discovery advertises {@code authorization_response_iss_parameter_supported} (RFC 9207; default true). What
   * the redirects carry is {@link #responseIss}.
   */
  public FakeIdp issParameterSupported(boolean advertised) {
    issParameter = advertised;
    return this;
  }

  /** What the {@code iss} parameter of the redirects {@link #signIn} and {@link #denyAt} build is. */
  public enum ResponseIss {
    /** The issuer (as RFC 9207 says). */
    CORRECT,
    /** Another issuer: a mix-up attack. */
    WRONG,
    /** None. */
    ABSENT
  }

  /** The {@code iss} of redirects built from now on (default {@link ResponseIss#CORRECT}). */
  public FakeIdp responseIss(ResponseIss mode) {
    responseIss = mode;
    return this;
  }

  /** The redirect URIs registered for every client from now on; a sign-in with another one fails (default: any). */
  public FakeIdp registerRedirectUris(String... uris) {
    redirectUris = List.of(uris);
    return this;
  }

  /**
   * Queues answers for the next code exchanges that present a valid code (the code is used up all the same): errors,
   * raw responses, or {@link Outcome.Tokens} (without claims: for the person who signed in).
   */
  public FakeIdp onNextCodeExchange(Outcome... outcomes) {
    codeExchangeScript.addAll(List.of(outcomes));
    return this;
  }

  /**
   * Holds the answers of code exchanges from now on, after processing them (the code is used up and the tokens are
   * made) until {@link #releaseCodeExchanges()} (or a minute): a token endpoint that hangs.
   */
  public FakeIdp holdCodeExchanges() {
    codeExchangeHold = new CountDownLatch(1);
    return this;
  }

  /** Lets held code exchanges answer, and later ones answer at once. */
  public FakeIdp releaseCodeExchanges() {
    CountDownLatch hold = codeExchangeHold;
    codeExchangeHold = null;
    if (hold != null) {
      hold.countDown();
    }
    return this;
  }

  /** Answers as {@code profile} says from now on (null: as the RFCs say, the default). */
  public FakeIdp profile(IdpProfile profile) {
    this.profile = profile;
    return this;
  }

  /** Makes {@code clientId} confidential: its requests must authenticate with this secret. */
  public FakeIdp requireClientSecret(String clientId, String secret) {
    clients.requireSecret(clientId, secret);
    return this;
  }

  /** The {@code expires_in} of device codes handed out from now on (default 600). */
  public FakeIdp expiresIn(int seconds) {
    expiresIn = seconds;
    return this;
  }

  /** The polling {@code interval} handed out from now on (default 5). */
  public FakeIdp interval(int seconds) {
    interval = seconds;
    return this;
  }

  /** Lifetime of ID and access tokens issued from now on (default 300). */
  public FakeIdp tokenLifetime(int seconds) {
    tokenLifetime = seconds;
    return this;
  }

  /**
   * Lifetime of ID and access tokens issued by refreshes from now on (default 0: {@link #tokenLifetime(int)}), so a
   * test can have a first refresh soon after the login and no second one while it runs.
   */
  public FakeIdp refreshedTokenLifetime(int seconds) {
    refreshedTokenLifetime = seconds;
    return this;
  }

  /**
   * The {@code expires_in} of device codes from now on, by the {@code scope} parameter of the device authorization
   * request (a DeviceLogin's {@code spec.scopes}); a result of 0 or less falls back to {@link #expiresIn(int)}.
   */
  public FakeIdp expiresInByScope(java.util.function.ToIntFunction<String> byScope) {
    expiresInByScope = byScope;
    return this;
  }

  /**
   * Answer polls that come sooner than the current interval with {@code slow_down} (default off:
   * such polls are only counted, see {@link Login#tooEarlyPolls()}).
   */
  public FakeIdp enforceSlowDown(boolean enforce) {
    enforceSlowDown = enforce;
    return this;
  }

  /** Signs ID tokens with a key that is not in the JWKS (but with the published key id). */
  public FakeIdp signWithUnpublishedKey(boolean unpublished) {
    signWithUnpublishedKey = unpublished;
    return this;
  }

  /**
   * The IdP's clock is {@code offset} ahead of the real one (negative: behind) from now on: the {@code iat} and
   * {@code exp} of ID tokens issued later are shifted by it (default zero).
   */
  public FakeIdp clockSkew(Duration offset) {
    tokenFactory.clockSkew(offset);
    return this;
  }

  /** Signs new ID tokens with a new key under a new key id; the JWKS publishes only the new key. */
  public FakeIdp rotateSigningKey() {
    tokenFactory.rotate();
    return this;
  }

  /** Queues answers for the next device authorization requests; {@link Outcome.Tokens} makes no sense here. */
  public FakeIdp onNextDeviceAuthorization(Outcome... outcomes) {
    for (Outcome outcome : outcomes) {
      if (outcome instanceof Outcome.Tokens) {
        throw new IllegalArgumentException("the device authorization endpoint issues no tokens");
      }
      deviceAuthorizationScript.add(outcome);
    }
    return this;
  }

  /** Queues answers for the next refresh requests that present a valid refresh token. */
  public FakeIdp refreshWith(Outcome... outcomes) {
    refreshTokens.script(outcomes);
    return this;
  }

  /** Makes the revocation endpoint answer 500 (after counting the call). */
  public FakeIdp failRevocation(boolean fail) {
    failRevocation = fail;
    return this;
  }

  /**
   * Holds back every response for this long (default zero). The request is processed at once, so a
   * client that gives up still changes the state, like with a slow real server.
   */
  public FakeIdp delay(Duration delay) {
    this.delay = delay;
    return this;
  }

  /**
   * Decides, for each request, what happens to it: {@code proceed} processes it (records it, changes the IdP's state)
   * and returns the normal answer; an interceptor may instead answer without processing, hold the request (it runs on
   * the request's own thread, so it may block), or return {@code null} to close the connection without an answer.
   */
  @FunctionalInterface
  public interface Interceptor {
    HTTPResponse intercept(RecordedRequest request, Supplier<HTTPResponse> proceed);
  }

  /** Puts {@code interceptor} in front of every request from now on (default: process each one). */
  public FakeIdp intercept(Interceptor interceptor) {
    this.interceptor = interceptor;
    return this;
  }

  /** Stops the HTTP server: open connections are closed, new ones refused. State survives. */
  public synchronized FakeIdp down() {
    if (server != null) {
      server.stop(0);
      server = null;
    }
    return this;
  }

  /** Restarts the HTTP server after {@link #down()}, on the same port. */
  public synchronized FakeIdp up() {
    if (server == null) {
      server = bind(port);
    }
    return this;
  }

  private HttpServer bind(int port) {
    try {
      HttpServer httpServer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
      httpServer.createContext("/", this::handle);
      httpServer.setExecutor(executor);
      httpServer.start();
      return httpServer;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen on 127.0.0.1:" + port, e);
    }
  }

  // ---- the person's browser

  /**
   * The person {@code who} opens {@code authorizationUrl} and signs in: the request is parsed with Nimbus and checked as
   * an IdP would (this IdP's authorization endpoint, {@code response_type=code}, a client id, a redirect URI
   * (registered, if {@link #registerRedirectUris} named some), {@code openid} scope, state, nonce and an S256
   * {@code code_challenge}); a single-use code bound to all of that is issued. Returns the URL the browser is then sent
   * to: {@code redirect_uri?code=..&state=..&iss=..} ({@code iss} as {@link #responseIss} says).
   *
   * @throws IllegalArgumentException the IdP would show an error page instead of redirecting
   */
  public String signIn(URI authorizationUrl, Claims who) {
    AuthenticationRequest request = authorizationRequest(authorizationUrl);
    AuthorizationCode code = new AuthorizationCode();
    SignIn signIn = new SignIn(code.getValue(), request.getClientID().getValue(), request.getRedirectionURI(),
        request.getState().getValue(), request.getNonce().getValue(), request.getCodeChallenge().getValue(),
        request.getScope().toString(), who, Instant.now());
    signInsByCode.put(signIn.code(), signIn);
    signIns.add(signIn);
    return new AuthenticationSuccessResponse(request.getRedirectionURI(), code, null, null, request.getState(), null,
        responseIssuer(), ResponseMode.QUERY).toURI().toString();
  }

  /** The person declines at {@code authorizationUrl}: the redirect carries {@code error=access_denied}. */
  public String denyAt(URI authorizationUrl) {
    return errorAt(authorizationUrl, OAuth2Error.ACCESS_DENIED);
  }

  /** The IdP answers the request at {@code authorizationUrl} with {@code error} (and its description) in the redirect. */
  public String errorAt(URI authorizationUrl, ErrorObject error) {
    AuthenticationRequest request = authorizationRequest(authorizationUrl);
    return new AuthorizationErrorResponse(request.getRedirectionURI(), error, request.getState(), responseIssuer(),
        ResponseMode.QUERY).toURI().toString();
  }

  private Issuer responseIssuer() {
    return switch (responseIss) {
      case CORRECT -> new Issuer(issuer);
      case WRONG -> new Issuer(wrongIssuer);
      case ABSENT -> null;
    };
  }

  private AuthenticationRequest authorizationRequest(URI url) {
    if (!url.toString().startsWith(authorizationEndpoint() + "?")) {
      throw new IllegalArgumentException("not this IdP's authorization endpoint: " + url);
    }
    AuthenticationRequest request;
    try {
      request = AuthenticationRequest.parse(url);
    } catch (ParseException e) {
      throw new IllegalArgumentException("not an OpenID authentication request: " + e.getMessage(), e);
    }
    if (!ResponseType.CODE.equals(request.getResponseType())) {
      throw new IllegalArgumentException("response_type is not code: " + request.getResponseType());
    }
    if (!redirectUris.isEmpty() && !redirectUris.contains(request.getRedirectionURI().toString())) {
      throw new IllegalArgumentException("redirect_uri is not registered: " + request.getRedirectionURI());
    }
    if (request.getState() == null || request.getNonce() == null) {
      throw new IllegalArgumentException("state or nonce missing");
    }
    if (request.getCodeChallenge() == null || !CodeChallengeMethod.S256.equals(request.getCodeChallengeMethod())) {
      throw new IllegalArgumentException("no PKCE S256 code_challenge (method " + request.getCodeChallengeMethod()
          + ")");
    }
    return request;
  }

  // ---- what happened

  /** Every request received, oldest first. */
  public List<RecordedRequest> requests() {
    return List.copyOf(requests);
  }

  /** The requests received at one endpoint, e.g. {@code requestsTo(idp.tokenEndpoint())}. */
  public List<RecordedRequest> requestsTo(URI endpoint) {
    return requests.stream().filter(request -> request.path().equals(endpoint.getPath())).toList();
  }

  /** Every device authorization grant started, oldest first. */
  public List<Login> logins() {
    return List.copyOf(logins);
  }

  /** The grant with this user code. */
  public Login login(String userCode) {
    return logins.stream()
        .filter(login -> login.userCode().equals(userCode))
        .findFirst()
        .orElseThrow(() -> new NoSuchElementException("no login with user code " + userCode));
  }

  /** The grant started last. */
  public Login lastLogin() {
    if (logins.isEmpty()) {
      throw new NoSuchElementException("no login started yet");
    }
    return logins.get(logins.size() - 1);
  }

  /** Every sign-in at the authorization endpoint ({@link #signIn}), oldest first. */
  public List<SignIn> signIns() {
    return List.copyOf(signIns);
  }

  /** The sign-in that happened last. */
  public SignIn lastSignIn() {
    if (signIns.isEmpty()) {
      throw new NoSuchElementException("nobody signed in yet");
    }
    return signIns.get(signIns.size() - 1);
  }

  /** Every request to the token endpoint with {@code grant_type=authorization_code}, valid or not, oldest first. */
  public List<RecordedRequest> codeExchanges() {
    return requestsTo(tokenEndpoint()).stream()
        .filter(request -> GrantType.AUTHORIZATION_CODE.getValue().equals(request.param("grant_type")))
        .toList();
  }

  /** How many refresh requests came in, valid or not. */
  public int refreshCount() {
    return refreshTokens.requests();
  }

  /** How many refresh requests presented a refresh token that had already been rotated. */
  public int refreshTokenReuseCount() {
    return refreshTokens.reuses();
  }

  /** How many revocation requests came in, failed ones included. */
  public int revocationCount() {
    return revocationCount.get();
  }

  /** The tokens revoked, oldest first. */
  public List<String> revokedTokens() {
    return List.copyOf(revokedTokens);
  }

  // ---- HTTP

  private void handle(HttpExchange exchange) {
    try (exchange) {
      String method = exchange.getRequestMethod();
      String authorization = exchange.getRequestHeaders().getFirst("Authorization");
      String contentType = exchange.getRequestHeaders().getFirst("Content-Type");
      String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);

      // Nimbus's view of the request, to parse the form and the client authentication
      HTTPRequest request = new HTTPRequest(HTTPRequest.Method.POST, URI.create(issuer).resolve(exchange.getRequestURI()));
      request.setAuthorization(authorization);
      Map<String, List<String>> form;
      try {
        if (contentType != null) {
          request.setContentType(contentType);
        }
        request.setBody(body);
        form = request.getBodyAsFormParameters();
      } catch (ParseException e) {
        form = null;
      }
      RecordedRequest recorded = new RecordedRequest(
          Instant.now(), method, exchange.getRequestURI().getPath(), form == null ? Map.of() : form, authorization);
      Map<String, List<String>> parsedForm = form;
      HTTPResponse response = interceptor.intercept(recorded, () -> {
        try {
          return respond(recorded, request, parsedForm);
        } catch (RuntimeException e) {
          LOG.error("fake IdP failed on {} {}", method, exchange.getRequestURI(), e);
          return text(500, "fake IdP failure: " + e);
        }
      });
      if (response == null) {
        return; // closed without an answer
      }
      if (!delay.isZero()) {
        Thread.sleep(delay.toMillis());
      }
      send(exchange, response);
    } catch (IOException e) {
      LOG.debug("client went away: {}", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Processes a request: records it, changes the IdP's state and returns the answer. */
  private HTTPResponse respond(RecordedRequest recorded, HTTPRequest request, Map<String, List<String>> form) {
    String method = recorded.method();
    String path = recorded.path();
    requests.add(recorded);
    if ("POST".equals(method) && form == null) {
      return OAuth2Error.INVALID_REQUEST.appendDescription(": expected a form body").toHTTPResponse();
    }

    switch (method + " " + path) {
      case "GET " + ISSUER_PATH + DISCOVERY_PATH:
        return discovery();
      case "GET " + ISSUER_PATH + AUTHORIZATION_PATH:
        return text(200, "the sign-in page (tests sign in with FakeIdp.signIn)");
      case "GET " + ISSUER_PATH + JWKS_PATH:
        return json(tokenFactory.publicJwks().toString());
      case "POST " + ISSUER_PATH + DEVICE_AUTHORIZATION_PATH:
        return deviceAuthorization(request, form);
      case "POST " + ISSUER_PATH + TOKEN_PATH:
        return token(request, form);
      case "POST " + ISSUER_PATH + REVOCATION_PATH:
        return revocation(request, form);
      default:
        return text(404, "no such endpoint: " + method + " " + path);
    }
  }

  private HTTPResponse discovery() {
    DiscoveryMode mode = discoveryMode;
    if (mode == DiscoveryMode.SERVER_ERROR) {
      return plain(Outcome.serverError());
    }
    if (mode == DiscoveryMode.NOT_JSON) {
      return plain(Outcome.raw(200, "text/html; charset=UTF-8", "<html><body>Welcome to the IdP</body></html>"));
    }
    OIDCProviderMetadata metadata =
        new OIDCProviderMetadata(
            new Issuer(mode == DiscoveryMode.WRONG_ISSUER ? wrongIssuer : issuer),
            List.of(SubjectType.PUBLIC),
            jwksUri());
    metadata.setAuthorizationEndpointURI(endpoint(AUTHORIZATION_PATH));
    metadata.setTokenEndpointURI(tokenEndpoint());
    if (mode != DiscoveryMode.NO_REVOCATION_ENDPOINT) {
      metadata.setRevocationEndpointURI(revocationEndpoint());
    }
    if (mode == DiscoveryMode.NO_DEVICE_ENDPOINT) {
      metadata.setGrantTypes(List.of(GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN));
    } else {
      metadata.setDeviceAuthorizationEndpointURI(deviceAuthorizationEndpoint());
      metadata.setGrantTypes(List.of(GrantType.AUTHORIZATION_CODE, GrantType.DEVICE_CODE, GrantType.REFRESH_TOKEN));
    }
    metadata.setResponseTypes(List.of(ResponseType.CODE));
    if (pkceS256) {
      metadata.setCodeChallengeMethods(List.of(CodeChallengeMethod.S256));
    }
    metadata.setSupportsAuthorizationResponseIssuerParam(issParameter);
    metadata.setIDTokenJWSAlgs(List.of(JWSAlgorithm.RS256));
    metadata.setScopes(new Scope("openid", "profile", "email", "offline_access"));
    metadata.setTokenEndpointAuthMethods(
        List.of(
            ClientAuthenticationMethod.CLIENT_SECRET_BASIC,
            ClientAuthenticationMethod.CLIENT_SECRET_POST,
            ClientAuthenticationMethod.NONE));
    return json(metadata.toJSONObject().toJSONString());
  }

  private HTTPResponse deviceAuthorization(HTTPRequest request, Map<String, List<String>> form) {
    String clientId = clients.authenticate(request, form).orElse(null);
    if (clientId == null) {
      return OAuth2Error.INVALID_CLIENT.toHTTPResponse();
    }
    Outcome scripted = deviceAuthorizationScript.poll();
    if (scripted != null) {
      return plain(scripted);
    }
    String userCode = userCode();
    java.util.function.ToIntFunction<String> byScope = expiresInByScope;
    int scoped = byScope == null ? 0 : byScope.applyAsInt(MultivaluedMapUtils.getFirstValue(form, "scope"));
    int lifetime = scoped > 0 ? scoped : expiresIn;
    int pollInterval = interval;
    Login login =
        new Login(
            new DeviceCode().getValue(),
            userCode,
            clientId,
            MultivaluedMapUtils.getFirstValue(form, "scope"),
            Instant.now(),
            Duration.ofSeconds(lifetime),
            Duration.ofSeconds(pollInterval));
    loginsByDeviceCode.put(login.deviceCode(), login);
    logins.add(login);
    IdpProfile as = profile;
    URI complete = as == null || as.verificationUriComplete
        ? URI.create(verificationUri() + "?user_code=" + userCode) : null;
    HTTPResponse response = new DeviceAuthorizationSuccessResponse(
            new DeviceCode(login.deviceCode()),
            new UserCode(userCode),
            verificationUri(),
            complete,
            lifetime,
            pollInterval,
            Map.of())
        .toHTTPResponse();
    if (as != null && !"verification_uri".equals(as.verificationUriName)) {
      try {
        net.minidev.json.JSONObject json = response.getBodyAsJSONObject();
        json.put(as.verificationUriName, json.remove("verification_uri"));
        response.setBody(json.toJSONString());
      } catch (ParseException e) {
        throw new IllegalStateException(e);
      }
    }
    return response;
  }

  /** A device poll's answer as the profile words it: its HTTP status for pending and slow_down, its refusal code. */
  private Outcome asProfile(Outcome outcome) {
    IdpProfile as = profile;
    if (as == null || !(outcome instanceof Outcome.Error error)) {
      return outcome;
    }
    ErrorObject object = error.error();
    return switch (object.getCode()) {
      case "authorization_pending" -> new Outcome.Error(object.setHTTPStatusCode(as.pendingStatus));
      case "slow_down" -> new Outcome.Error(object.setHTTPStatusCode(as.slowDownStatus));
      case "access_denied" -> Outcome.error(as.deniedError, object.getHTTPStatusCode());
      default -> outcome;
    };
  }

  private static String userCode() {
    StringBuilder code = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == 4) {
        code.append('-');
      }
      code.append(USER_CODE_ALPHABET.charAt(RANDOM.nextInt(USER_CODE_ALPHABET.length())));
    }
    return code.toString();
  }

  private HTTPResponse token(HTTPRequest request, Map<String, List<String>> form) {
    String clientId = clients.authenticate(request, form).orElse(null);
    if (clientId == null) {
      return OAuth2Error.INVALID_CLIENT.toHTTPResponse();
    }
    String grantType = MultivaluedMapUtils.getFirstValue(form, "grant_type");
    if (GrantType.DEVICE_CODE.getValue().equals(grantType)) {
      return devicePoll(clientId, MultivaluedMapUtils.getFirstValue(form, "device_code"));
    }
    if (GrantType.REFRESH_TOKEN.getValue().equals(grantType)) {
      return refresh(clientId, MultivaluedMapUtils.getFirstValue(form, "refresh_token"));
    }
    if (GrantType.AUTHORIZATION_CODE.getValue().equals(grantType)) {
      return codeExchange(clientId, form);
    }
    return (grantType == null ? OAuth2Error.INVALID_REQUEST : OAuth2Error.UNSUPPORTED_GRANT_TYPE).toHTTPResponse();
  }

  private HTTPResponse devicePoll(String clientId, String deviceCode) {
    Login login = deviceCode == null ? null : loginsByDeviceCode.get(deviceCode);
    if (login == null || !login.clientId().equals(clientId)) {
      return OAuth2Error.INVALID_GRANT.toHTTPResponse();
    }
    Outcome outcome = login.poll(Instant.now(), System.nanoTime(), enforceSlowDown);
    return render(asProfile(outcome), login, GrantType.DEVICE_CODE, null);
  }

  private HTTPResponse codeExchange(String clientId, Map<String, List<String>> form) {
    String code = MultivaluedMapUtils.getFirstValue(form, "code");
    SignIn signIn = code == null ? null : signInsByCode.get(code);
    if (signIn == null) {
      return OAuth2Error.INVALID_GRANT.setDescription("Code not valid").toHTTPResponse();
    }
    ErrorObject refused = signIn.redeem(clientId, MultivaluedMapUtils.getFirstValue(form, "redirect_uri"),
        MultivaluedMapUtils.getFirstValue(form, "code_verifier"), Instant.now());
    HTTPResponse response;
    if (refused != null) {
      response = refused.toHTTPResponse();
    } else {
      Outcome scripted = codeExchangeScript.poll();
      Outcome outcome = scripted != null ? scripted : Outcome.tokens(signIn.claims());
      if (outcome instanceof Outcome.Tokens tokens && tokens.claims() == null) {
        outcome = new Outcome.Tokens(signIn.claims(), tokens.variants());
      }
      response = render(outcome, signIn.tokens(), GrantType.AUTHORIZATION_CODE, signIn.nonce());
    }
    CountDownLatch hold = codeExchangeHold;
    if (hold != null) {
      try {
        hold.await(1, TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return response;
  }

  private HTTPResponse refresh(String clientId, String refreshToken) {
    if (refreshToken == null) {
      return OAuth2Error.INVALID_REQUEST.toHTTPResponse();
    }
    IdpProfile as = profile;
    RefreshTokens.Redemption redemption =
        refreshTokens.redeem(refreshToken, clientId, as != null && as.refreshReuseRevokesFamily);
    return render(redemption.outcome(), redemption.login(), GrantType.REFRESH_TOKEN, null);
  }

  private HTTPResponse revocation(HTTPRequest request, Map<String, List<String>> form) {
    revocationCount.incrementAndGet();
    if (failRevocation) {
      return plain(Outcome.serverError());
    }
    if (clients.authenticate(request, form).isEmpty()) {
      return OAuth2Error.INVALID_CLIENT.toHTTPResponse();
    }
    String token = MultivaluedMapUtils.getFirstValue(form, "token");
    if (token == null) {
      return OAuth2Error.INVALID_REQUEST.toHTTPResponse();
    }
    revokedTokens.add(token);
    refreshTokens.revoke(token);
    return new HTTPResponse(200);
  }

  /**
   * The HTTP response for an outcome; {@link Outcome.Tokens} issues tokens for {@code login}, with {@code nonce} in the
   * ID token (null: none).
   */
  private HTTPResponse render(Outcome outcome, Login login, GrantType grantType, String nonce) {
    if (!(outcome instanceof Outcome.Tokens tokens)) {
      return plain(outcome);
    }
    Claims user = tokens.claims() != null ? tokens.claims() : login.user();
    Set<TokenVariant> variants = tokens.variants();
    IdpProfile as = profile;
    if (as != null) {
      user = as.emailVerified ? user : user.withoutEmailVerified();
      user = user.groupCount() > as.maxGroupsInToken ? user.withGroupsOverage() : user;
      if (!as.idTokenOnRefresh && grantType == GrantType.REFRESH_TOKEN) {
        variants = java.util.EnumSet.of(TokenVariant.NO_ID_TOKEN, variants.toArray(TokenVariant[]::new));
      }
    }
    AccessTokenResponse response =
        tokenFactory.respond(
            user,
            login.clientId(),
            login.scope() == null ? null : Scope.parse(login.scope()),
            Duration.ofSeconds(grantType == GrantType.REFRESH_TOKEN && refreshedTokenLifetime > 0
                ? refreshedTokenLifetime : tokenLifetime),
            variants,
            nonce,
            signWithUnpublishedKey);
    RefreshToken refreshToken = response.getTokens().getRefreshToken();
    login.issued(
        user,
        new IssuedTokens(
            Instant.now(),
            grantType,
            response.getTokens().getAccessToken().getValue(),
            refreshToken == null ? null : refreshToken.getValue(),
            response instanceof OIDCTokenResponse oidc ? oidc.getOIDCTokens().getIDTokenString() : null));
    if (refreshToken != null) {
      refreshTokens.issued(refreshToken.getValue(), login);
    }
    return response.toHTTPResponse();
  }

  /** The HTTP response for an error or raw outcome. */
  private static HTTPResponse plain(Outcome outcome) {
    if (outcome instanceof Outcome.Error error) {
      return error.error().toHTTPResponse();
    }
    Outcome.Raw raw = (Outcome.Raw) outcome;
    HTTPResponse response = new HTTPResponse(raw.status());
    if (raw.contentType() != null) {
      response.setHeader("Content-Type", raw.contentType());
    }
    response.setBody(raw.body());
    return response;
  }

  private static HTTPResponse json(String body) {
    HTTPResponse response = new HTTPResponse(200);
    response.setEntityContentType(ContentType.APPLICATION_JSON);
    response.setBody(body);
    return response;
  }

  private static HTTPResponse text(int status, String body) {
    HTTPResponse response = new HTTPResponse(status);
    response.setEntityContentType(ContentType.TEXT_PLAIN);
    response.setBody(body);
    return response;
  }

  private static void send(HttpExchange exchange, HTTPResponse response) throws IOException {
    response.getHeaderMap().forEach((name, values) -> exchange.getResponseHeaders().put(name, values));
    String body = response.getBody();
    byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(response.getStatusCode(), bytes.length == 0 ? -1 : bytes.length);
    exchange.getResponseBody().write(bytes);
  }
}
