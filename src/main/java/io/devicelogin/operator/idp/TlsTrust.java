package io.devicelogin.operator.idp;

import io.devicelogin.operator.messages.Messages;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * Socket factories that trust the system CAs plus a provider's {@code caBundle}, each also as a
 * {@link GuardedSslSocketFactory} for namespaced providers. Kept in a {@link BoundedCache} keyed by the bundle's bytes,
 * the same factory object for the same bundle (the JDK reuses a kept-alive TLS connection only with the same factory).
 */
final class TlsTrust {

  /** A bundle's factories: plain (cluster providers) and guarded (namespaced providers). */
  private record Factories(SSLSocketFactory plain, SSLSocketFactory guarded) {}

  private final EgressGuard guard;
  private final Factories defaults;
  private final BoundedCache<Factories> byBundle;

  TlsTrust(EgressGuard guard, int maxEntries, Duration timeToLive, Clock clock) {
    this.guard = guard;
    this.defaults = factories((SSLSocketFactory) SSLSocketFactory.getDefault());
    this.byBundle = new BoundedCache<>(maxEntries, timeToLive, clock);
  }

  /**
   * The factory for https to a provider: the JVM's trust for a null bundle, else the system CAs plus the bundle;
   * guarded by the {@link EgressGuard} when {@code guarded}. Throws IdpException(REJECTED) for a bundle that holds no
   * certificate.
   */
  SSLSocketFactory socketFactory(String caBundle, boolean guarded) throws IdpException {
    Factories factories;
    if (caBundle == null || caBundle.isBlank()) {
      factories = defaults;
    } else {
      String key = BoundedCache.key(caBundle);
      factories = byBundle.get(key);
      if (factories == null) {
        factories = factories(build(caBundle));
        byBundle.put(key, factories);
      }
    }
    return guarded ? factories.guarded() : factories.plain();
  }

  /** How many bundles' factories are cached. */
  int cachedBundles() {
    return byBundle.size();
  }

  private Factories factories(SSLSocketFactory plain) {
    return new Factories(plain, new GuardedSslSocketFactory(plain, guard));
  }

  private static SSLSocketFactory build(String caBundle) throws IdpException {
    try {
      Collection<? extends Certificate> certificates = CertificateFactory.getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(caBundle.getBytes(StandardCharsets.US_ASCII)));
      if (certificates.isEmpty()) {
        throw new IdpException(IdpException.Kind.REJECTED, "caBundle holds no PEM certificate");
      }
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int i = 0;
      for (Certificate certificate : certificates) {
        store.setCertificateEntry("ca-" + i++, certificate);
      }
      List<X509TrustManager> managers = new ArrayList<>();
      managers.add(trustManager(null));
      managers.add(trustManager(store));
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, new TrustManager[] {new AnyOfTrustManager(managers)}, null);
      return context.getSocketFactory();
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new IdpException(
          IdpException.Kind.REJECTED, "caBundle is not valid PEM: " + Messages.fromIdp(e.getMessage()), e);
    }
  }

  private static X509TrustManager trustManager(KeyStore store) throws GeneralSecurityException {
    TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(store);
    for (TrustManager manager : factory.getTrustManagers()) {
      if (manager instanceof X509TrustManager x509) {
        return x509;
      }
    }
    throw new GeneralSecurityException("no X509TrustManager available");
  }

  /** Trusts a server chain any one of its delegates trusts. */
  private record AnyOfTrustManager(List<X509TrustManager> delegates) implements X509TrustManager {

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws java.security.cert.CertificateException {
      throw new java.security.cert.CertificateException("client certificates are not used");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws java.security.cert.CertificateException {
      java.security.cert.CertificateException last = null;
      for (X509TrustManager delegate : delegates) {
        try {
          delegate.checkServerTrusted(chain, authType);
          return;
        } catch (java.security.cert.CertificateException e) {
          last = e;
        }
      }
      throw last;
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return delegates.stream()
          .flatMap(d -> java.util.Arrays.stream(d.getAcceptedIssuers()))
          .toArray(X509Certificate[]::new);
    }
  }
}
