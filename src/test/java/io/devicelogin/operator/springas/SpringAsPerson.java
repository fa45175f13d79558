package io.devicelogin.operator.springas;

import io.devicelogin.operator.browser.HeadlessChromium;
import java.time.Duration;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Plays the person at the {@link SpringAuthorizationServer} in a real headless Chromium, on Spring's own pages (Spring
 * Security's login form, Spring Authorization Server's consent page): approves a device login ({@link #approve}), or
 * signs in at an authorization URL and approves ({@link #signInForRedirect}) or refuses ({@link #refuseForRedirect}).
 *
 * <p>Each call is a new person in a fresh browser. Approving ticks every permission the consent page lists and
 * submits it; refusing presses its "Cancel". Anything unexpected (a failed sign-in, an unknown page) fails with an
 * {@link IllegalStateException} that contains the text of the page. Passwords are never logged or put into exception
 * messages.
 */
public final class SpringAsPerson {

  private static final Duration PAGE_TIMEOUT = Duration.ofSeconds(30);
  private static final By LOGIN_FORM = By.cssSelector("form.login-form[action$='/login']");
  private static final By CONSENT_FORM = By.cssSelector("form[name=consent_form]");
  private static final By SCOPE = By.cssSelector("input[type=checkbox][name=scope]:not([disabled])");
  private static final By SUBMIT_CONSENT = By.id("submit-consent");
  private static final By CANCEL_CONSENT = By.id("cancel-consent");
  /** Where Spring Authorization Server sends the browser after an approved device verification. */
  private static final String APPROVED = "/?success";

  private SpringAsPerson() {
  }

  /**
   * Opens {@code verificationUriComplete} (it carries the user code), signs in and grants every permission asked; Spring
   * asks nothing when this person consented to all of them before.
   */
  public static void approve(String verificationUriComplete, SpringAuthorizationServer.Person person) {
    try (HeadlessChromium browser = HeadlessChromium.start()) {
      WebDriver driver = signedIn(browser, verificationUriComplete, person);
      if (!driver.getCurrentUrl().endsWith(APPROVED)) {
        consent(driver, true);
      }
      if (!driver.getCurrentUrl().endsWith(APPROVED)) {
        throw unexpected("expected the approval to lead to " + APPROVED, driver);
      }
    }
  }

  /**
   * The authorization code grant: opens {@code authorizationUrl}, signs in, grants every permission asked (Spring asks
   * nothing when the person consented before), and lets Spring send the browser to
   * {@link SpringAuthorizationServer#REDIRECT_URI}, where nothing listens. Returns the address the browser shows then
   * (WebDriver's current URL, see {@code KeycloakPerson.signInForRedirect}), the URL a person pastes back.
   */
  public static String signInForRedirect(String authorizationUrl, SpringAuthorizationServer.Person person) {
    return codeGrant(authorizationUrl, person, true);
  }

  /**
   * Like {@link #signInForRedirect}, but refuses: "Cancel" on the consent page, and Spring sends the browser to the
   * redirect URI with {@code error=access_denied}; returns that address.
   */
  public static String refuseForRedirect(String authorizationUrl, SpringAuthorizationServer.Person person) {
    return codeGrant(authorizationUrl, person, false);
  }

  private static String codeGrant(String authorizationUrl, SpringAuthorizationServer.Person person, boolean approve) {
    try (HeadlessChromium browser = HeadlessChromium.start()) {
      WebDriver driver = signedIn(browser, authorizationUrl, person);
      if (!approve || !driver.getCurrentUrl().startsWith(SpringAuthorizationServer.REDIRECT_URI)) {
        consent(driver, approve);
      }
      if (!driver.getCurrentUrl().startsWith(SpringAuthorizationServer.REDIRECT_URI)) {
        throw unexpected("expected to be sent to " + SpringAuthorizationServer.REDIRECT_URI, driver);
      }
      return driver.getCurrentUrl();
    }
  }

  private static WebDriver signedIn(HeadlessChromium browser, String start, SpringAuthorizationServer.Person person) {
    WebDriver driver = browser.driver();
    driver.get(start);
    if (!isShown(driver, LOGIN_FORM)) {
      throw unexpected("expected Spring's sign-in page", driver);
    }
    WebElement form = driver.findElement(LOGIN_FORM);
    form.findElement(By.name("username")).sendKeys(person.username());
    form.findElement(By.name("password")).sendKeys(person.password());
    click(driver, form.findElement(By.cssSelector("button[type=submit]")));
    if (isShown(driver, LOGIN_FORM)) {
      throw unexpected("sign-in as '" + person.username() + "' failed", driver);
    }
    return driver;
  }

  private static void consent(WebDriver driver, boolean approve) {
    if (!isShown(driver, CONSENT_FORM)) {
      throw unexpected("expected Spring's consent page", driver);
    }
    if (approve) {
      driver.findElements(SCOPE).forEach(WebElement::click);
      click(driver, driver.findElement(SUBMIT_CONSENT));
    } else {
      click(driver, driver.findElement(CANCEL_CONSENT));
    }
  }

  private static boolean isShown(WebDriver driver, By locator) {
    return !driver.findElements(locator).isEmpty();
  }

  /** Clicks {@code button} like a person and waits until the page it leads to has loaded. */
  private static void click(WebDriver driver, WebElement button) {
    button.click();
    WebDriverWait wait = new WebDriverWait(driver, PAGE_TIMEOUT);
    wait.until(ExpectedConditions.stalenessOf(button));
    wait.until(loaded -> "complete".equals(((JavascriptExecutor) loaded).executeScript("return document.readyState")));
  }

  private static String pageText(WebDriver driver) {
    return driver.findElement(By.tagName("body")).getText();
  }

  private static IllegalStateException unexpected(String problem, WebDriver driver) {
    return new IllegalStateException("Spring Authorization Server login: " + problem + "; page "
        + driver.getCurrentUrl() + " says: " + pageText(driver));
  }
}
