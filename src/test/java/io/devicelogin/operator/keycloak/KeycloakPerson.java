package io.devicelogin.operator.keycloak;

import io.devicelogin.operator.browser.HeadlessChromium;
import java.time.Duration;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Plays the person who approves or denies a device login in Keycloak, or signs in at an authorization URL
 * ({@link #signInForRedirect}), in a real headless Chromium.
 *
 * <p>Each call is a new person in a fresh browser: it opens the verification page, types the user code if asked,
 * signs in on Keycloak's login form, answers the consent page with "Yes" or "No" when Keycloak shows one, and
 * checks that the final page confirms the outcome. Anything unexpected (wrong password, invalid or expired user
 * code, an unknown page) fails with an {@link IllegalStateException} that contains the text of the page.
 * Passwords are never logged or put into exception messages.
 */
public final class KeycloakPerson {

  private static final Duration PAGE_TIMEOUT = Duration.ofSeconds(30);
  private static final By USER_CODE_FORM = By.cssSelector("form#kc-user-verify-device-user-code-form");
  private static final By LOGIN_FORM = By.cssSelector("form#kc-form-login");
  private static final By SUBMIT = By.cssSelector("[type=submit]");
  private static final String APPROVED = "Device Login Successful";

  /** An answer on the consent page: the button pressed and the text the final page must show. */
  private enum Decision {
    APPROVE("accept", APPROVED),
    DENY("cancel", "Consent denied");

    final By button;
    final String outcome;

    Decision(String button, String outcome) {
      this.button = By.cssSelector("button[name=" + button + "]");
      this.outcome = outcome;
    }
  }

  private KeycloakPerson() {
  }

  /** Opens {@code verificationUriComplete} (it carries the user code), signs in and grants access. */
  public static void approve(String verificationUriComplete, String username, String password) {
    run(verificationUriComplete, null, username, password, Decision.APPROVE);
  }

  /** Opens {@code verificationUri}, types {@code userCode}, signs in and grants access. */
  public static void approve(String verificationUri, String userCode, String username, String password) {
    run(verificationUri, userCode, username, password, Decision.APPROVE);
  }

  /** Opens {@code verificationUriComplete}, signs in and refuses access ("No" on the consent page). */
  public static void deny(String verificationUriComplete, String username, String password) {
    run(verificationUriComplete, null, username, password, Decision.DENY);
  }

  /**
   * The authorization code grant: opens {@code authorizationUrl} in a fresh browser, signs in as {@code username},
   * answers "Yes" if Keycloak asks for consent, and lets Keycloak send the browser to {@code redirectUri} (with
   * {@code code}, {@code state} and {@code iss}). Nothing need listen there: with {@code http://localhost:8000/} the
   * page fails, as it does for a person whose IdP allows only a localhost redirect. Returns the address the browser
   * then shows, the URL a person pastes back.
   *
   * <p>What Chromium reports for the failed navigation: WebDriver's current URL ({@link WebDriver#getCurrentUrl()})
   * is the address the browser was sent to, as its address bar shows it, while the document that is loaded is
   * Chromium's error page, whose {@code window.location} is {@code chrome-error://chromewebdata/}. So the URL is read
   * with {@code getCurrentUrl()}, never from the page.
   */
  public static String signInForRedirect(String authorizationUrl, String redirectUri, String username, String password) {
    try (HeadlessChromium browser = HeadlessChromium.start()) {
      WebDriver driver = browser.driver();
      driver.get(authorizationUrl);
      boolean signedIn = false;
      boolean consented = false;
      while (!driver.getCurrentUrl().startsWith(redirectUri)) { // ends: each page is answered at most once
        if (isShown(driver, LOGIN_FORM) && !signedIn) {
          signIn(driver, username, password);
          signedIn = true;
        } else if (isShown(driver, Decision.APPROVE.button) && isShown(driver, Decision.DENY.button) && !consented) {
          click(driver, driver.findElement(Decision.APPROVE.button));
          consented = true;
        } else {
          throw unexpected(signedIn ? "sign-in as '" + username + "' did not lead to " + redirectUri
              : "expected a sign-in page", driver);
        }
      }
      return driver.getCurrentUrl();
    }
  }

  /**
   * On Keycloak's login page shown in {@code driver}: types the username and password into the form and submits it,
   * then waits for the next page to load.
   */
  public static void signIn(WebDriver driver, String username, String password) {
    WebElement form = driver.findElement(LOGIN_FORM);
    WebElement user = form.findElement(By.name("username"));
    user.clear();
    user.sendKeys(username);
    form.findElement(By.name("password")).sendKeys(password);
    click(driver, form.findElement(SUBMIT));
  }

  private static void run(String start, String userCode, String username, String password, Decision decision) {
    try (HeadlessChromium browser = HeadlessChromium.start()) {
      WebDriver driver = browser.driver();
      driver.get(start);
      boolean codeEntered = false;
      boolean signedIn = false;
      while (true) { // ends: each page kind is answered at most once, anything else throws
        if (isShown(driver, USER_CODE_FORM)) {
          if (userCode == null || codeEntered) {
            throw unexpected(codeEntered ? "the user code was not accepted" : "a user code is required", driver);
          }
          WebElement form = driver.findElement(USER_CODE_FORM);
          form.findElement(By.name("device_user_code")).sendKeys(userCode);
          click(driver, form.findElement(SUBMIT));
          codeEntered = true;
        } else if (isShown(driver, LOGIN_FORM)) {
          if (signedIn) {
            throw unexpected("sign-in as '" + username + "' failed", driver);
          }
          signIn(driver, username, password);
          signedIn = true;
        } else if (isShown(driver, Decision.APPROVE.button) && isShown(driver, Decision.DENY.button)) {
          click(driver, driver.findElement(decision.button));
          expectOutcome(decision, driver);
          return;
        } else if (signedIn && decision == Decision.APPROVE) { // no consent asked: Keycloak approved at sign-in
          expectOutcome(decision, driver);
          return;
        } else {
          throw unexpected("expected a user code, sign-in or consent page", driver);
        }
      }
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

  private static void expectOutcome(Decision decision, WebDriver driver) {
    if (!pageText(driver).contains(decision.outcome)) {
      throw unexpected("expected a page saying '" + decision.outcome + "'", driver);
    }
  }

  private static String pageText(WebDriver driver) {
    return driver.findElement(By.tagName("body")).getText();
  }

  private static IllegalStateException unexpected(String problem, WebDriver driver) {
    return new IllegalStateException("Keycloak login: " + problem + "; page " + driver.getCurrentUrl()
        + " says: " + pageText(driver));
  }
}
