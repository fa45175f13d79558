package io.devicelogin.operator.flow;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.idp.ProviderConfig;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProviderChangeTest {

  static ProviderConfig provider(String issuer, String clientId) {
    return new ProviderConfig(URI.create(issuer), clientId, "client-s3cret", null, List.of("openid"));
  }

  @Test
  void onlyTheSameIssuerAndClientMayUseHeldCredentials() {
    assertThat(ProviderChange.since("https://idp.example/realms/a", "kubectl",
        provider("https://idp.example/realms/a", "kubectl").withScopes(List.of("openid", "groups"))))
        .as("other scopes or client secret are the same provider").isEmpty();
    assertThat(ProviderChange.since("https://idp.example/realms/a", "kubectl",
        provider("https://evil.example/realms/a", "kubectl")))
        .contains("the provider's issuerUrl is now https://evil.example/realms/a (was https://idp.example/realms/a)");
    assertThat(ProviderChange.since("https://idp.example/realms/a", "kubectl",
        provider("https://idp.example/realms/a/", "kubectl")))
        .as("not normalised: any difference is a change").isPresent();
    assertThat(ProviderChange.since("https://idp.example/realms/a", "kubectl",
        provider("https://idp.example/realms/a", "portal")))
        .contains("the provider's clientId is now portal (was kubectl)");
    assertThat(ProviderChange.since(null, null, provider("https://b.example", "portal")))
        .contains("the provider's issuerUrl is now https://b.example (was not recorded) and its clientId is now "
            + "portal (was not recorded)");
    assertThat(ProviderChange.since("https://a.example", "kubectl", provider("https://b.example", "portal")).get())
        .doesNotContain("client-s3cret");
  }
}
