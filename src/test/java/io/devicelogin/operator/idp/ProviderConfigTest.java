package io.devicelogin.operator.idp;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProviderConfigTest {

  @Test
  void authorizationParametersAreCopiedSortedKeptByEveryWitherAndPrintedByNameOnly() {
    Map<String, String> parameters = new HashMap<>(Map.of("organization", "org_5Kd9", "audience", "x".repeat(1024)));
    ProviderConfig config = new ProviderConfig(URI.create("https://idp.example"), "cli", "client-s3cret", null,
        List.of("openid"), "team-a", false, null, parameters);
    parameters.put("prompt", "login"); // the config holds its own copy
    assertThat(config.authorizationParameters()).containsExactly(
        Map.entry("audience", "x".repeat(1024)), Map.entry("organization", "org_5Kd9"));
    assertThat(config.withScopes(List.of("openid", "groups")).authorizationParameters())
        .isEqualTo(config.authorizationParameters());
    assertThat(config.withRedirectUri(URI.create("http://localhost:8000/")).authorizationParameters())
        .isEqualTo(config.authorizationParameters());
    assertThat(config.toString()).contains("authorizationParameters=[audience, organization]")
        .doesNotContain("org_5Kd9").doesNotContain("xxxx").doesNotContain("client-s3cret");
    assertThat(new ProviderConfig(URI.create("https://idp.example"), "cli", null, null, List.of("openid"))
        .authorizationParameters()).isEmpty();
  }
}
