package io.devicelogin.operator.idp;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.flow.Grant;
import io.devicelogin.operator.flow.Step;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Records that hold secrets must not print them: they end up in logs and exception messages. */
class SecretFreeToStringTest {

  static final Instant NOW = Instant.parse("2025-03-01T10:00:00Z");
  static final String DEVICE_CODE = "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS";
  static final String ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl";
  static final String ACCESS_TOKEN = "at-8xLOxBtZp8";
  static final String REFRESH_TOKEN = "rt-tGzv3JOkF0XG5Qx2TlKWIA";
  static final String CLIENT_SECRET = "cs-Zm9vYmFyYmF6cXV4";
  static final ProviderConfig PROVIDER =
      new ProviderConfig(URI.create("https://idp.example"), "kubectl", CLIENT_SECRET, null, List.of("openid"));

  @Test
  void deviceAuthorizationHidesTheDeviceCode() {
    DeviceAuthorization a = new DeviceAuthorization(DEVICE_CODE, "WDJB-MJHT", URI.create("https://idp/device"),
        URI.create("https://idp/device?user_code=WDJB-MJHT"), NOW.plusSeconds(600), Duration.ofSeconds(5));
    assertThat(a.toString()).doesNotContain(DEVICE_CODE).contains("WDJB-MJHT");
  }

  @Test
  void grantHidesTheDeviceCode() {
    DeviceAuthorization a = new DeviceAuthorization(DEVICE_CODE, "WDJB-MJHT", URI.create("https://idp/device"),
        null, NOW.plusSeconds(600), Duration.ofSeconds(5));
    Grant g = Grant.start(a, PROVIDER, 4, null);
    assertThat(g.deviceCode()).isEqualTo(DEVICE_CODE);
    assertThat(g.generation()).isEqualTo(4);
    assertThat(g.interval()).isEqualTo(Duration.ofSeconds(5));
    assertThat(g.issuerUrl()).isEqualTo("https://idp.example");
    assertThat(g.clientId()).isEqualTo("kubectl");
    assertThat(g.toString()).doesNotContain(DEVICE_CODE).doesNotContain(CLIENT_SECRET).contains("WDJB-MJHT", g.id());
    assertThat(g.withInterval(Duration.ofSeconds(10)).toString()).doesNotContain(DEVICE_CODE);
    assertThat(new Step.Continue(g, null, null, "m").toString()).doesNotContain(DEVICE_CODE);
  }

  @Test
  void grantIdsAreUnique() {
    DeviceAuthorization a = new DeviceAuthorization(DEVICE_CODE, "U", URI.create("https://idp/d"), null, NOW,
        Duration.ofSeconds(5));
    assertThat(Grant.start(a, PROVIDER, 1, null).id()).isNotEqualTo(Grant.start(a, PROVIDER, 1, null).id());
  }

  @Test
  void issuedTokensHideEveryToken() {
    IssuedTokens t = new IssuedTokens(ID_TOKEN, ACCESS_TOKEN, REFRESH_TOKEN, NOW.plusSeconds(300), NOW,
        Map.of("sub", "u1", "email", "alice@example.com"));
    for (String printed : List.of(t.toString(), new TokenPollResult.Issued(t).toString(),
        new Step.Issued(t).toString())) {
      assertThat(printed).doesNotContain(ID_TOKEN, ACCESS_TOKEN, REFRESH_TOKEN);
    }
  }

  @Test
  void providerConfigHidesTheClientSecret() {
    ProviderConfig p = new ProviderConfig(URI.create("https://idp.example"), "kubectl", CLIENT_SECRET, "PEM",
        List.of("openid", "email"));
    assertThat(p.confidential()).isTrue();
    assertThat(p.toString()).doesNotContain(CLIENT_SECRET).contains("kubectl", "confidential=true");
    ProviderConfig narrowed = p.withScopes(List.of("openid"));
    assertThat(narrowed.scopes()).containsExactly("openid");
    assertThat(narrowed.clientSecret()).isEqualTo(CLIENT_SECRET);
    assertThat(narrowed.toString()).doesNotContain(CLIENT_SECRET);
    assertThat(new ProviderConfig(URI.create("https://idp"), "c", null, null, List.of()).confidential()).isFalse();
  }
}
