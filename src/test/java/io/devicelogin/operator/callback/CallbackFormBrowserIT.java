package io.devicelogin.operator.callback;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.browser.HeadlessChromium;
import io.devicelogin.operator.idp.RedirectResponse;
import io.devicelogin.operator.metrics.OperatorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The callback endpoint in a real headless Chromium, which enforces its Content-Security-Policy: the paste form still
 * posts (form-action 'self'), and a redirect straight from the IdP lands on the receipt page.
 */
class CallbackFormBrowserIT {

  private final List<RedirectResponse> delivered = new CopyOnWriteArrayList<>();
  private CallbackServer server;

  @BeforeEach
  void start() throws IOException {
    server = CallbackServer.start(0, response -> {
      delivered.add(response);
      return response instanceof RedirectResponse.Code ? Receipt.ACCEPTED : Receipt.UNREADABLE;
    }, new OperatorMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void aPersonPastesTheAddressTheirBrowserWasSentToAndTheFormPostsItUnderTheCsp() {
    String sentTo = "http://localhost:8000/?state=st-123&session_state=abc&code=c0de.456&iss="
        + "https%3A%2F%2Fidp.example%2Frealms%2Fdemo";
    try (HeadlessChromium browser = HeadlessChromium.start()) {
      WebDriver driver = browser.driver();
      driver.get("http://127.0.0.1:" + server.port() + CallbackServer.PATH);
      WebElement form = driver.findElement(By.tagName("form"));
      driver.findElement(By.name(CallbackServer.FIELD)).sendKeys(sentTo);
      driver.findElement(By.tagName("button")).click();
      // the receipt page replaces the form page: read it only once the form is gone
      new WebDriverWait(driver, Duration.ofSeconds(20)).until(ExpectedConditions.stalenessOf(form));

      assertThat(driver.findElement(By.tagName("p")).getText()).isEqualTo(Receipt.ACCEPTED.page());
      assertThat(driver.getCurrentUrl()).endsWith(CallbackServer.PATH);
    }
    assertThat(delivered).containsExactly(
        new RedirectResponse.Code("c0de.456", "st-123", "https://idp.example/realms/demo"));
  }

  @Test
  void aRedirectStraightFromTheIdpShowsTheReceiptAndRunsNothingItCarries() {
    try (HeadlessChromium browser = HeadlessChromium.start()) {
      WebDriver driver = browser.driver();
      driver.get("http://127.0.0.1:" + server.port() + CallbackServer.PATH
          + "?code=c0de&state=%3Cscript%3Ewindow.pwned%3D1%3C%2Fscript%3E");
      assertThat(driver.findElement(By.tagName("p")).getText()).isEqualTo(Receipt.ACCEPTED.page());
      assertThat(driver.findElements(By.tagName("script"))).isEmpty();
      assertThat(((org.openqa.selenium.JavascriptExecutor) driver).executeScript("return window.pwned === undefined"))
          .isEqualTo(true);
    }
    assertThat(delivered).containsExactly(new RedirectResponse.Code("c0de", "<script>window.pwned=1</script>", null));
  }
}
