package io.devicelogin.operator.idp;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What {@link NimbusIdentityProviderClient} makes of arbitrary token endpoint answers: a local JDK HTTP server on
 * 127.0.0.1 publishes discovery and a JWKS and answers every token request with the response under test. Shared by
 * {@link TokenResponsePropertiesTest}; the generator is {@link TokenResponsePropertiesTest.Generator}.
 */
final class TokenResponseProperties implements AutoCloseable {

  /** One answer of the token endpoint, and what the test knows about it. */
  record Served(
      String kind, int status, String contentType, String body, Set<String> secrets, String validIdToken,
      boolean wellFormedSuccess) {

    /** Never the body itself (it may be huge). */
    @Override
    public String toString() {
      String shown = body.length() > 600 ? body.substring(0, 600) + "...(" + body.length() + " chars)" : body;
      return "Served[kind=" + kind + ", status=" + status + ", contentType=" + contentType + ", body=" + shown
          + ", validIdToken=" + (validIdToken != null) + ", wellFormedSuccess=" + wellFormedSuccess + "]";
    }
  }

  /** What an ID token is made like. */
  enum IdTokenDefect {
    NONE, WRONG_ISSUER, WRONG_AUDIENCE, EXPIRED, ISSUED_IN_FUTURE, NO_EXPIRY, UNKNOWN_KEY, BAD_SIGNATURE,
    ALG_NONE, HS256, GARBAGE
  }

  static final String CLIENT_ID = "prop-client";

  static {
    // as in FakeIdp: without TCP_NODELAY each response waits ~40 ms for a delayed ACK (read once per JVM)
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  private final RSAKey signingKey;
  private final RSAKey otherKey;
  private final HttpServer server;
  private final String issuer;
  private volatile Served current;

  TokenResponseProperties() {
    signingKey = newKey();
    otherKey = newKey();
    try {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    issuer = "http://127.0.0.1:" + server.getAddress().getPort() + "/realms/prop";
    server.createContext("/", this::handle);
    server.start();
  }

  String issuer() {
    return issuer;
  }

  ProviderConfig provider() {
    return new ProviderConfig(URI.create(issuer), CLIENT_ID, null, null, List.of("openid"));
  }

  /** The answer every token request gets from now on. */
  void serve(Served served) {
    current = served;
  }

  @Override
  public void close() {
    server.stop(0);
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange; InputStream in = exchange.getRequestBody()) {
      in.readAllBytes();
      String path = exchange.getRequestURI().getPath();
      if (path.endsWith("/.well-known/openid-configuration")) {
        send(exchange, 200, "application/json", discovery());
      } else if (path.endsWith("/jwks")) {
        send(exchange, 200, "application/json", new JWKSet(signingKey.toPublicJWK()).toString());
      } else if (path.endsWith("/token")) {
        Served served = current;
        send(exchange, served.status(), served.contentType(), served.body());
      } else {
        send(exchange, 404, "text/plain", "not found");
      }
    }
  }

  private String discovery() {
    return "{\"issuer\":\"" + issuer + "\","
        + "\"authorization_endpoint\":\"" + issuer + "/auth\","
        + "\"device_authorization_endpoint\":\"" + issuer + "/device\","
        + "\"token_endpoint\":\"" + issuer + "/token\","
        + "\"jwks_uri\":\"" + issuer + "/jwks\","
        + "\"response_types_supported\":[\"code\"],"
        + "\"subject_types_supported\":[\"public\"],"
        + "\"id_token_signing_alg_values_supported\":[\"RS256\"]}";
  }

  private static void send(HttpExchange exchange, int status, String contentType, String body) throws IOException {
    if (contentType != null) {
      exchange.getResponseHeaders().set("Content-Type", contentType);
    }
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    boolean noBody = bytes.length == 0 || status == 204 || status == 304;
    exchange.sendResponseHeaders(status, noBody ? -1 : bytes.length);
    if (!noBody) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  /** An ID token for {@code subject} with the given defect; valid (for this issuer and client) when NONE. */
  String idToken(IdTokenDefect defect, String subject) {
    Instant now = Instant.now();
    Instant issuedAt = switch (defect) {
      case EXPIRED -> now.minus(Duration.ofHours(3));
      case ISSUED_IN_FUTURE -> now.plus(Duration.ofHours(1));
      default -> now;
    };
    JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder()
        .issuer(defect == IdTokenDefect.WRONG_ISSUER ? issuer + "-other" : issuer)
        .audience(defect == IdTokenDefect.WRONG_AUDIENCE ? "another-" + CLIENT_ID : CLIENT_ID)
        .subject(subject)
        .issueTime(Date.from(issuedAt));
    if (defect != IdTokenDefect.NO_EXPIRY) {
      claims.expirationTime(Date.from(issuedAt.plus(Duration.ofMinutes(5))));
    }
    try {
      return switch (defect) {
        case ALG_NONE -> new PlainJWT(claims.build()).serialize();
        case HS256 -> {
          SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims.build());
          jwt.sign(new MACSigner("0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8)));
          yield jwt.serialize();
        }
        case GARBAGE -> "eyJ" + subject + ".garbage." + subject;
        default -> {
          RSAKey key = defect == IdTokenDefect.UNKNOWN_KEY || defect == IdTokenDefect.BAD_SIGNATURE
              ? otherKey : signingKey;
          String kid = defect == IdTokenDefect.BAD_SIGNATURE ? signingKey.getKeyID() : key.getKeyID();
          SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(kid).build(), claims.build());
          jwt.sign(new RSASSASigner(key));
          yield jwt.serialize();
        }
      };
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The token values (and the device code or refresh token sent) that must never show in a message. */
  static List<String> leaks(String message, Set<String> secrets) {
    List<String> found = new ArrayList<>();
    for (String secret : secrets) {
      if (message != null && message.contains(secret)) {
        found.add(secret);
      }
    }
    return found;
  }

  static Set<String> union(Set<String> a, String... more) {
    Set<String> all = new LinkedHashSet<>(a);
    all.addAll(List.of(more));
    return all.stream().filter(s -> s != null && !s.isEmpty()).collect(Collectors.toCollection(LinkedHashSet::new));
  }

  private static RSAKey newKey() {
    try {
      return new RSAKeyGenerator(2048).keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.RS256)
          .keyIDFromThumbprint(true).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  static NimbusIdentityProviderClient client(io.devicelogin.operator.metrics.OperatorMetrics metrics) {
    return new NimbusIdentityProviderClient(
        Duration.ofSeconds(5), Duration.ofSeconds(5), metrics, Clock.systemUTC(), EgressGuard.none());
  }
}
