package io.devicelogin.operator.idp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A redirect URL is whatever a person (or someone pretending to be one) pasted or sent: read it defensively. */
class RedirectResponseTest {

  private static final String CODE = "SplxlOBeZQQYbYS6WxSbIA-s3cr3t";
  private static final String STATE = "team-a.alice." + "A".repeat(43);
  private static final String ISSUER = "https://idp.example/realms/corp";

  @Test
  void aCodeRedirectIsReadWithItsStateAndIss() {
    RedirectResponse response = RedirectResponse.fromUrl("http://localhost:8000/?code=" + CODE + "&state=" + STATE
        + "&iss=" + ISSUER.replace(":", "%3A").replace("/", "%2F"));
    assertThat(response).isEqualTo(new RedirectResponse.Code(CODE, STATE, ISSUER));
  }

  @Test
  void surroundingWhitespaceOfAPasteIsIgnoredAndIssIsOptional() {
    RedirectResponse response = RedirectResponse.fromUrl("  http://localhost:8000/cb?state=" + STATE + "&code="
        + CODE + "\n");
    assertThat(response).isEqualTo(new RedirectResponse.Code(CODE, STATE, null));
  }

  @Test
  void aParameterGivenTwiceIsUnreadable() {
    assertUnreadable(RedirectResponse.fromUrl("http://localhost:8000/?code=" + CODE + "&state=" + STATE
        + "&state=other"), "more than once");
    assertUnreadable(RedirectResponse.fromUrl("http://localhost:8000/?code=a&code=b&state=" + STATE),
        "more than once");
    assertUnreadable(RedirectResponse.fromQuery("code=a&state=" + STATE + "&iss=x&iss=y"), "more than once");
  }

  @Test
  void oversizedInputIsUnreadable() {
    assertUnreadable(RedirectResponse.fromUrl("http://localhost:8000/?code=" + "c".repeat(9000) + "&state=s"),
        "longer than 8192");
    assertUnreadable(RedirectResponse.fromQuery("code=" + "c".repeat(9000)), "longer than 8192");
    assertUnreadable(RedirectResponse.fromUrl("http://localhost:8000/?code=" + "c".repeat(2049) + "&state="
        + STATE), "longer than 2048");
    assertUnreadable(RedirectResponse.fromParameters(Map.of("code", List.of(CODE), "state", List.of("s".repeat(2049)))),
        "longer than 2048");
  }

  @Test
  void aCodeWithoutStateAndNonsenseAreUnreadable() {
    assertUnreadable(RedirectResponse.fromUrl("http://localhost:8000/?code=" + CODE), "no state");
    assertUnreadable(RedirectResponse.fromUrl("http://localhost:8000/?code=" + CODE + "&state="), "no state");
    assertUnreadable(RedirectResponse.fromUrl("http://localhost:8000/"), "no query");
    assertUnreadable(RedirectResponse.fromUrl("http://localhost:8000/?foo=bar"), "no state");
    assertUnreadable(RedirectResponse.fromUrl("http://localhost:8000/?state=" + STATE), "neither");
    assertUnreadable(RedirectResponse.fromQuery("state=" + STATE + "&iss=" + ISSUER), "neither");
    assertUnreadable(RedirectResponse.fromUrl("http://localhost:8000/?code=&state=" + STATE), "neither");
    assertUnreadable(RedirectResponse.fromUrl("not a url at all ^"), "not a URL");
    assertUnreadable(RedirectResponse.fromUrl(""), "no URL");
    assertUnreadable(RedirectResponse.fromUrl(null), "no URL");
    assertUnreadable(RedirectResponse.fromQuery(""), "no query");
    assertUnreadable(RedirectResponse.fromQuery(null), "no query");
  }

  @Test
  void errorsAreReadWithASanitisedBoundedDescription() {
    RedirectResponse response = RedirectResponse.fromUrl("http://localhost:8000/?error=access_denied"
        + "&error_description=The+user+said+%3Cb%3Eno%3C%2Fb%3E%0D%0ASet-Cookie%3A+x%1B%5B31m%22%5C%C3%A9"
        + "&state=" + STATE);
    assertThat(response).isInstanceOf(RedirectResponse.Error.class);
    RedirectResponse.Error error = (RedirectResponse.Error) response;
    assertThat(error.denied()).isTrue();
    assertThat(error.state()).isEqualTo(STATE);
    assertThat(error.description()).isEqualTo("The user said <b>no</b>Set-Cookie: x[31m")
        .doesNotContain("\r").doesNotContain("\n").doesNotContain("\u001b").doesNotContain("\"")
        .doesNotContain("\\");

    RedirectResponse.Error long_ = (RedirectResponse.Error) RedirectResponse.fromQuery("error=server_error"
        + "&error_description=" + "x".repeat(1000));
    assertThat(long_.description()).hasSize(RedirectResponse.MAX_DESCRIPTION_CHARS);
    assertThat(long_.denied()).isFalse();
    assertThat(long_.state()).as("an error without state names no login").isNull();
  }

  @Test
  void toStringNeverShowsTheCode() {
    RedirectResponse response = RedirectResponse.fromUrl("http://localhost:8000/?code=" + CODE + "&state=" + STATE);
    assertThat(response.toString()).doesNotContain(CODE).contains(STATE);
    assertUnreadable(RedirectResponse.fromUrl("http://localhost:8000/?code=" + CODE + "&code=x&state=" + STATE),
        "more than once");
    assertThat(RedirectResponse.fromUrl("http://localhost:8000/?code=" + CODE + "&code=x").toString())
        .doesNotContain(CODE);
    assertThat(RedirectResponse.fromUrl("http://localhost:8000/?code=" + CODE).toString()).doesNotContain(CODE);
  }

  private static void assertUnreadable(RedirectResponse response, String why) {
    assertThat(response).isInstanceOf(RedirectResponse.Unreadable.class);
    assertThat(((RedirectResponse.Unreadable) response).why()).contains(why).doesNotContain(CODE);
  }
}
