package io.devicelogin.operator.springas;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.Banner;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.security.oauth2.server.authorization.OAuth2AuthorizationConsent;
import org.springframework.security.oauth2.server.authorization.OAuth2AuthorizationConsentService;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClientRepository;

/**
 * A real Spring Authorization Server (Maven Central's {@code spring-boot-starter-oauth2-authorization-server}) for the
 * end-to-end tests, the suite's second real IdP beside Keycloak: issuer {@code http://127.0.0.1:<free port>}, OIDC
 * discovery, the device authorization grant (which refuses {@code openid} and issues no ID token), the authorization
 * code grant with PKCE, refresh tokens and revocation, all Spring's own endpoints and pages
 * ({@link SpringAuthorizationServerConfiguration} only registers the client, the people and the claims).
 *
 * <p>It runs inside the test JVM: its Spring Boot libraries (test scope only) change the version of none of the
 * libraries the tests already had (Spring runs with the project's nimbus-jose-jwt 10 and Jackson 2.20), and Boot's
 * logging system is switched off so that its log lines go through the tests' logback, where {@code LogCapture} and the leak scan see them. A test class starts one before its tests and closes
 * it after them, so that its Tomcat threads are gone before other test classes of the JVM run (some count threads).
 */
public final class SpringAuthorizationServer implements AutoCloseable {

  /** The confidential client of the device and authorization code grants (client_secret_basic or _post). */
  public static final String CLIENT_ID = "devicelogin-spring";
  public static final String CLIENT_SECRET = "spring-client-secret";
  /** Where the authorization code grant sends the browser back; nothing needs to listen there. */
  public static final String REDIRECT_URI = "http://localhost:8000/";
  /** Lifetime of access and ID tokens, short so that a test sees refreshes. */
  public static final Duration TOKEN_LIFETIME = Duration.ofSeconds(60);

  /** A person who can sign in: username, password, and the claims the ID token carries. */
  public record Person(String username, String password, String email, List<String> groups) {}

  public static final Person ALICE = new Person("alice", "alice-password", "alice@example.com", List.of("developers"));
  public static final Person BOB = new Person("bob", "bob-password", "bob@example.com", List.of("operators"));
  static final Map<String, Person> PEOPLE = Map.of(ALICE.username(), ALICE, BOB.username(), BOB);

  private static final Logger LOG = LoggerFactory.getLogger(SpringAuthorizationServer.class);

  private final int port;
  private final ConfigurableApplicationContext context;
  private final Duration startTime;

  private SpringAuthorizationServer(int port, ConfigurableApplicationContext context, Duration startTime) {
    this.port = port;
    this.context = context;
    this.startTime = startTime;
  }

  /** Starts a server on 127.0.0.1 and a free port; it serves requests when this returns. */
  public static SpringAuthorizationServer start() {
    // Boot would otherwise reconfigure logback for the whole JVM and drop the tests' appenders
    System.setProperty("org.springframework.boot.logging.LoggingSystem", "none");
    int port = freePort();
    long started = System.nanoTime();
    SpringApplication application = new SpringApplication(SpringAuthorizationServerConfiguration.class);
    application.setBannerMode(Banner.Mode.OFF);
    application.setLogStartupInfo(false);
    application.setDefaultProperties(Map.of(
        "server.address", "127.0.0.1",
        "server.port", Integer.toString(port),
        SpringAuthorizationServerConfiguration.ISSUER_PROPERTY, "http://127.0.0.1:" + port,
        "spring.jmx.enabled", "false"));
    ConfigurableApplicationContext context = application.run();
    SpringAuthorizationServer server =
        new SpringAuthorizationServer(port, context, Duration.ofNanos(System.nanoTime() - started));
    LOG.info("Spring Authorization Server at {} serving after {} ms", server.issuerUrl(),
        server.startTime().toMillis());
    return server;
  }

  /** {@code http://127.0.0.1:<port>}: the issuer, and the root of every endpoint. */
  public URI issuerUrl() {
    return URI.create("http://127.0.0.1:" + port);
  }

  /** The token endpoint (Spring's default path), for tests that check at the server what a token still does. */
  public URI tokenEndpoint() {
    return URI.create(issuerUrl() + "/oauth2/token");
  }

  /** How long {@link #start()} took, from the call to serving. */
  public Duration startTime() {
    return startTime;
  }

  /**
   * Forgets every consent the people gave (Spring remembers them per client and person), so that the next login of
   * each shows the consent page again, as for a person who never used this client.
   */
  public void forgetConsents() {
    OAuth2AuthorizationConsentService consents = context.getBean(OAuth2AuthorizationConsentService.class);
    String clientId = context.getBean(RegisteredClientRepository.class).findByClientId(CLIENT_ID).getId();
    for (String username : PEOPLE.keySet()) {
      OAuth2AuthorizationConsent consent = consents.findById(clientId, username);
      if (consent != null) {
        consents.remove(consent);
      }
    }
  }

  @Override
  public void close() {
    context.close();
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
