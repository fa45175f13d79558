package io.devicelogin.operator.testing;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginSpec;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderRef;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;

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

  public static DeviceLogin deviceLogin(String namespace, String name, String providerName) {
    DeviceLoginSpec spec = new DeviceLoginSpec();
    spec.setIdentityProviderRef(new IdentityProviderRef(providerName, IdentityProviderRef.Kind.IdentityProvider));
    DeviceLogin login = new DeviceLogin();
    login.setMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name).build());
    login.setSpec(spec);
    return login;
  }
}
