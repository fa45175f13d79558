package io.devicelogin.operator.idp;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.common.contenttype.ContentType;
import com.nimbusds.oauth2.sdk.device.DeviceAuthorizationResponse;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Issue #14: how IdP answers that bend the RFCs are read (Google's verification_url, Retry-After). */
class IdpAnswersQuirksTest {

  private static final Instant NOW = Instant.parse("2026-11-30T12:00:00Z");

  private static HTTPResponse json(int status, String body) {
    HTTPResponse response = new HTTPResponse(status);
    response.setEntityContentType(ContentType.APPLICATION_JSON);
    response.setBody(body);
    return response;
  }

  @Test
  void googlesVerificationUrlIsReadAsVerificationUri() throws Exception {
    HTTPResponse google = json(200, "{\"device_code\":\"d\",\"user_code\":\"ABCD-EFGH\","
        + "\"verification_url\":\"https://www.google.com/device\",\"expires_in\":1800,\"interval\":5}");
    IdpAnswers.readVerificationUrlAsUri(google);
    assertThat(DeviceAuthorizationResponse.parse(google).toSuccessResponse().getVerificationURI())
        .hasToString("https://www.google.com/device");
  }

  @Test
  void verificationUriWinsOverVerificationUrlAndErrorsAreLeftAlone() throws Exception {
    HTTPResponse both = json(200, "{\"device_code\":\"d\",\"user_code\":\"ABCD-EFGH\",\"verification_uri\":"
        + "\"https://idp.example/device\",\"verification_url\":\"https://evil.example/\",\"expires_in\":600}");
    IdpAnswers.readVerificationUrlAsUri(both);
    assertThat(DeviceAuthorizationResponse.parse(both).toSuccessResponse().getVerificationURI())
        .hasToString("https://idp.example/device");
    String error = "{\"error\":\"invalid_client\",\"verification_url\":\"https://x.example/\"}";
    HTTPResponse refused = json(401, error);
    IdpAnswers.readVerificationUrlAsUri(refused);
    assertThat(refused.getBody()).isEqualTo(error);
  }

  @Test
  void retryAfterIsReadInSecondsOrAsAnHttpDate() {
    HTTPResponse seconds = new HTTPResponse(429);
    seconds.setHeader("Retry-After", " 120 ");
    assertThat(IdpAnswers.retryAfter(seconds, NOW)).isEqualTo(Duration.ofSeconds(120));
    HTTPResponse date = new HTTPResponse(503);
    date.setHeader("Retry-After", "Mon, 30 Nov 2026 12:00:45 GMT");
    assertThat(IdpAnswers.retryAfter(date, NOW)).isEqualTo(Duration.ofSeconds(45));
    HTTPResponse past = new HTTPResponse(503);
    past.setHeader("Retry-After", "Mon, 30 Nov 2026 11:00:00 GMT");
    assertThat(IdpAnswers.retryAfter(past, NOW)).isEqualTo(Duration.ZERO);
    for (String bad : new String[] {"-5", "soon", "99999999999999999999", ""}) {
      HTTPResponse response = new HTTPResponse(429);
      response.setHeader("Retry-After", bad);
      assertThat(IdpAnswers.retryAfter(response, NOW)).as(bad).isNull();
    }
    assertThat(IdpAnswers.retryAfter(new HTTPResponse(429), NOW)).isNull();
  }
}
