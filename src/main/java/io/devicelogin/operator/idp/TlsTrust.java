package io.devicelogin.operator.idp;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/** Socket factories that trust the system CAs plus a provider's {@code caBundle}. */
final class TlsTrust {

  private final Map<String, SSLSocketFactory> byBundle = new ConcurrentHashMap<>();

  /** The default factory for a null bundle; throws IdpException(REJECTED) for a bundle that holds no certificate. */
  SSLSocketFactory socketFactory(String caBundle) throws IdpException {
    if (caBundle == null || caBundle.isBlank()) {
      return (SSLSocketFactory) SSLSocketFactory.getDefault();
    }
    SSLSocketFactory cached = byBundle.get(caBundle);
    if (cached != null) {
      return cached;
    }
    SSLSocketFactory created = build(caBundle);
    byBundle.put(caBundle, created);
    return created;
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
      throw new IdpException(IdpException.Kind.REJECTED, "caBundle is not valid PEM: " + e.getMessage(), e);
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
