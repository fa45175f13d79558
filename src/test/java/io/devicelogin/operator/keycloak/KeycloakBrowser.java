package io.devicelogin.operator.keycloak;

import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Approves a device login, or signs in at an authorization URL, in Keycloak over plain HTTP, without a browser: the
 * demo's {@code --auto-approve}, which must work on machines without Chromium. Tests play the person in a real
 * browser with {@link KeycloakPerson}.
 *
 * <p>Each call starts with an empty cookie jar: it opens the verification page (or authorization URL), signs in with
 * the given credentials, answers Keycloak's consent page with "Yes" and checks that the final page confirms the
 * approval (or, for an authorization URL, stops at the redirect to the redirect URI without following it).
 * Anything unexpected (wrong password, invalid or expired user code, an unknown page) fails with an
 * {@link IllegalStateException} that contains the text of the page. Passwords are never logged or put into
 * exception messages.
 */
public final class KeycloakBrowser {

  private static final int MAX_REDIRECTS = 10;
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
  private static final String ACCEPT_HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
  private static final String APPROVED = "Device Login Successful";

  private static final HttpClient HTTP = HttpClient.newBuilder() // no CookieHandler: cookies live in the jar
      .followRedirects(HttpClient.Redirect.NEVER)
      .connectTimeout(Duration.ofSeconds(5))
      .build();
  private final CookieJar cookies = new CookieJar();
  /** Where redirects stop being followed: the redirect URI of an authorization URL; null for a device login. */
  private final String redirectUri;

  private KeycloakBrowser(String redirectUri) {
    this.redirectUri = redirectUri;
  }

  /** Opens {@code verificationUriComplete} (it carries the user code), signs in and grants access. */
  public static void approve(String verificationUriComplete, String username, String password) {
    Page outcome = new KeycloakBrowser(null).run(URI.create(verificationUriComplete), username, password);
    if (!outcome.document().text().contains(APPROVED)) {
      throw unexpected("expected a page saying '" + APPROVED + "'", outcome);
    }
  }

  /**
   * The authorization code grant: opens {@code authorizationUrl}, signs in and returns the address Keycloak then
   * redirects to ({@code redirectUri} with {@code code}, {@code state} and {@code iss}, from the {@code Location}
   * header), without opening it: the URL a person's browser ends on and pastes back.
   */
  public static URI signInForRedirect(String authorizationUrl, String redirectUri, String username, String password) {
    return new KeycloakBrowser(redirectUri).run(URI.create(authorizationUrl), username, password).uri();
  }

  /** Answers Keycloak's pages until the consent page was answered or the redirect to the redirect URI is reached. */
  private Page run(URI start, String username, String password) {
    Page page = get(start);
    boolean signedIn = false;
    while (true) { // ends: each page kind is answered at most once, anything else throws
      if (page.leftKeycloak()) {
        return page;
      }
      Element loginForm = page.document().selectFirst("form#kc-form-login");
      Element consentForm = page.document().selectFirst("form:has(button[name=accept]):has(button[name=cancel])");
      if (loginForm != null) {
        if (signedIn) {
          throw unexpected("sign-in as '" + username + "' failed", page);
        }
        page = submit(page, loginForm, Map.of("username", username, "password", password), "login");
        signedIn = true;
      } else if (consentForm != null) {
        Page outcome = submit(page, consentForm, Map.of(), "accept");
        if (redirectUri != null && !outcome.leftKeycloak()) {
          throw unexpected("expected a redirect to " + redirectUri + " after consent", outcome);
        }
        return outcome;
      } else {
        throw unexpected("expected a sign-in or consent page", page);
      }
    }
  }

  private Page submit(Page page, Element form, Map<String, String> fields, String button) {
    Map<String, String> data = new LinkedHashMap<>();
    for (Element input : form.select("input[name]:not([type=submit], [type=button], [type=image], [type=reset])")) {
      if (!input.is("[type=checkbox], [type=radio]") || input.hasAttr("checked")) {
        data.put(input.attr("name"), input.val());
      }
    }
    data.putAll(fields);
    data.put(button, form.select("button[name=" + button + "]").val());
    String action = form.absUrl("action");
    String body = data.entrySet().stream()
        .map(field -> encode(field.getKey()) + "=" + encode(field.getValue()))
        .collect(Collectors.joining("&"));
    return follow(request(action.isEmpty() ? page.uri() : URI.create(action))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build());
  }

  private Page get(URI uri) {
    return follow(request(uri).GET().build());
  }

  /** Sends {@code request} and follows redirects (always as GET, like a browser after a form POST). */
  private Page follow(HttpRequest request) {
    HttpRequest current = request;
    for (int redirects = 0; redirects <= MAX_REDIRECTS; redirects++) {
      HttpResponse<String> response = send(current);
      cookies.store(current.uri(), response.headers());
      if (response.statusCode() / 100 != 3) {
        return new Page(current.uri(), response.statusCode(), Jsoup.parse(response.body(), current.uri().toString()));
      }
      String location = response.headers().firstValue("Location")
          .orElseThrow(() -> new IllegalStateException("Redirect without Location from " + response.uri()));
      URI next = current.uri().resolve(location);
      if (redirectUri != null && next.toString().startsWith(redirectUri)) {
        return new Page(next, response.statusCode(), null);
      }
      current = request(next).GET().build();
    }
    throw new IllegalStateException("Too many redirects starting at " + request.uri());
  }

  private HttpRequest.Builder request(URI uri) {
    // Keycloak serves the device page and the device authorization endpoint at the same path and picks the
    // HTML one only for clients that accept HTML, like browsers do
    HttpRequest.Builder builder = HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT).header("Accept", ACCEPT_HTML);
    cookies.header(uri).ifPresent(cookie -> builder.header("Cookie", cookie));
    return builder;
  }

  private HttpResponse<String> send(HttpRequest request) {
    try {
      return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IllegalStateException(request.method() + " " + request.uri() + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted during " + request.method() + " " + request.uri(), e);
    }
  }

  private static IllegalStateException unexpected(String problem, Page page) {
    return new IllegalStateException("Keycloak login: " + problem + "; page " + page.uri()
        + " (HTTP " + page.status() + ") says: " + (page.leftKeycloak() ? "(not opened)" : page.document().text()));
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  /** A page Keycloak served, or (document null) the redirect to the redirect URI, which is not opened. */
  private record Page(URI uri, int status, Document document) {
    boolean leftKeycloak() {
      return document == null;
    }
  }
}
