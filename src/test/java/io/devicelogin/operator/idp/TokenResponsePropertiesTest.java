package io.devicelogin.operator.idp;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.idp.TokenResponseProperties.IdTokenDefect;
import io.devicelogin.operator.idp.TokenResponseProperties.Served;
import io.devicelogin.operator.metrics.OperatorMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;

/**
 * Property-based tests of the production {@link NimbusIdentityProviderClient} against arbitrary token endpoint
 * answers (any status, any content type, random JSON objects with random, missing and wrongly typed fields, truncated
 * JSON, non-objects, HTML, empty and huge bodies, and token responses whose ID token is valid or has one defect):
 *
 * <ul>
 *   <li>no exception escapes {@code pollToken} / {@code refresh}; the result is one of the sealed variants;
 *   <li>{@code Issued} / {@code Refreshed} with an ID token only when the body held a validly signed ID token for
 *       this issuer and client, and then exactly that one; a well-formed success with a valid ID token is issued;
 *   <li>no message contains a token value from the body, the device code or the refresh token sent;
 *   <li>messages stay bounded (they end up in status conditions and Events).
 * </ul>
 *
 * <p>The seed is fixed so the figures in docs/RELIABILITY.md are reproducible; change it (or remove it) to explore.
 */
class TokenResponsePropertiesTest {

  static final int TRIES = 1000;
  /** Longest message accepted: a status condition, not a dump of the body. */
  static final int MAX_MESSAGE = 4096;

  private static final Set<String> TOKEN_FIELDS = Set.of("access_token", "refresh_token", "id_token", "device_code");

  private static TokenResponseProperties idp;
  private static NimbusIdentityProviderClient client;

  @BeforeContainer
  static void start() {
    idp = new TokenResponseProperties();
    client = TokenResponseProperties.client(new OperatorMetrics(new SimpleMeterRegistry()));
  }

  @AfterContainer
  static void stop() {
    if (idp != null) {
      idp.close();
    }
  }

  @Property(tries = TRIES, seed = "8628")
  void pollingAnyTokenResponseGivesASafeResult(
      @ForAll("responses") Served served, @ForAll("tokenValues") String deviceCode) {
    Served echoed = echo(served, deviceCode);
    idp.serve(echoed);
    TokenPollResult result = client.pollToken(idp.provider(), deviceCode);

    Statistics.label("body").collect(served.kind());
    Statistics.label("result").collect(result == null ? "null" : result.getClass().getSimpleName());
    assertThat(result).isNotNull();
    Set<String> secrets = TokenResponseProperties.union(echoed.secrets(), deviceCode);
    if (result instanceof TokenPollResult.Issued issued) {
      assertThat(echoed.validIdToken()).as("Issued without a valid ID token in the body").isNotNull();
      assertThat(issued.tokens().idToken()).isEqualTo(echoed.validIdToken());
      assertThat(issued.tokens().accessToken()).isNotNull();
      assertThat(issued.tokens().claims()).containsEntry("iss", idp.issuer());
    } else if (result instanceof TokenPollResult.Unavailable u) {
      assertSafe(u.message(), secrets);
    } else if (result instanceof TokenPollResult.Invalid i) {
      assertSafe(i.message(), secrets);
    } else {
      // Pending, SlowDown, AccessDenied, ExpiredToken: an OAuth error, never a 200
      assertThat(result).isInstanceOfAny(TokenPollResult.Pending.class, TokenPollResult.SlowDown.class,
          TokenPollResult.AccessDenied.class, TokenPollResult.ExpiredToken.class);
      assertThat(echoed.status()).isNotEqualTo(200);
    }
    if (echoed.wellFormedSuccess()) {
      assertThat(result).as("a well-formed 200 with a valid ID token").isInstanceOf(TokenPollResult.Issued.class);
    }
    if (echoed.status() >= 500) {
      assertThat(result).as("5xx keeps the login").isInstanceOf(TokenPollResult.Unavailable.class);
    }
    Statistics.label("result").coverage(c -> {
      c.check("Issued").count(n -> n > 0);
      c.check("Invalid").count(n -> n > 0);
      c.check("Unavailable").count(n -> n > 0);
      c.check("Pending").count(n -> n > 0);
    });
  }

  @Property(tries = TRIES, seed = "6749")
  void refreshingWithAnyTokenResponseGivesASafeResult(
      @ForAll("responses") Served served, @ForAll("tokenValues") String refreshToken) {
    Served echoed = echo(served, refreshToken);
    idp.serve(echoed);
    TokenRefreshResult result = client.refresh(idp.provider(), refreshToken);

    Statistics.label("body").collect(served.kind());
    Statistics.label("result").collect(result == null ? "null" : result.getClass().getSimpleName());
    assertThat(result).isNotNull();
    Set<String> secrets = TokenResponseProperties.union(echoed.secrets(), refreshToken);
    if (result instanceof TokenRefreshResult.Refreshed refreshed) {
      assertThat(echoed.status()).isEqualTo(200);
      assertThat(refreshed.tokens().accessToken()).isNotNull();
      if (refreshed.tokens().idToken() != null) {
        assertThat(echoed.validIdToken()).as("Refreshed with an ID token that is not valid").isNotNull();
        assertThat(refreshed.tokens().idToken()).isEqualTo(echoed.validIdToken());
      }
    } else if (result instanceof TokenRefreshResult.Unavailable u) {
      assertSafe(u.message(), secrets);
    } else if (result instanceof TokenRefreshResult.Rejected r) {
      assertSafe(r.message(), secrets);
    } else {
      assertThat(result).isInstanceOf(TokenRefreshResult.Invalid.class);
      assertSafe(((TokenRefreshResult.Invalid) result).message(), secrets);
    }
    if (echoed.wellFormedSuccess()) {
      assertThat(result).isInstanceOf(TokenRefreshResult.Refreshed.class);
    }
    if (echoed.status() >= 500) {
      assertThat(result).isInstanceOf(TokenRefreshResult.Unavailable.class);
    }
    Statistics.label("result").coverage(c -> {
      c.check("Refreshed").count(n -> n > 0);
      c.check("Invalid").count(n -> n > 0);
      c.check("Unavailable").count(n -> n > 0);
      c.check("Rejected").count(n -> n > 0);
    });
  }

  private static void assertSafe(String message, Set<String> secrets) {
    assertThat(message).isNotNull();
    assertThat(TokenResponseProperties.leaks(message, secrets)).as("token values in: %s", message).isEmpty();
    assertThat(message.length()).as("message length").isLessThanOrEqualTo(MAX_MESSAGE);
  }

  /** The IdP echoing the device code or refresh token it got (placeholder {@value #ECHO} in generated bodies). */
  private static Served echo(Served served, String sent) {
    if (!served.body().contains(ECHO)) {
      return served;
    }
    return new Served(served.kind(), served.status(), served.contentType(), served.body().replace(ECHO, sent),
        served.secrets(), served.validIdToken(), served.wellFormedSuccess());
  }

  static final String ECHO = "@@ECHO@@";

  // ---- generators

  @Provide
  Arbitrary<String> tokenValues() {
    return Arbitraries.strings().alpha().numeric().withChars("-_.~").ofMinLength(16).ofMaxLength(64)
        .map(s -> "T" + s);
  }

  @Provide
  Arbitrary<Served> responses() {
    return Arbitraries.frequencyOf(
        Tuple.of(30, randomObjects()),
        Tuple.of(8, errors()),
        Tuple.of(20, tokenResponses()),
        Tuple.of(8, truncated()),
        Tuple.of(5, notObjects()),
        Tuple.of(4, html()),
        Tuple.of(3, empty()),
        Tuple.of(4, huge()));
  }

  private Arbitrary<Integer> statuses() {
    return Arbitraries.frequencyOf(
        Tuple.of(8, Arbitraries.just(200)),
        Tuple.of(4, Arbitraries.of(400, 401, 403, 404, 429)),
        Tuple.of(2, Arbitraries.of(500, 502, 503, 504)),
        Tuple.of(2, Arbitraries.integers().between(200, 599)));
  }

  private Arbitrary<String> contentTypes() {
    return Arbitraries.frequencyOf(
        Tuple.of(10, Arbitraries.just("application/json")),
        Tuple.of(2, Arbitraries.just("application/json;charset=UTF-8")),
        Tuple.of(1, Arbitraries.of("text/html", "text/plain", "application/x-www-form-urlencoded",
            "application/jwt", "application/json;charset=ISO-8859-1", "x/y; q=", "")),
        Tuple.of(1, Arbitraries.just((String) null)));
  }

  /** One JSON member: name, serialized value, and the token value it carries (or null). */
  record Field(String name, String json, String secret) {}

  private Arbitrary<Field> fields() {
    Arbitrary<String> names = Arbitraries.frequencyOf(
        Tuple.of(6, Arbitraries.of("access_token", "token_type", "expires_in", "refresh_token", "id_token", "scope",
            "error", "error_description", "error_uri", "interval", "device_code")),
        Tuple.of(1, Arbitraries.strings().ofMaxLength(12)));
    return Combinators.combine(names, values()).as((name, value) ->
        new Field(name, value.json(), TOKEN_FIELDS.contains(name) ? value.secret() : null));
  }

  private Arbitrary<Field> values() {
    return Arbitraries.frequencyOf(
        Tuple.of(6, tokenValues().map(v -> new Field(null, quote(v), v))),
        Tuple.of(2, Arbitraries.of("Bearer", "bearer", "DPoP", "mac", "N_A", "").map(v -> new Field(null, quote(v), null))),
        Tuple.of(3, Arbitraries.of("authorization_pending", "slow_down", "access_denied", "expired_token",
            "invalid_grant", "invalid_client", "invalid_request", "unsupported_grant_type", "server_error",
            "temporarily_unavailable", "\"quoted\"", "has space", "ünïcödé")
            .map(v -> new Field(null, quote(v), null))),
        Tuple.of(2, Arbitraries.strings().ofMaxLength(40).map(v -> new Field(null, quote(v), null))),
        Tuple.of(1, Arbitraries.just(new Field(null, quote("the code " + ECHO + " is not valid"), null))),
        Tuple.of(2, Arbitraries.longs().map(v -> new Field(null, Long.toString(v), null))),
        Tuple.of(1, Arbitraries.of("1e400", "-0", "3.5", "1.0E-7", "99999999999999999999999").map(v -> new Field(null, v, null))),
        Tuple.of(1, Arbitraries.of("true", "false", "null").map(v -> new Field(null, v, null))),
        Tuple.of(1, Arbitraries.of("[]", "[1,\"a\",null]", "{}", "{\"nested\":{\"x\":[true]}}")
            .map(v -> new Field(null, v, null))));
  }

  private Arbitrary<List<Field>> fieldLists() {
    return fields().list().ofMaxSize(12);
  }

  private Arbitrary<Served> randomObjects() {
    return Combinators.combine(statuses(), contentTypes(), fieldLists()).as((status, type, fields) ->
        new Served("random JSON object", status, type, object(fields), secretsOf(fields), null, false));
  }

  private Arbitrary<Served> errors() {
    Arbitrary<String> codes = Arbitraries.of("authorization_pending", "slow_down", "access_denied", "expired_token",
        "invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope", "weird_error");
    return Combinators.combine(
            Arbitraries.of(400, 401, 403, 429, 200, 500, 503), contentTypes(), codes, fieldLists())
        .as((status, type, code, extra) -> {
          List<Field> fields = new ArrayList<>(extra);
          fields.add(0, new Field("error", quote(code), null));
          return new Served("OAuth error", status, type, object(fields), secretsOf(fields), null, false);
        });
  }

  private Arbitrary<Served> tokenResponses() {
    Arbitrary<IdTokenDefect> defects = Arbitraries.frequencyOf(
        Tuple.of(6, Arbitraries.just(IdTokenDefect.NONE)),
        Tuple.of(6, Arbitraries.of(IdTokenDefect.class)));
    Arbitrary<Boolean> clean = Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.just(true)),
        Tuple.of(1, Arbitraries.just(false)));
    Arbitrary<List<Field>> extras = Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(8).map(n -> "x_" + n)
        .flatMap(n -> values().map(v -> new Field(n, v.json(), null))).list().ofMaxSize(4);
    return Combinators.combine(defects, clean, statuses(), contentTypes(), tokenValues(), tokenValues(), extras,
            Arbitraries.integers().between(0, 3))
        .as((defect, isClean, status, type, access, refresh, extra, omit) -> {
          String idToken = idp.idToken(defect, access.substring(0, 10));
          int st = isClean ? 200 : status;
          String ct = isClean ? "application/json" : type;
          List<Field> fields = new ArrayList<>();
          fields.add(new Field("access_token", quote(access), access));
          fields.add(new Field("token_type", quote("Bearer"), null));
          fields.add(new Field("expires_in", "300", null));
          if (omit != 1) {
            fields.add(new Field("refresh_token", quote(refresh), refresh));
          }
          fields.add(new Field("id_token", quote(idToken), idToken));
          fields.addAll(extra);
          boolean valid = defect == IdTokenDefect.NONE;
          return new Served("token response, ID token " + defect, st, ct, object(fields), secretsOf(fields),
              valid ? idToken : null, valid && st == 200
                  && ("application/json".equals(ct) || "application/json;charset=UTF-8".equals(ct)));
        });
  }

  private Arbitrary<Served> truncated() {
    return Combinators.combine(tokenResponses(), Arbitraries.doubles().between(0, 1))
        .as((full, cut) -> {
          String body = full.body().substring(0, (int) (full.body().length() * cut));
          return new Served("truncated JSON", full.status(), full.contentType(), body, full.secrets(), null, false);
        });
  }

  private Arbitrary<Served> notObjects() {
    return Combinators.combine(statuses(), contentTypes(),
            Arbitraries.of("[]", "[{\"access_token\":\"" + ECHO + "\"}]", "\"" + ECHO + "\"", "42", "null", "true",
                "{", "}", "{\"a\":}", "{\"access_token\":\"x\",}", "\u0000\u0001", "{\"\\ud800\":1}"))
        .as((status, type, body) -> new Served("JSON that is not an object / invalid JSON", status, type, body,
            Set.of(), null, false));
  }

  private Arbitrary<Served> html() {
    return Combinators.combine(statuses(), Arbitraries.of("text/html", "application/json", null), tokenValues())
        .as((status, type, token) -> new Served("HTML page", status, type,
            "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1><!-- " + token
                + " --></body></html>", Set.of(token), null, false));
  }

  private Arbitrary<Served> empty() {
    return Combinators.combine(statuses(), contentTypes())
        .as((status, type) -> new Served("empty body", status, type, "", Set.of(), null, false));
  }

  private Arbitrary<Served> huge() {
    return Combinators.combine(statuses(), contentTypes(), Arbitraries.integers().between(10_000, 400_000),
            Arbitraries.of("access_token", "error_description", "error", "id_token", "x_padding"))
        .as((status, type, size, field) -> {
          String value = "A".repeat(size);
          List<Field> fields = List.of(new Field("error", quote("invalid_request"), null),
              new Field(field, quote(value), TOKEN_FIELDS.contains(field) ? value : null));
          return new Served("huge string (" + field + ")", status, type, object(fields), secretsOf(fields), null,
              false);
        });
  }

  // ---- JSON text

  private static String object(List<Field> fields) {
    StringBuilder json = new StringBuilder("{");
    for (Field field : fields) {
      if (json.length() > 1) {
        json.append(',');
      }
      json.append(quote(field.name())).append(':').append(field.json());
    }
    return json.append('}').toString();
  }

  private static Set<String> secretsOf(List<Field> fields) {
    Set<String> secrets = new LinkedHashSet<>();
    fields.stream().map(Field::secret).filter(s -> s != null && s.length() >= 16).forEach(secrets::add);
    return secrets;
  }

  static String quote(String s) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.append('"').toString();
  }
}
