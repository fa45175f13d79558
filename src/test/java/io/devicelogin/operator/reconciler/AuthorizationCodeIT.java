package io.devicelogin.operator.reconciler;

import static io.devicelogin.operator.testing.Logins.awaitLogin;
import static io.devicelogin.operator.testing.Logins.phase;
import static io.devicelogin.operator.testing.Logins.ready;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.pkce.CodeChallenge;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.openid.connect.sdk.AuthenticationRequest;
import io.devicelogin.operator.OperatorSettings;
import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.callback.Receipt;
import io.devicelogin.operator.flow.CodeFlow;
import io.devicelogin.operator.idp.CallLimiter;
import io.devicelogin.operator.idp.EgressGuard;
import io.devicelogin.operator.idp.NimbusIdentityProviderClient;
import io.devicelogin.operator.idp.RedirectResponse;
import io.devicelogin.operator.secret.CallbackInbox;
import io.devicelogin.operator.secret.GrantStore;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.status.Conditions;
import io.devicelogin.operator.status.DeviceLoginStatusBuilder;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.DiscoveryMode;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testidp.FaultProxy;
import io.devicelogin.operator.testidp.Outcome;
import io.devicelogin.operator.testidp.RecordedRequest;
import io.devicelogin.operator.testidp.SignIn;
import io.devicelogin.operator.testidp.TokenVariant;
import io.devicelogin.operator.testing.ApiFaults;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue #13 from outside: the authorization code grant with PKCE through the real operator (Nimbus IdP client) against
 * the mock API server and a {@link FakeIdp} whose sign-in page is {@link FakeIdp#signIn}. The IdP's redirect reaches
 * the operator as a pasted authorization-response Secret, or through the {@link CallbackInbox} the callback endpoint
 * hands it to. Every branch of the flow is driven as a person, a tenant or a hostile IdP would, and checked on the
 * DeviceLogin's status, the Secrets and the IdP's record of code exchanges (a code is never sent twice).
 */
class AuthorizationCodeIT {

  private static final String REDIRECT = "http://localhost:8000/";

  private static final ShiftedClock CLOCK = new ShiftedClock();
  private static FakeIdp idp;
  private static FaultProxy proxy;
  private static FakeIdp proxied;
  private static FakeIdp limited;
  private static OperatorFixture fixture;
  private static KubernetesClient client;
  private static final List<String> planted = new ArrayList<>();

  @BeforeAll
  static void start() {
    idp = FakeIdp.start();
    proxy = FaultProxy.start();
    proxied = FakeIdp.startBehind(proxy);
    limited = FakeIdp.start().pkceS256(false).discovery(DiscoveryMode.NO_DEVICE_ENDPOINT);
    fixture = OperatorFixture.start(metrics -> new NimbusIdentityProviderClient(
        Duration.ofSeconds(2), Duration.ofSeconds(3), metrics, Clock.systemUTC(), EgressGuard.none(),
        new CallLimiter(CallLimiter.defaultLimit(OperatorSettings.DEFAULT_RECONCILE_THREADS))), CLOCK);
    client = fixture.client();
  }

  @AfterAll
  static void stop() {
    try {
      List<String> secrets = new ArrayList<>(planted);
      for (FakeIdp each : List.of(idp, proxied, limited)) {
        secrets.addAll(Logins.secretsOf(each));
      }
      fixture.assertNoLeaks(secrets);
      fixture.close();
    } finally {
      idp.close();
      proxied.close();
      proxy.close();
      limited.close();
    }
  }

  // ---- completing a login

  @Test
  void aPastedRedirectCompletesTheLoginWithOneExchange() throws Exception {
    String ns = "code-paste";
    provider(ns, "corp", idp);
    URI url = startLogin(ns, "alice", "alice@example.com");

    AuthenticationRequest request = AuthenticationRequest.parse(url);
    assertThat(request.getEndpointURI()).isEqualTo(idp.authorizationEndpoint());
    assertThat(request.getClientID().getValue()).isEqualTo("cli");
    assertThat(request.getRedirectionURI()).as("exactly the provider's").isEqualTo(URI.create(REDIRECT));
    assertThat(request.getScope().toStringList()).containsExactly("openid", "profile", "email", "offline_access");
    assertThat(request.getCodeChallengeMethod()).isEqualTo(CodeChallengeMethod.S256);
    assertThat(request.getState().getValue()).matches("code-paste\\.alice\\.[A-Za-z0-9_-]{43}");
    assertThat(request.getNonce().getValue()).hasSizeGreaterThanOrEqualTo(16);
    DeviceLogin waiting = Logins.get(client, ns, "alice");
    assertThat(waiting.getStatus().getPhase()).isEqualTo(Phase.AwaitingUser);
    assertThat(ready(waiting).getReason()).isEqualTo("AuthorizationPending");
    assertThat(ready(waiting).getMessage()).contains("status.authorizationUrl").contains(REDIRECT)
        .contains(Constants.AUTHORIZATION_RESPONSE_TYPE);
    assertThat(waiting.getStatus().getUserCode()).isNull();
    assertThat(Duration.between(Instant.now(), Instant.parse(waiting.getStatus().getExpiresAt())))
        .isBetween(Duration.ofMinutes(9), Duration.ofMinutes(10));
    // the verifier was stored before the URL was published: it is the one the challenge was made from
    String verifier = value(grantSecret(ns, "alice"), "code-verifier");
    assertThat(CodeChallenge.compute(CodeChallengeMethod.S256, new CodeVerifier(verifier)))
        .isEqualTo(request.getCodeChallenge());

    String redirect = idp.signIn(url, Claims.user("alice"));
    SignIn signIn = idp.lastSignIn();
    long pasted = System.nanoTime();
    paste(ns, "alice", "alice-response", redirect);

    DeviceLogin done = awaitLogin(client, ns, "alice", phase(Phase.Ready));
    System.out.printf(java.util.Locale.ROOT, "AuthorizationCodeIT: paste -> Ready in %d ms (status polled every 100 ms)%n",
        (System.nanoTime() - pasted) / 1_000_000);
    assertThat(ready(done).getReason()).isEqualTo("Issued");
    assertThat(done.getStatus().getAuthorizationUrl()).as("cleared once the login ends").isNull();
    assertThat(done.getStatus().getIdentity().getUsername()).isEqualTo("alice@example.com");
    Secret tokens = client.secrets().inNamespace(ns).withName(done.getStatus().getSecretName()).get();
    assertThat(TokenSecrets.value(tokens, TokenSecrets.ID_TOKEN)).isEqualTo(signIn.issuedTokens().get(0).idToken());
    awaitGone(ns, "alice-response");
    awaitGone(ns, GrantStore.secretName(done));
    assertThat(exchangesOf(signIn)).singleElement().satisfies(exchange -> {
      assertThat(exchange.param("redirect_uri")).isEqualTo(REDIRECT);
      assertThat(exchange.param("code_verifier")).isEqualTo(verifier);
      assertThat(exchange.param("client_id")).isEqualTo("cli");
    });
    fixture.assertNoLeaks(List.of(signIn.code(), verifier));
    assertThat(Logins.events(client, ns, "alice")).extracting(e -> e.getMessage())
        .noneMatch(m -> m.contains(signIn.code()) || m.contains(verifier));
  }

  @Test
  void aResponseTheCallbackEndpointDeliversCompletesTheLogin() {
    String ns = "code-callback";
    provider(ns, "corp", idp);
    URI url = startLogin(ns, "bob", "bob@example.com");
    CallbackInbox inbox = new CallbackInbox(client, CLOCK);

    String redirect = idp.signIn(url, Claims.user("bob"));
    assertThat(inbox.deliver(RedirectResponse.fromUrl(redirect))).isEqualTo(Receipt.ACCEPTED);
    assertThat(inbox.deliver(RedirectResponse.fromUrl(redirect))).as("a state is used once")
        .isEqualTo(Receipt.UNKNOWN_STATE);
    paste(ns, "bob", "bob-too", redirect); // the same response through the other channel
    awaitGone(ns, "bob-too");

    DeviceLogin done = awaitLogin(client, ns, "bob", phase(Phase.Ready));
    assertThat(ready(done).getReason()).isEqualTo("Issued");
    assertThat(exchangesOf(idp.lastSignIn())).hasSize(1);
    assertThat(inbox.deliver(RedirectResponse.fromUrl(redirect))).as("after the login, too")
        .isEqualTo(Receipt.UNKNOWN_STATE);

    URI declined = startLogin(ns, "bea", "bea@example.com");
    assertThat(inbox.deliver(RedirectResponse.fromUrl(idp.denyAt(declined)))).isEqualTo(Receipt.ERROR_RECORDED);
    assertThat(ready(awaitLogin(client, ns, "bea", phase(Phase.Denied))).getReason()).isEqualTo("AccessDenied");
    assertThat(inbox.deliver(RedirectResponse.fromQuery("code=abc&state=" + ns + ".nobody." + "A".repeat(43))))
        .as("a state naming no login").isEqualTo(Receipt.UNKNOWN_STATE);
    assertThat(inbox.deliver(RedirectResponse.fromQuery("code=abc&state=x"))).isEqualTo(Receipt.UNKNOWN_STATE);
    assertThat(inbox.deliver(RedirectResponse.fromQuery("code=abc"))).isEqualTo(Receipt.UNREADABLE);
  }

  // ---- responses that are refused: the login keeps waiting

  @Test
  void wrongStatesAndIssAreRefusedAndTheLoginKeepsWaiting() {
    String ns = "code-refusals";
    provider(ns, "corp", idp);
    URI carolUrl = startLogin(ns, "carol", "carol@example.com");
    URI daveUrl = startLogin(ns, "dave", "dave@example.com");
    CallbackInbox inbox = new CallbackInbox(client, CLOCK);

    // another login's response, pasted for carol
    String daves = idp.signIn(daveUrl, Claims.user("dave"));
    SignIn daveSignIn = idp.lastSignIn();
    assertRefused(ns, "carol", "daves-for-carol", daves, "its state is not the one of this login's authorization URL");
    // carol's state with another random part
    String carols = idp.signIn(carolUrl, Claims.user("carol"));
    String state = stateOf(carolUrl);
    String forged = carols.replace(state, state.substring(0, state.length() - 4) + "AAAA");
    assertRefused(ns, "carol", "forged", forged, "its state is not the one");
    assertThat(inbox.deliver(RedirectResponse.fromUrl(forged))).isEqualTo(Receipt.UNKNOWN_STATE);
    // no iss although the IdP says it sends it, and a mix-up: another issuer's iss
    idp.responseIss(FakeIdp.ResponseIss.ABSENT);
    assertRefused(ns, "carol", "no-iss", idp.signIn(carolUrl, Claims.user("carol")), "it has no iss parameter");
    idp.responseIss(FakeIdp.ResponseIss.WRONG);
    String mixUp = idp.signIn(carolUrl, Claims.user("carol"));
    assertRefused(ns, "carol", "wrong-iss", mixUp, "its iss parameter names another issuer");
    assertThat(inbox.deliver(RedirectResponse.fromUrl(mixUp))).isEqualTo(Receipt.REFUSED);
    awaitLogin(client, ns, "carol", dl -> ready(dl).getMessage().contains("(callback, "));
    idp.responseIss(FakeIdp.ResponseIss.CORRECT);
    assertThat(idp.codeExchanges()).as("no refused code was sent").noneMatch(exchange ->
        idp.signIns().stream().filter(s -> s.state().startsWith(ns + ".")).anyMatch(s -> s.code()
            .equals(exchange.param("code"))));

    // both logins still complete with their own responses
    String good = idp.signIn(carolUrl, Claims.user("carol"));
    SignIn carolSignIn = idp.lastSignIn();
    paste(ns, "carol", "carol-response", good);
    DeviceLogin carol = awaitLogin(client, ns, "carol", phase(Phase.Ready));
    paste(ns, "dave", "dave-response", daves);
    awaitLogin(client, ns, "dave", phase(Phase.Ready));
    assertThat(exchangesOf(carolSignIn)).hasSize(1);
    assertThat(exchangesOf(daveSignIn)).hasSize(1);

    // the used state again, after the login completed: refused, the pasted Secret deleted, nothing changes
    Secret tokens = client.secrets().inNamespace(ns).withName(carol.getStatus().getSecretName()).get();
    paste(ns, "carol", "carol-again", good);
    awaitGone(ns, "carol-again");
    assertThat(inbox.deliver(RedirectResponse.fromUrl(good))).isEqualTo(Receipt.UNKNOWN_STATE);
    assertThat(Logins.get(client, ns, "carol").getStatus().getPhase()).isEqualTo(Phase.Ready);
    assertThat(client.secrets().inNamespace(ns).withName(carol.getStatus().getSecretName()).get().getMetadata()
        .getResourceVersion()).isEqualTo(tokens.getMetadata().getResourceVersion());
    assertThat(exchangesOf(carolSignIn)).hasSize(1);
  }

  @Test
  void anExpiredStateEndsTheLoginAndLateResponsesAreRefused() {
    String ns = "code-expired";
    provider(ns, "corp", idp);
    URI url = startLogin(ns, "erin", "erin@example.com");
    String redirect = idp.signIn(url, Claims.user("erin"));
    CallbackInbox inbox = new CallbackInbox(client, CLOCK);
    try {
      CLOCK.shift(CodeFlow.STATE_LIFETIME.plusMinutes(1));
      assertThat(inbox.deliver(RedirectResponse.fromUrl(redirect))).isEqualTo(Receipt.UNKNOWN_STATE);
      paste(ns, "erin", "erin-late", redirect);
      DeviceLogin expired = awaitLogin(client, ns, "erin", phase(Phase.Expired));
      assertThat(ready(expired).getReason()).isEqualTo("ExpiredToken");
      assertThat(ready(expired).getMessage()).contains("The authorization URL expired at")
          .contains("devicelogin.io/restart");
      assertThat(expired.getStatus().getAuthorizationUrl()).isNull();
      awaitGone(ns, "erin-late");
      awaitGone(ns, GrantStore.secretName(expired));
      paste(ns, "erin", "erin-later", redirect);
      awaitGone(ns, "erin-later");
      assertThat(Logins.get(client, ns, "erin").getStatus().getPhase()).isEqualTo(Phase.Expired);
      assertThat(exchangesOf(idp.lastSignIn())).isEmpty();
    } finally {
      CLOCK.shift(Duration.ZERO);
    }
  }

  // ---- the IdP says no

  @Test
  void theIdpsErrorRedirectEndsTheLoginWithASanitisedMessage() {
    String ns = "code-idp-errors";
    provider(ns, "corp", idp);
    URI denied = startLogin(ns, "frank", "frank@example.com");
    paste(ns, "frank", "frank-response", idp.denyAt(denied));
    DeviceLogin frank = awaitLogin(client, ns, "frank", phase(Phase.Denied));
    assertThat(ready(frank).getReason()).isEqualTo("AccessDenied");
    assertThat(ready(frank).getMessage()).contains("access_denied").contains("devicelogin.io/restart");

    URI failing = startLogin(ns, "grace", "grace@example.com");
    String state = stateOf(failing);
    String hostile = REDIRECT + "?error=server_error&error_description="
        + encode("Broken <script>alert(1)</script>\r\nX-Injected: 1\u001b[2J\u0000\u2028end") + "&state="
        + encode(state) + "&iss=" + encode(idp.issuer());
    paste(ns, "grace", "grace-response", hostile);
    DeviceLogin grace = awaitLogin(client, ns, "grace", phase(Phase.Failed));
    assertThat(ready(grace).getReason()).isEqualTo("InvalidTokenResponse");
    assertThat(ready(grace).getMessage())
        .contains("server_error (Broken <script>alert(1)</script>X-Injected: 1[2Jend)")
        .contains("no tokens were issued")
        .doesNotContain("\r").doesNotContain("\n").doesNotContain("\u001b").doesNotContain("\u0000")
        .doesNotContain("\u2028");
    awaitGone(ns, "grace-response");
    assertThat(client.secrets().inNamespace(ns).withLabel(Constants.MANAGED_BY_LABEL).list().getItems())
        .as("no token Secret, grant Secrets gone").isEmpty();
  }

  @Test
  void aRestartedLoginRefusesTheOldResponseAndAChangedProviderGetsNoCode() {
    String ns = "code-changes";
    provider(ns, "corp", idp);
    URI first = startLogin(ns, "rose", "rose@example.com");
    String old = idp.signIn(first, Claims.user("rose"));
    SignIn oldSignIn = idp.lastSignIn();
    DeviceLogin restart = Logins.get(client, ns, "rose");
    restart.getMetadata().setAnnotations(Map.of(Constants.RESTART_ANNOTATION, "again"));
    client.resource(restart).update();
    URI second = URI.create(awaitLogin(client, ns, "rose", dl -> dl.getStatus().getAuthorizationUrl() != null
        && !first.toString().equals(dl.getStatus().getAuthorizationUrl())).getStatus().getAuthorizationUrl());
    assertThat(stateOf(second)).isNotEqualTo(stateOf(first));
    assertRefused(ns, "rose", "rose-old", old, "its state is not the one");
    assertThat(exchangesOf(oldSignIn)).isEmpty();

    // the provider now names another client: the code, issued for the old one, is never sent
    String current = idp.signIn(second, Claims.user("rose"));
    IdentityProvider provider = client.resources(IdentityProvider.class).inNamespace(ns).withName("corp").get();
    provider.getSpec().setClientId("another-client");
    client.resource(provider).update();
    paste(ns, "rose", "rose-response", current);
    DeviceLogin ended = awaitLogin(client, ns, "rose", phase(Phase.Failed));
    assertThat(ready(ended).getReason()).isEqualTo("ProviderChanged");
    assertThat(ready(ended).getMessage()).contains("authorization code is never sent to another issuer or client");
    assertThat(exchangesOf(idp.lastSignIn())).isEmpty();
    assertNoTokenSecret(ns);
  }

  @Test
  void aWrongNonceInTheIdTokenFailsTheLoginAndStoresNothing() {
    String ns = "code-nonce";
    provider(ns, "corp", idp);
    URI url = startLogin(ns, "heidi", "heidi@example.com");
    idp.onNextCodeExchange(Outcome.tokens(TokenVariant.WRONG_NONCE));
    paste(ns, "heidi", "heidi-response", idp.signIn(url, Claims.user("heidi")));

    DeviceLogin failed = awaitLogin(client, ns, "heidi", phase(Phase.Failed));
    assertThat(ready(failed).getReason()).isEqualTo("InvalidTokenResponse");
    assertThat(ready(failed).getMessage()).containsIgnoringCase("nonce").contains("No Secret was written");
    assertNoTokenSecret(ns);
    assertThat(exchangesOf(idp.lastSignIn())).hasSize(1);
  }

  @Test
  void aRefusedExchangeSaysWhatToDoAndA5xxIsNotRetried() {
    String ns = "code-exchange-fails";
    provider(ns, "corp", idp);
    URI url = startLogin(ns, "ivan", "ivan@example.com");
    idp.onNextCodeExchange(Outcome.invalidGrant());
    paste(ns, "ivan", "ivan-response", idp.signIn(url, Claims.user("ivan")));
    DeviceLogin refused = awaitLogin(client, ns, "ivan", phase(Phase.Failed));
    assertThat(ready(refused).getReason()).isEqualTo("InvalidTokenResponse");
    assertThat(ready(refused).getMessage()).contains("invalid_grant").contains("a code is valid once")
        .contains("devicelogin.io/restart");
    assertNoTokenSecret(ns);

    // what the message says to do works: a new login, with a new state
    DeviceLogin restart = Logins.get(client, ns, "ivan");
    restart.getMetadata().setAnnotations(Map.of(Constants.RESTART_ANNOTATION, "1"));
    client.resource(restart).update();
    DeviceLogin again = awaitLogin(client, ns, "ivan", dl -> dl.getStatus().getPhase() == Phase.AwaitingUser
        && dl.getStatus().getAuthorizationUrl() != null && !url.toString().equals(dl.getStatus().getAuthorizationUrl()));
    paste(ns, "ivan", "ivan-again", idp.signIn(URI.create(again.getStatus().getAuthorizationUrl()),
        Claims.user("ivan")));
    awaitLogin(client, ns, "ivan", phase(Phase.Ready));

    URI unavailable = startLogin(ns, "judy", "judy@example.com");
    idp.onNextCodeExchange(Outcome.serverError());
    paste(ns, "judy", "judy-response", idp.signIn(unavailable, Claims.user("judy")));
    SignIn judy = idp.lastSignIn();
    DeviceLogin down = awaitLogin(client, ns, "judy", phase(Phase.Failed));
    assertThat(ready(down).getReason()).isEqualTo("IdPUnavailable");
    assertThat(ready(down).getMessage()).contains("HTTP 500").contains("not sent again")
        .contains("devicelogin.io/restart");
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4))
        .until(() -> exchangesOf(judy).size() == 1);
  }

  @Test
  void someoneElseSigningInEndsTheLoginAndTheirTokensAreRevoked() {
    String ns = "code-mismatch";
    provider(ns, "corp", idp);
    URI url = startLogin(ns, "kim", "kim@example.com");
    paste(ns, "kim", "kim-response", idp.signIn(url, Claims.user("mallory")));
    SignIn mallory = idp.lastSignIn();

    DeviceLogin failed = awaitLogin(client, ns, "kim", phase(Phase.Failed));
    assertThat(ready(failed).getReason()).isEqualTo("IdentityMismatch");
    assertThat(ready(failed).getMessage()).contains("kim@example.com");
    assertNoTokenSecret(ns);
    String refreshToken = mallory.issuedTokens().get(0).refreshToken();
    await().atMost(Duration.ofSeconds(10)).until(() -> idp.revokedTokens().contains(refreshToken));
  }

  // ---- crash safety: a code is exchanged at most once

  @Test
  void aResponseStoredWhileTheOperatorIsDownIsExchangedOnceAfterItStarts() {
    String ns = "code-stored-while-down";
    provider(ns, "corp", idp);
    URI url = startLogin(ns, "leo", "leo@example.com");
    String redirect = idp.signIn(url, Claims.user("leo"));
    fixture.stopOperator();
    try {
      assertThat(new CallbackInbox(client, CLOCK).deliver(RedirectResponse.fromUrl(redirect)))
          .isEqualTo(Receipt.ACCEPTED);
    } finally {
      fixture.startOperator();
    }
    awaitLogin(client, ns, "leo", phase(Phase.Ready));
    assertThat(exchangesOf(idp.lastSignIn())).hasSize(1);
  }

  @Test
  void anOperatorStoppedDuringTheExchangeNeverSendsTheCodeAgain() {
    String ns = "code-stopped-in-exchange";
    provider(ns, "corp", idp);
    URI url = startLogin(ns, "mia", "mia@example.com");
    idp.holdCodeExchanges();
    ApiFaults.Fault frozen = null;
    try {
      paste(ns, "mia", "mia-response", idp.signIn(url, Claims.user("mia")));
      SignIn mia = idp.lastSignIn();
      await().atMost(Duration.ofSeconds(10)).until(() -> exchangesOf(mia).size() == 1);
      assertThat(value(grantSecret(ns, "mia"), "exchanging")).as("marked before the code was sent").isEqualTo("true");
      // the process dies now: nothing it would still write reaches the API server
      frozen = fixture.cluster().faults().fail("operator writes in " + ns, request -> !request.fromTest()
          && request.isWrite() && ns.equals(request.namespace()), 503, Integer.MAX_VALUE);
      fixture.stopOperator();
      fixture.cluster().faults().remove(frozen);
      frozen = null;
      assertThat(Logins.get(client, ns, "mia").getStatus().getPhase()).isEqualTo(Phase.AwaitingUser);
      fixture.startOperator();

      DeviceLogin ended = awaitLogin(client, ns, "mia", phase(Phase.Failed));
      assertThat(ready(ended).getReason()).isEqualTo("CodeExchangeInterrupted");
      assertThat(ready(ended).getMessage()).contains("stopped while exchanging").contains("not sent again")
          .contains("devicelogin.io/restart");
      assertNoTokenSecret(ns);
      awaitGone(ns, GrantStore.secretName(ended));
      assertThat(exchangesOf(mia)).hasSize(1);
    } finally {
      idp.releaseCodeExchanges();
      if (frozen != null) {
        fixture.cluster().faults().remove(frozen);
        fixture.startOperator();
      }
    }
  }

  @Test
  void tokensWrittenBeforeTheOperatorStoppedAreRecoveredWithoutAnotherExchange() {
    String ns = "code-written-then-stopped";
    provider(ns, "corp", idp);
    URI url = startLogin(ns, "sam", "sam@example.com");
    // the process dies after writing the token Secret: its status write and the grant Secret's delete never land
    ApiFaults.Fault lost = fixture.cluster().faults().fail("operator's last writes in " + ns, request ->
        !request.fromTest() && ns.equals(request.namespace()) && (request.isStatusPatchOf("sam")
            || "DELETE".equals(request.method()) && request.bare().endsWith("/secrets/devicelogin-grant-sam")), 503,
        Integer.MAX_VALUE);
    try {
      paste(ns, "sam", "sam-response", idp.signIn(url, Claims.user("sam")));
      SignIn sam = idp.lastSignIn();
      await().atMost(Logins.TIMEOUT).until(() -> client.secrets().inNamespace(ns).list().getItems().stream()
          .anyMatch(secret -> Constants.TOKEN_SECRET_TYPE.equals(secret.getType())));
      fixture.stopOperator();
      fixture.cluster().faults().remove(lost);
      lost = null;
      assertThat(Logins.get(client, ns, "sam").getStatus().getPhase()).isEqualTo(Phase.AwaitingUser);
      assertThat(value(grantSecret(ns, "sam"), "exchanging")).isEqualTo("true");
      fixture.startOperator();

      DeviceLogin done = awaitLogin(client, ns, "sam", phase(Phase.Ready));
      assertThat(TokenSecrets.value(client.secrets().inNamespace(ns).withName(done.getStatus().getSecretName()).get(),
          TokenSecrets.ID_TOKEN)).isEqualTo(sam.issuedTokens().get(0).idToken());
      awaitGone(ns, GrantStore.secretName(done));
      assertThat(exchangesOf(sam)).hasSize(1);
    } finally {
      if (lost != null) {
        fixture.cluster().faults().remove(lost);
        fixture.startOperator();
      }
    }
  }

  @Test
  void tokensWhoseKeysCantBeFetchedAreKeptWithTheGrantUntilTheyCanBeChecked() {
    String ns = "code-jwks-down";
    provider(ns, "corp", proxied);
    URI url = startLogin(ns, "nina", "nina@example.com");
    proxied.rotateSigningKey(); // a key id the operator has not cached: the JWKS must be fetched
    proxy.fail(FaultProxy.Endpoint.JWKS, FaultProxy.Fault.SERVER_ERROR);
    try {
      paste(ns, "nina", "nina-response", proxied.signIn(url, Claims.user("nina")));
      SignIn nina = proxied.lastSignIn();
      DeviceLogin waiting = awaitLogin(client, ns, "nina", dl -> ready(dl).getMessage().contains("its signing keys"));
      assertThat(waiting.getStatus().getPhase()).isEqualTo(Phase.AwaitingUser);
      assertThat(ready(waiting).getReason()).isEqualTo("IdPUnavailable");
      assertThat(grantSecret(ns, "nina").getData()).containsKeys("unverified-id-token", "unverified-access-token");
      assertNoTokenSecret(ns);

      fixture.restartOperator();
      proxy.heal();
      DeviceLogin done = awaitLogin(client, ns, "nina", phase(Phase.Ready), Duration.ofSeconds(30));
      assertThat(TokenSecrets.value(client.secrets().inNamespace(ns).withName(done.getStatus().getSecretName()).get(),
          TokenSecrets.ID_TOKEN)).isEqualTo(nina.issuedTokens().get(0).idToken());
      assertThat(exchangesOf(nina, proxied)).hasSize(1);
    } finally {
      proxy.heal();
    }
  }

  // ---- provider conditions

  @Test
  void providersSayWhyTheirGrantCantBeUsed() {
    String ns = "code-providers";
    IdentityProvider noRedirect = Resources.identityProvider(ns, "no-redirect", idp.issuer(), "cli");
    noRedirect.getSpec().setGrant(IdentityProviderSpec.GrantType.AuthorizationCode);
    client.resource(noRedirect).create();
    assertProvider(ns, "no-redirect", "InvalidRedirectUri", "needs spec.redirectUri");

    IdentityProvider evil = Resources.identityProvider(ns, "evil", "https://idp.invalid/realms/x", "cli");
    evil.getSpec().setGrant(IdentityProviderSpec.GrantType.AuthorizationCode);
    evil.getSpec().setRedirectUri("http://evil.example/");
    client.resource(evil).create();
    assertProvider(ns, "evil", "InvalidRedirectUri", "uses http:// for a host other than localhost");

    provider(ns, "no-pkce", limited);
    assertProvider(ns, "no-pkce", "GrantNotSupported", "PKCE with S256");
    client.resource(Resources.identityProvider(ns, "no-device", limited.issuer(), "cli")).create();
    assertProvider(ns, "no-device", "GrantNotSupported", "no device_authorization_endpoint");

    client.resource(Resources.deviceLogin(ns, "olga", "no-pkce", "olga@example.com")).create();
    DeviceLogin waiting = awaitLogin(client, ns, "olga", dl -> "ProviderNotReady".equals(ready(dl).getReason()));
    assertThat(ready(waiting).getMessage()).contains("GrantNotSupported");
    assertThat(limited.requestsTo(limited.tokenEndpoint())).isEmpty();
  }

  // ---- tenants

  @Test
  void aResponsePastedInAnotherNamespaceChangesNothingThere() {
    String victimNs = "code-tenant-a";
    String attackerNs = "code-tenant-b";
    provider(victimNs, "corp", idp);
    provider(attackerNs, "corp", idp);
    URI victimUrl = startLogin(victimNs, "alice", "alice@example.com");
    startLogin(attackerNs, "alice", "alice@example.com");
    String victims = idp.signIn(victimUrl, Claims.user("alice"));
    SignIn victim = idp.lastSignIn();
    Secret grantBefore = grantSecret(victimNs, "alice");

    // the attacker's namespace has a login of the same name: it refuses the response, which is not its state
    paste(attackerNs, "alice", "stolen", victims);
    awaitGone(attackerNs, "stolen");
    assertThat(ready(awaitLogin(client, attackerNs, "alice", phase(Phase.AwaitingUser))).getMessage())
        .contains("A response was refused");
    // and a label naming a login that does not exist there wakes nothing at all
    paste(attackerNs, "ghost", "stolen-ghost", victims);
    await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> exchangesOf(victim).isEmpty());
    assertThat(grantSecret(victimNs, "alice").getMetadata().getResourceVersion())
        .isEqualTo(grantBefore.getMetadata().getResourceVersion());
    assertThat(Logins.get(client, victimNs, "alice").getStatus().getPhase()).isEqualTo(Phase.AwaitingUser);

    paste(victimNs, "alice", "alice-response", victims);
    awaitLogin(client, victimNs, "alice", phase(Phase.Ready));
    assertThat(exchangesOf(victim)).hasSize(1);
  }

  @Test
  void aResponsePastedForADeviceGrantLoginIsIgnored() {
    String ns = "code-device-login";
    client.resource(Resources.identityProvider(ns, "device", idp.issuer(), "cli")).create();
    client.resource(Resources.deviceLogin(ns, "paul", "device", "paul@example.com")).create();
    DeviceLogin waiting = awaitLogin(client, ns, "paul", phase(Phase.AwaitingUser));
    String userCode = waiting.getStatus().getUserCode();

    paste(ns, "paul", "paul-response", REDIRECT + "?code=abcdefghijkl&state=" + ns + ".paul." + "A".repeat(43));
    await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> {
      DeviceLogin now = Logins.get(client, ns, "paul");
      return now.getStatus().getPhase() == Phase.AwaitingUser && userCode.equals(now.getStatus().getUserCode())
          && Conditions.find(now.getStatus().getConditions(), DeviceLoginStatusBuilder.RECONCILED) == null;
    });
    assertThat(idp.codeExchanges()).noneMatch(exchange -> "abcdefghijkl".equals(exchange.param("code")));
    idp.login(userCode).approve(Claims.user("paul"));
    awaitLogin(client, ns, "paul", phase(Phase.Ready));
  }

  @Test
  void unreadableAndHugeLabelledSecretsAreRefusedAndDeletedWithoutHarm() {
    String ns = "code-huge";
    provider(ns, "corp", idp);
    URI url = startLogin(ns, "quinn", "quinn@example.com");
    assertRefused(ns, "quinn", "quinn-no-code", REDIRECT + "?state=" + encode(stateOf(url)),
        "it carries neither an authorization code nor an error");
    assertRefused(ns, "quinn", "quinn-twice", idp.signIn(url, Claims.user("quinn")) + "&state=x",
        "a parameter is given more than once");
    // the refusal is kept with the grant: a restarted operator's reconcile, which finds no pasted Secret, still says it
    fixture.restartOperator();
    await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> ready(Logins.get(client, ns,
        "quinn")).getMessage().startsWith("A response was refused: a parameter is given more than once"));
    String huge = REDIRECT + "?code=" + "c".repeat(512 * 1024) + "&state=" + stateOf(url);
    paste(ns, "quinn", "quinn-huge", huge);
    awaitGone(ns, "quinn-huge");
    DeviceLogin waiting = awaitLogin(client, ns, "quinn", dl -> ready(dl).getMessage()
        .contains("A response was refused"));
    assertThat(waiting.getStatus().getPhase()).isEqualTo(Phase.AwaitingUser);
    assertThat(ready(waiting).getMessage()).contains("no key redirect-url with at most 8192 characters");
    assertThat(Conditions.find(waiting.getStatus().getConditions(), DeviceLoginStatusBuilder.RECONCILED)).isNull();

    paste(ns, "quinn", "quinn-response", idp.signIn(url, Claims.user("quinn")));
    awaitLogin(client, ns, "quinn", phase(Phase.Ready));
  }

  // ---- helpers

  private static void provider(String namespace, String name, FakeIdp at) {
    IdentityProvider provider = Resources.identityProvider(namespace, name, at.issuer(), "cli");
    provider.getSpec().setGrant(IdentityProviderSpec.GrantType.AuthorizationCode);
    provider.getSpec().setRedirectUri(REDIRECT);
    client.resource(provider).create();
  }

  /** Creates a DeviceLogin for {@code user} and returns its authorization URL once it shows one. */
  private static URI startLogin(String namespace, String name, String user) {
    client.resource(Resources.deviceLogin(namespace, name, "corp", user)).create();
    DeviceLogin waiting = awaitLogin(client, namespace, name,
        dl -> dl.getStatus().getPhase() == Phase.AwaitingUser && dl.getStatus().getAuthorizationUrl() != null);
    return URI.create(waiting.getStatus().getAuthorizationUrl());
  }

  /** What a person or portal does with the address the browser was sent to. */
  private static void paste(String namespace, String login, String secretName, String redirectUrl) {
    planted.add(redirectUrl);
    client.resource(new SecretBuilder().withNewMetadata().withNamespace(namespace).withName(secretName)
        .addToLabels(Constants.DEVICELOGIN_LABEL, login).endMetadata()
        .withType(Constants.AUTHORIZATION_RESPONSE_TYPE)
        .addToData(Constants.REDIRECT_URL_KEY, Base64.getEncoder().encodeToString(
            redirectUrl.getBytes(StandardCharsets.UTF_8)))
        .build()).create();
  }

  private static void assertRefused(String namespace, String login, String secretName, String redirectUrl,
      String why) {
    paste(namespace, login, secretName, redirectUrl);
    awaitGone(namespace, secretName);
    DeviceLogin waiting = awaitLogin(client, namespace, login, dl -> ready(dl).getMessage().contains(why)
        && ready(dl).getMessage().contains("(Secret " + secretName + ", deleted)"));
    assertThat(waiting.getStatus().getPhase()).isEqualTo(Phase.AwaitingUser);
    assertThat(ready(waiting).getReason()).isEqualTo("AuthorizationPending");
    assertThat(ready(waiting).getMessage()).startsWith("A response was refused")
        .contains("(Secret " + secretName + ", deleted)").contains("Open status.authorizationUrl");
    assertThat(waiting.getStatus().getAuthorizationUrl()).isNotNull();
  }

  private static void assertProvider(String namespace, String name, String reason, String message) {
    IdentityProvider provider = await().atMost(Logins.TIMEOUT).until(
        () -> client.resources(IdentityProvider.class).inNamespace(namespace).withName(name).get(),
        p -> p.getStatus() != null && Conditions.find(p.getStatus().getConditions(), Constants.READY) != null);
    var condition = Conditions.find(provider.getStatus().getConditions(), Constants.READY);
    assertThat(condition.getStatus()).isEqualTo("False");
    assertThat(condition.getReason()).isEqualTo(reason);
    assertThat(condition.getMessage()).contains(message);
  }

  private static void assertNoTokenSecret(String namespace) {
    assertThat(client.secrets().inNamespace(namespace).list().getItems())
        .noneMatch(secret -> Constants.TOKEN_SECRET_TYPE.equals(secret.getType()));
  }

  private static void awaitGone(String namespace, String name) {
    await().atMost(Logins.TIMEOUT).until(() -> client.secrets().inNamespace(namespace).withName(name).get() == null);
  }

  private static Secret grantSecret(String namespace, String login) {
    return client.secrets().inNamespace(namespace).withName("devicelogin-grant-" + login).get();
  }

  private static String value(Secret secret, String key) {
    String encoded = secret.getData().get(key);
    return encoded == null ? null : new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8);
  }

  private static List<RecordedRequest> exchangesOf(SignIn signIn) {
    return exchangesOf(signIn, idp);
  }

  private static List<RecordedRequest> exchangesOf(SignIn signIn, FakeIdp at) {
    return at.codeExchanges().stream().filter(exchange -> signIn.code().equals(exchange.param("code"))).toList();
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  /** The state of an authorization URL. */
  private static String stateOf(URI authorizationUrl) {
    try {
      return AuthenticationRequest.parse(authorizationUrl).getState().getValue();
    } catch (ParseException e) {
      throw new AssertionError(e);
    }
  }

  /** The system clock, shifted by what a test sets (the operator's and the callback inbox's time). */
  private static final class ShiftedClock extends Clock {
    private volatile Duration offset = Duration.ZERO;

    void shift(Duration by) {
      offset = by;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.now().plus(offset);
    }
  }
}
