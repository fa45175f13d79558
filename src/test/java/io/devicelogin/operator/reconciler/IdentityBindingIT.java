package io.devicelogin.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.oauth2.sdk.GrantType;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testidp.IssuedTokens;
import io.devicelogin.operator.testidp.Login;
import io.devicelogin.operator.testidp.Outcome;
import io.devicelogin.operator.testing.ApiFaults;
import io.devicelogin.operator.testing.ApiRequest;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue #5, identity binding, never even briefly: a device code approved by the wrong person, an unverified email as
 * the username, a group not allowed, a refresh that names another subject or a user no longer allowed. The ends are
 * tested elsewhere; here the mock API server records every request, and the body of every Secret create, update and
 * patch it ever received is searched for the refused tokens (raw, and inside any base64 value), so a Secret that held
 * them for a moment and was deleted again would be caught. Also: the refused refresh token is revoked at the IdP and
 * the old Secret deleted, also when that delete fails at first.
 */
class IdentityBindingIT {

  private static final String CLIENT_ID = "cli";

  private static OperatorFixture fixture;
  private static KubernetesClient client;
  private static final List<FakeIdp> idps = new ArrayList<>();

  /** One refusal: its own namespace, IdP and DeviceLogin; the expected end. */
  private record Case(String namespace, String description, FakeIdp idp, Claims approver, String user, String reason,
      boolean onRefresh) {
    String name() {
      return "login";
    }
  }

  @BeforeAll
  static void start() {
    fixture = OperatorFixture.start();
    client = fixture.client();
  }

  @AfterAll
  static void stop() {
    try {
      List<String> secrets = new ArrayList<>();
      idps.forEach(idp -> secrets.addAll(Logins.secretsOf(idp)));
      fixture.assertNoLeaks(secrets);
    } finally {
      try {
        fixture.close();
      } finally {
        idps.forEach(FakeIdp::close);
      }
    }
  }

  @Test
  void refusedIdentitiesNeverReachAnySecretWrite() {
    long started = System.nanoTime();
    List<Case> cases = new ArrayList<>();
    // first logins
    cases.add(setUp("b-user", "spec.user is alice, bob approves", "IdentityMismatch", false,
        dl -> dl.getSpec().setUser("alice@example.com"), null, Claims.user("bob"), null));
    cases.add(setUp("b-unverified", "username claim email with email_verified=false", "IdentityMismatch", false,
        dl -> { }, null, Claims.user("carol").claim("email_verified", false), null));
    cases.add(setUp("b-group", "group not in allowedGroups", "GroupNotAllowed", false,
        dl -> { }, List.of("admins"), Claims.user("dave").groups("developers"), null));
    // refreshes
    cases.add(setUp("b-subject", "refresh names another subject", "IdentityMismatch", true,
        dl -> { }, null, Claims.user("erin"),
        Outcome.tokens(Claims.subject("sub-impostor").email("erin@example.com").preferredUsername("erin"))));
    cases.add(setUp("b-left-group", "refresh: user no longer in allowedGroups", "GroupNotAllowed", true,
        dl -> { }, List.of("developers"), Claims.user("frank").groups("developers"),
        Outcome.tokens(Claims.user("frank").groups("contractors"))));
    cases.add(setUp("b-renamed", "refresh: username no longer spec.user", "IdentityMismatch", true,
        dl -> dl.getSpec().setUser("gina@example.com"), null, Claims.user("gina"),
        Outcome.tokens(Claims.user("gina").email("gina.old@example.com"))));
    cases.add(setUp("b-unverified-refresh", "refresh: email no longer verified", "IdentityMismatch", true,
        dl -> { }, null, Claims.user("hank"), Outcome.tokens(Claims.user("hank").claim("email_verified", false))));
    // a refusal whose Secret delete fails twice at first: still deleted, still Failed, no second refresh
    ApiFaults.Fault deleteFails = fixture.cluster().faults().fail("token Secret delete in b-subject-delete-fails",
        r -> "b-subject-delete-fails".equals(r.namespace()) && "DELETE".equals(r.method()) && !r.fromTest()
            && r.bare().endsWith("/secrets/oidc-ivan-example-com"), 409, 2);
    cases.add(setUp("b-subject-delete-fails", "refresh names another subject; the Secret delete fails twice",
        "IdentityMismatch", true, dl -> { }, null, Claims.user("ivan"),
        Outcome.tokens(Claims.subject("sub-impostor").email("ivan@example.com").preferredUsername("ivan"))));

    for (Case c : cases) {
      String userCode = Logins.awaitLogin(client, c.namespace(), c.name(), Logins.phase(Phase.AwaitingUser))
          .getStatus().getUserCode();
      c.idp().login(userCode).approve(c.approver());
    }
    for (Case c : cases) {
      DeviceLogin ended = Logins.awaitLogin(client, c.namespace(), c.name(), Logins.phase(Phase.Failed),
          Duration.ofSeconds(40));
      assertThat(Logins.ready(ended).getReason()).as(c.description()).isEqualTo(c.reason());
    }
    long endedMillis = (System.nanoTime() - started) / 1_000_000;
    assertThat(deleteFails.injected()).isEqualTo(2);

    List<ApiRequest> secretWrites = fixture.cluster().requests().stream()
        .filter(r -> r.isSecret() && r.isWrite() && !"DELETE".equals(r.method())).toList();
    int refusedValues = 0;
    for (Case c : cases) {
      Login login = c.idp().logins().get(0);
      List<IssuedTokens> issued = login.issuedTokens();
      IssuedTokens refused = issued.get(issued.size() - 1);
      assertThat(refused.grantType()).as(c.description())
          .isEqualTo(c.onRefresh() ? GrantType.REFRESH_TOKEN : GrantType.DEVICE_CODE);
      assertThat(issued).as(c.description() + ": tokens issued").hasSize(c.onRefresh() ? 2 : 1);
      List<String> values = List.of(refused.idToken(), refused.accessToken(), refused.refreshToken());
      refusedValues += values.size();
      for (ApiRequest write : secretWrites) {
        List<String> texts = texts(write.body());
        for (String value : values) {
          assertThat(texts).as(c.description() + ": " + write.method() + " " + write.bare()
              + " carried a refused token").noneMatch(text -> text.contains(value));
        }
      }
      assertThat(c.idp().revokedTokens()).as(c.description() + ": the refused refresh token is revoked")
          .containsExactly(refused.refreshToken());
      String secretName = "oidc-" + c.user() + "-example-com";
      assertThat(client.secrets().inNamespace(c.namespace()).withName(secretName).get())
          .as(c.description() + ": no token Secret left").isNull();
      assertThat(c.idp().refreshCount()).as(c.description() + ": refreshes").isEqualTo(c.onRefresh() ? 1 : 0);
      if (c.onRefresh()) {
        // the Secret held the first login's tokens until the refusal: created once, then only marked before the
        // refresh (the same data plus the refresh-started annotation), never written with other tokens
        IssuedTokens first = issued.get(0);
        List<ApiRequest> writesOfFirst = secretWrites.stream().filter(r -> c.namespace().equals(r.namespace()))
            .filter(r -> texts(r.body()).stream().anyMatch(t -> t.contains(first.refreshToken()))).toList();
        assertThat(writesOfFirst.size()).as(c.description() + ": writes of the first tokens").isEqualTo(2);
        assertThat(writesOfFirst.get(0).method()).as(c.description() + ": the first write").isEqualTo("POST");
        assertThat(writesOfFirst.get(1).bodyContains(TokenSecrets.REFRESH_STARTED_ANNOTATION))
            .as(c.description() + ": the second write is the refresh mark").isTrue();
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> client.secrets().inNamespace(c.namespace())
          .withName("devicelogin-grant-login").get() == null);
    }
    System.out.printf("IDENTITY-BINDING all ended %d ms after the logins were created%n", endedMillis);
    System.out.printf("IDENTITY-BINDING %d refusals (%d at the first login, %d on refresh); %d Secret writes "
            + "(creates, updates, patches) recorded and searched for %d refused token values: none found; %d "
            + "refused refresh tokens revoked%n", cases.size(), cases.stream().filter(c -> !c.onRefresh()).count(),
        cases.stream().filter(Case::onRefresh).count(), secretWrites.size(), refusedValues, cases.size());
    for (Case c : cases) {
      client.resources(DeviceLogin.class).inNamespace(c.namespace()).delete();
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> cases.stream().allMatch(
        c -> client.resources(DeviceLogin.class).inNamespace(c.namespace()).list().getItems().isEmpty()));
  }

  /**
   * Creates the provider and the DeviceLogin; {@code approver} will approve the user code; for refresh cases the
   * login becomes Ready first and the next refresh answers {@code refresh}.
   */
  private Case setUp(String namespace, String description, String reason, boolean onRefresh,
      Consumer<DeviceLogin> spec, List<String> allowedGroups, Claims approver, Outcome refresh) {
    FakeIdp idp = FakeIdp.start().interval(1).tokenLifetime(30);
    idps.add(idp);
    IdentityProvider provider = Resources.anyUser(Resources.identityProvider(namespace, "corp", idp.issuer(), CLIENT_ID));
    provider.getSpec().setAllowedGroups(allowedGroups);
    client.resource(provider).create();
    DeviceLogin login = Resources.deviceLogin(namespace, "login", "corp");
    spec.accept(login);
    if (onRefresh) {
      login.getSpec().setRenewBefore("27s"); // the refresh comes 3 s after the login
      idp.refreshWith(refresh);
    }
    client.resource(login).create();
    return new Case(namespace, description, idp, approver, approver.subject().substring("sub-".length()), reason,
        onRefresh);
  }

  /** Every string in a request body (JSON), and the base64 decoding of each that decodes. */
  private static List<String> texts(String body) {
    List<String> texts = new ArrayList<>();
    if (body == null) {
      return texts;
    }
    texts.add(body);
    JsonNode root;
    try {
      root = Serialization.jsonMapper().readTree(body);
    } catch (Exception e) {
      return texts;
    }
    collect(root, texts);
    return texts;
  }

  private static void collect(JsonNode node, List<String> texts) {
    if (node.isTextual()) {
      texts.add(node.asText());
      try {
        texts.add(new String(Base64.getDecoder().decode(node.asText()), StandardCharsets.UTF_8));
      } catch (IllegalArgumentException notBase64) {
        // only the raw text
      }
    }
    node.elements().forEachRemaining(child -> collect(child, texts)); // array items and object values
  }
}
