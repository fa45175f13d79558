package io.devicelogin.operator.idp;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.junit.jupiter.api.Test;

/** What a provider's redirectUri may be (RFC 9700: exact, no fragment; RFC 8252: http only to the person's machine). */
class RedirectUrisTest {

  @Test
  void loopbackAndHttpsRedirectsAreSent() {
    for (String uri : new String[] {"http://localhost:8000/", "http://127.0.0.1:8000/callback", "http://[::1]:8000/",
        "https://login.example.com/callback", "https://login.example.com/cb?tenant=a", "HTTP://LOCALHOST:8000/"}) {
      assertThat(RedirectUris.problem(uri, false)).as(uri).isNull();
    }
  }

  @Test
  void plainHttpToAnotherHostNeedsAllowInsecureHttp() {
    String problem = RedirectUris.problem("http://portal.example.com/callback", false);
    assertThat(problem).contains("unencrypted").contains("allowInsecureHttp");
    assertThat(RedirectUris.problem("http://portal.example.com/callback", true)).isNull();
    assertThat(RedirectUris.problem("http://localhost.evil.example/", false)).as("not loopback by prefix").isNotNull();
  }

  @Test
  void malformedRedirectsAreRefusedWithAReason() {
    assertThat(RedirectUris.problem(null, false)).contains("needs spec.redirectUri");
    assertThat(RedirectUris.problem(" ", false)).contains("needs spec.redirectUri");
    assertThat(RedirectUris.problem("localhost:8000", false)).contains("absolute http(s) URL");
    assertThat(RedirectUris.problem("javascript:alert(1)", false)).contains("absolute http(s) URL");
    assertThat(RedirectUris.problem("https://x.example/cb#frag", false)).contains("fragment");
    assertThat(RedirectUris.problem("https://user@x.example/cb", false)).contains("user info");
    assertThat(RedirectUris.problem("https://a b", false)).contains("not a valid URL");
    assertThat(RedirectUris.problem("https://x.example/" + "a".repeat(2048), false)).contains("longer than");
  }

  @Test
  void loopbackIsExactlyThePersonsMachine() {
    assertThat(RedirectUris.loopback(URI.create("http://localhost:8000/"))).isTrue();
    assertThat(RedirectUris.loopback(URI.create("http://127.0.0.1/"))).isTrue();
    assertThat(RedirectUris.loopback(URI.create("http://[::1]:1/"))).isTrue();
    assertThat(RedirectUris.loopback(URI.create("http://127.0.0.2/"))).isFalse();
    assertThat(RedirectUris.loopback(URI.create("http://localhost.example/"))).isFalse();
  }
}
