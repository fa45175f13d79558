package io.devicelogin.operator.testing;

import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProvider;
import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginSpec;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderRef;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** Builders for the resources tests create, as a user would with kubectl. */
public final class Resources {

  private Resources() {}

  public static IdentityProvider identityProvider(String namespace, String name, String issuer, String clientId) {
    IdentityProviderSpec spec = new IdentityProviderSpec();
    spec.setIssuerUrl(issuer);
    spec.setClientId(clientId);
    spec.setAllowInsecureHttp(issuer.startsWith("http://"));
    IdentityProvider provider = new IdentityProvider();
    provider.setMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name).build());
    provider.setSpec(spec);
    return provider;
  }

  /**
   * {@code provider} with requireUser: false, so logins without spec.user may use it: for tests about other behaviour
   * than who may complete a login (that is IdentityBindingIT's and TenancyIT's).
   */
  public static IdentityProvider anyUser(IdentityProvider provider) {
    provider.getSpec().setRequireUser(false);
    return provider;
  }

  public static ClusterIdentityProvider clusterIdentityProvider(String name, String issuer, String clientId) {
    ClusterIdentityProviderSpec spec = new ClusterIdentityProviderSpec();
    spec.setIssuerUrl(issuer);
    spec.setClientId(clientId);
    spec.setAllowInsecureHttp(issuer.startsWith("http://"));
    ClusterIdentityProvider provider = new ClusterIdentityProvider();
    provider.setMetadata(new ObjectMetaBuilder().withName(name).build());
    provider.setSpec(spec);
    return provider;
  }

  /** A Secret holding a client secret, labelled so the operator may read it (devicelogin.io/client-secret). */
  public static Secret clientSecret(String namespace, String name, String key, String value) {
    return new SecretBuilder().withNewMetadata().withNamespace(namespace).withName(name)
        .addToLabels(Constants.CLIENT_SECRET_LABEL, "true").endMetadata()
        .addToData(key, Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8))).build();
  }

  /**
   * The Secret a person or portal creates to paste back {@code redirectedUrl}, the address the browser was sent to, for
   * the DeviceLogin {@code login} (type devicelogin.io/authorization-response, key redirect-url, the label naming the
   * login), as {@code kubectl create secret generic --type … --from-literal redirect-url=…} plus the label. In
   * {@code data}: the API stand-in, unlike a real API server, does not turn stringData into data.
   */
  public static Secret authorizationResponse(String namespace, String login, String redirectedUrl) {
    return new SecretBuilder().withNewMetadata().withGenerateName(login + "-response-").withNamespace(namespace)
        .addToLabels(Constants.DEVICELOGIN_LABEL, login).endMetadata()
        .withType(Constants.AUTHORIZATION_RESPONSE_TYPE)
        .addToData(Constants.REDIRECT_URL_KEY,
            Base64.getEncoder().encodeToString(redirectedUrl.getBytes(StandardCharsets.UTF_8)))
        .build();
  }

  /** A DeviceLogin only {@code user} can complete (spec.user), as providers require by default. */
  public static DeviceLogin deviceLogin(String namespace, String name, String providerName, String user) {
    DeviceLogin login = deviceLogin(namespace, name, providerName);
    login.getSpec().setUser(user);
    return login;
  }

  public static DeviceLogin deviceLogin(String namespace, String name, String providerName) {
    DeviceLoginSpec spec = new DeviceLoginSpec();
    spec.setIdentityProviderRef(new IdentityProviderRef(providerName, IdentityProviderRef.Kind.IdentityProvider));
    DeviceLogin login = new DeviceLogin();
    login.setMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name).build());
    login.setSpec(spec);
    return login;
  }
}
