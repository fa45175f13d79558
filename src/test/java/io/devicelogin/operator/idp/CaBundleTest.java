package io.devicelogin.operator.idp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.openid.connect.sdk.SubjectType;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.devicelogin.operator.metrics.OperatorMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An IdP on HTTPS with a certificate from a private CA: trusted only through the provider's caBundle. */
class CaBundleTest {

  private static final char[] PASSWORD = "changeit".toCharArray();

  @TempDir static Path dir;
  private static HttpsServer server;
  private static String certificatePem;
  private static URI issuer;
  private static final AtomicInteger requests = new AtomicInteger();

  @BeforeAll
  static void startHttpsIdp() throws Exception {
    Path keystore = dir.resolve("idp.p12");
    keytool("-genkeypair", "-alias", "idp", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1",
        "-ext", "SAN=ip:127.0.0.1,dns:idp.test", "-validity", "2", "-storetype", "PKCS12",
        "-keystore", keystore.toString(), "-storepass", "changeit", "-keypass", "changeit");
    Path pem = dir.resolve("idp.pem");
    keytool("-exportcert", "-rfc", "-alias", "idp", "-keystore", keystore.toString(), "-storepass", "changeit",
        "-file", pem.toString());
    certificatePem = Files.readString(pem);

    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = new FileInputStream(keystore.toFile())) {
      store.load(in, PASSWORD);
    }
    KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keys.init(store, PASSWORD);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(keys.getKeyManagers(), null, null);
    server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(tls));
    issuer = URI.create("https://127.0.0.1:" + server.getAddress().getPort() + "/realms/private");
    server.createContext("/realms/private/.well-known/openid-configuration", exchange -> {
      requests.incrementAndGet();
      String host = exchange.getRequestHeaders().getFirst("Host");
      byte[] body = discoveryDocument(host.startsWith("idp.test") ? namedIssuer() : issuer)
          .getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      // a new connection (and name lookup) for every request, as after a kept-alive connection timed out
      exchange.getResponseHeaders().set("Connection", "close");
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
  }

  @AfterAll
  static void stop() {
    server.stop(0);
  }

  @Test
  void privateCaIsTrustedOnlyThroughTheCaBundle() throws Exception {
    IdpException untrusted = org.assertj.core.api.Assertions.catchThrowableOfType(IdpException.class,
        () -> client().discover(provider(null), true));
    assertThat(untrusted.kind()).as("a trust failure is a configuration problem").isEqualTo(IdpException.Kind.REJECTED);
    assertThat(untrusted.getMessage()).contains("spec.caBundle");

    ProviderEndpoints endpoints = client().discover(provider(certificatePem), true);
    assertThat(endpoints.deviceAuthorizationEndpoint()).isEqualTo(URI.create(issuer + "/device"));
  }

  @Test
  void caBundleWithoutACertificateIsRejectedClearly() {
    assertThatThrownBy(() -> client().discover(provider("not a certificate"), true))
        .isInstanceOf(IdpException.class)
        .hasMessageContaining("caBundle");
  }

  @Test
  void aNamespacedProviderOnLoopbackIsRefusedBeforeAnyConnectionAndAClusterProviderIsNot() throws Exception {
    int before = requests.get();
    NimbusIdentityProviderClient client = client(EgressGuard.defaults());
    IdpException refused = org.assertj.core.api.Assertions.catchThrowableOfType(IdpException.class,
        () -> client.discover(namespaced(issuer), true));
    assertThat(refused.kind()).isEqualTo(IdpException.Kind.NOT_ALLOWED);
    assertThat(refused.getMessage()).contains("the discovery endpoint").contains("IDP_DENIED_CIDRS");
    assertThat(requests.get()).as("requests that reached the IdP").isEqualTo(before);

    assertThat(client.discover(provider(certificatePem), true).tokenEndpoint())
        .as("a ClusterIdentityProvider is the admin's and exempt").isEqualTo(URI.create(issuer + "/token"));
  }

  @Test
  void tlsRunsOverTheGuardedConnectionWithTheNameCheckedAndARebindingToADeniedAddressIsRefused() throws Exception {
    AtomicInteger lookups = new AtomicInteger();
    // allowed first, then the name "rebinds" to a denied address (127.0.0.2 reaches this host's loopback too)
    EgressGuard guard = EgressGuard.parse("127.0.0.2/32").withResolver(host -> new java.net.InetAddress[] {
        java.net.InetAddress.getByName(lookups.incrementAndGet() == 1 ? "127.0.0.1" : "127.0.0.2")});
    NimbusIdentityProviderClient client = client(guard);
    ProviderConfig provider = namespaced(namedIssuer());
    int before = requests.get();

    assertThat(client.discover(provider, true).tokenEndpoint()).isEqualTo(URI.create(namedIssuer() + "/token"));
    IdpException refused = org.assertj.core.api.Assertions.catchThrowableOfType(IdpException.class,
        () -> client.discover(provider, true));
    assertThat(refused.kind()).isEqualTo(IdpException.Kind.NOT_ALLOWED);
    assertThat(refused.getMessage()).contains("IDP_DENIED_CIDRS").doesNotContain("127.0.0.2");
    assertThat(requests.get() - before).as("requests that reached the IdP: only the first").isEqualTo(1);
    assertThat(lookups.get()).as("every connection resolved through the guard").isGreaterThanOrEqualTo(2);
  }

  private static NimbusIdentityProviderClient client() {
    return client(EgressGuard.none());
  }

  private static NimbusIdentityProviderClient client(EgressGuard guard) {
    return new NimbusIdentityProviderClient(Duration.ofSeconds(2), Duration.ofSeconds(2),
        new OperatorMetrics(new SimpleMeterRegistry()), Clock.systemUTC(), guard);
  }

  private static ProviderConfig provider(String caBundle) {
    return new ProviderConfig(issuer, "cli", null, caBundle, List.of("openid"));
  }

  /** A namespaced IdentityProvider's config for {@code issuer}, trusting the test CA. */
  private static ProviderConfig namespaced(URI issuer) {
    return new ProviderConfig(issuer, "cli", null, certificatePem, List.of("openid"), "team-a", false, null);
  }

  /** The issuer under the name idp.test, which the tests' resolvers map to an address. */
  private static URI namedIssuer() {
    return URI.create("https://idp.test:" + server.getAddress().getPort() + "/realms/private");
  }

  private static String discoveryDocument(URI issuer) {
    OIDCProviderMetadata metadata = new OIDCProviderMetadata(
        new Issuer(issuer), List.of(SubjectType.PUBLIC), URI.create(issuer + "/jwks"));
    metadata.setDeviceAuthorizationEndpointURI(URI.create(issuer + "/device"));
    metadata.setTokenEndpointURI(URI.create(issuer + "/token"));
    return metadata.toJSONObject().toJSONString();
  }

  private static void keytool(String... args) throws IOException, InterruptedException {
    List<String> command = new java.util.ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor()).as("keytool: %s", output).isZero();
  }
}
