package io.devicelogin.operator.crash;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.devicelogin.operator.api.v1alpha1.Condition;
import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginStatus;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.SecretKeyReference;
import io.devicelogin.operator.crash.KillPoint.Outcome;
import io.devicelogin.operator.crash.KillPoint.Stage;
import io.devicelogin.operator.crash.KillPoint.Variant;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testidp.IssuedTokens;
import io.devicelogin.operator.testidp.Login;
import io.devicelogin.operator.testidp.SignIn;
import io.devicelogin.operator.testing.LeakScanner;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Issue #5, "crash anywhere": the real operator (the shaded jar as a child process) is SIGKILLed at every kill point of
 * a login (device grant and authorization code grant), a refresh and a deletion ({@link KillPoint}), in both variants — before the request in flight took effect
 * and after it took effect but before the operator saw the answer — then a fresh process is started and the login,
 * refresh or deletion is driven to its end. After each: the DeviceLogin ends in the required phase; at most one
 * published device grant or authorization URL per login request (grants the IdP started but nobody could see are
 * counted); no refresh token and no authorization code presented twice, and a code exchanged exactly once for a login
 * that completes; no grant Secret and no paste-back Secret left once the login ended; the token Secret has the
 * contract's shape; and, over the whole run, no token, device code, authorization code, PKCE verifier or client secret
 * in any process output, status, Event or metric.
 *
 * <p>Cases run in waves: every case of a wave has its own namespace and OAuth client, and the wave's operator process
 * is killed once all of them are held at their kill points (a held case's later requests are held too and never take
 * effect, so each case's stored state is exactly its kill point's). {@code mvn verify} runs every kill point in both
 * variants once, in two waves (two kills): the logins of both grants, then refreshes and deletions. {@code -Dcrash.sweep=full} repeats the waves ({@code crash.repetitions},
 * default 3) and then runs every case alone, one kill per case ({@code crash.isolated}, default 1 round):
 *
 * <pre>
 * mvn -B verify -DskipKeycloak=true -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dit.test=CrashSweepIT \
 *     -Dcrash.sweep=full
 * </pre>
 *
 * {@code -Dcrash.points=TOKEN_POLL,REFRESH_REQUEST} runs only those kill points. Figures go to
 * {@code target/crash-sweep-<mode>.md} (the table) and {@code target/crash-sweep-<mode>-cases.txt} (one line per run).
 */
class CrashSweepIT {

  private static final boolean FULL = "full".equals(System.getProperty("crash.sweep"));
  private static final int REPETITIONS = Integer.getInteger("crash.repetitions", FULL ? 3 : 1);
  private static final int ISOLATED = Integer.getInteger("crash.isolated", FULL ? 1 : 0);
  /** Only these kill points (comma-separated names), to look at one closely; default all. */
  private static final String ONLY = System.getProperty("crash.points", "");

  /** ID and access token lifetime until the kill (short, so refreshes come soon) and after it (no more refreshes). */
  private static final int LIFETIME_BEFORE_KILL = 15;
  private static final int LIFETIME_AFTER_KILL = 60;
  /** With the 15 s lifetime: refresh 2 s after the tokens were issued. */
  private static final String RENEW_BEFORE = "13s";
  /** The authorization code provider's redirect URI (a localhost-only IdP's: the person pastes the address back). */
  private static final String REDIRECT_URI = "http://localhost:8000/";

  private static final Set<String> CONTRACT_KEYS =
      Set.of("id-token", "refresh-token", "access-token", "expiry", "idp-issuer-url", "client-id");

  private CrashRig rig;
  private KubernetesClient client;
  private FakeIdp idp;
  private int nextId = 1;
  private final List<String> clientSecrets = new ArrayList<>();
  private final List<Run> finished = new ArrayList<>();

  @Test
  void killTheOperatorAtEveryPointOfALoginARefreshAndADeletion() throws Exception {
    long began = System.nanoTime();
    try (CrashRig started = CrashRig.start()) {
      rig = started;
      client = rig.client();
      idp = rig.idp();
      long t = System.nanoTime();
      rig.startOperator();
      rig.awaitReady(Duration.ofSeconds(60), t);

      List<List<CrashCase>> waves = new ArrayList<>();
      for (int r = 1; r <= REPETITIONS; r++) {
        waves.add(cases(r, Stage.LOGIN, Stage.CODE_LOGIN));
        waves.add(cases(r, Stage.REFRESH, Stage.DELETE_READY, Stage.DELETE_WAITING));
      }
      for (int r = 1; r <= ISOLATED; r++) {
        for (CrashCase c : cases(REPETITIONS + r, Stage.values())) {
          waves.add(List.of(c));
        }
      }
      for (List<CrashCase> wave : waves) {
        if (!wave.isEmpty()) {
          runWave(wave);
        }
      }

      assertThat(idp.refreshTokenReuseCount()).as("refresh tokens presented again after rotation").isZero();
      assertThat(idp.signIns().stream().mapToInt(SignIn::reuses).sum())
          .as("authorization codes presented again after their exchange").isZero();
      // codes of every sign-in (exchanged or not) and the PKCE verifier of every grant the operator stored
      List<String> secrets = new ArrayList<>(Logins.secretsOf(idp));
      secrets.addAll(rig.verifiers());
      secrets.addAll(clientSecrets);
      LeakScanner scanner = new LeakScanner().secretsFromCluster(client).secrets(secrets);
      scanner.assertNoLeaks(client, rig.allOutput(), rig.scrapeMetrics());
      assertNoLeakInStatusPatches(secrets);
      report(Duration.ofNanos(System.nanoTime() - began), scanner.secretCount());
    }
    List<String> failures = finished.stream().filter(run -> run.failure != null)
        .map(run -> run.c + ": " + run.failure.getMessage()).toList();
    assertThat(failures).as("kill points whose outcome was wrong").isEmpty();
  }

  private List<CrashCase> cases(int repetition, Stage... stages) {
    Set<Stage> wanted = Set.of(stages);
    List<CrashCase> cases = new ArrayList<>();
    for (KillPoint point : KillPoint.values()) {
      if (!wanted.contains(point.stage) || !ONLY.isBlank() && !List.of(ONLY.split(",")).contains(point.name())) {
        continue;
      }
      for (Variant variant : Variant.values()) {
        cases.add(new CrashCase(nextId++, point, variant, repetition));
      }
    }
    return cases;
  }

  // ---- one wave: all cases to their kill points, one kill, one restart, all cases to their ends

  private void runWave(List<CrashCase> cases) throws Exception {
    idp.tokenLifetime(LIFETIME_BEFORE_KILL);
    Instant began = Instant.now();
    List<Run> runs = cases.stream().map(Run::new).toList();
    for (Run run : runs) {
      run.create();
    }
    try {
      await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).until(() -> {
        runs.forEach(Run::beforeKill);
        return runs.stream().allMatch(run -> run.c.state() == CrashCase.State.HELD);
      });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("kill points not reached within 90 s: " + runs.stream()
          .filter(run -> run.c.state() != CrashCase.State.HELD)
          .map(run -> run.c + " state " + run.c.state() + ", status trail " + run.c.statusTrail())
          .collect(Collectors.joining("; ")) + "\noperator output:\n" + rig.currentOutput(), e);
    }
    Instant killedAt = Instant.now();
    rig.kill();
    idp.tokenLifetime(LIFETIME_AFTER_KILL);
    rig.resume();
    long restart = System.nanoTime();
    rig.startOperator();
    long readyMillis = rig.awaitReady(Duration.ofSeconds(60), restart);
    runs.forEach(run -> run.killedAt = killedAt);
    try {
      await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100)).until(() -> {
        runs.forEach(Run::afterKill);
        return runs.stream().allMatch(run -> run.done);
      });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      for (Run run : runs) {
        if (!run.done) {
          run.fail(new AssertionError("did not reach its end within 120 s after the restart (step " + run.step
              + "); status " + statusOf(run.c) + "; status trail " + run.c.statusTrail() + "; Secrets "
              + secretsOf(run.c)));
        }
      }
    }
    System.out.printf(java.util.Locale.ROOT, "CRASH-SWEEP wave of %d cases: kill points reached in %.1f s, next process "
            + "ready in %d ms, all ended %.1f s after the kill%n", runs.size(),
        Duration.between(began, killedAt).toMillis() / 1000.0, readyMillis,
        Duration.between(killedAt, Instant.now()).toMillis() / 1000.0);
    for (Run run : runs) {
      rig.forget(run.c);
      finished.add(run);
      System.out.println("CRASH-SWEEP " + run.line());
      // keeps the operator's lists small over a long sweep
      client.resources(IdentityProvider.class).inNamespace(run.c.namespace).withName("corp").delete();
      client.secrets().inNamespace(run.c.namespace).withName("corp-client").delete();
    }
  }

  /** Where one case is after the restart. */
  private enum Step {
    /** Until the login, refresh or deletion has its result. */
    END,
    /** Started over with the restart annotation; until that login is Ready. */
    READY_AGAIN,
    /** The test deleted the DeviceLogin; until it is gone. */
    GONE
  }

  private final class Run {
    final CrashCase c;
    final Outcome outcome;
    Instant killedAt;
    /** From the kill to the end of the case (the restart included). */
    Duration endedAfter;
    Step step = Step.END;
    String restartValue;
    String revokeExpected;
    boolean done;
    AssertionError failure;
    String observed = "";
    String message;
    int grantsStarted;
    int abandoned;
    int neverStored;
    int refreshes;
    int codeExchanges;

    Run(CrashCase c) {
      this.c = c;
      this.outcome = c.point.outcome(c.variant);
    }

    void create() {
      rig.register(c);
      String clientSecret = "crash-client-secret-" + c.id + "-" + UUID.randomUUID();
      clientSecrets.add(clientSecret);
      idp.requireClientSecret(c.clientId, clientSecret);
      client.resource(new SecretBuilder().withNewMetadata().withNamespace(c.namespace).withName("corp-client")
          .addToLabels(Constants.CLIENT_SECRET_LABEL, "true").endMetadata().addToStringData("client-secret", clientSecret).build()).create();
      IdentityProvider provider = Resources.anyUser(Resources.identityProvider(c.namespace, "corp", idp.issuer(), c.clientId));
      provider.getSpec().setClientSecretRef(new SecretKeyReference("corp-client", "client-secret"));
      if (c.point.stage == Stage.CODE_LOGIN) {
        provider.getSpec().setGrant(IdentityProviderSpec.GrantType.AuthorizationCode);
        provider.getSpec().setRedirectUri(REDIRECT_URI);
      }
      client.resource(provider).create();
      DeviceLogin login = Resources.deviceLogin(c.namespace, CrashCase.LOGIN, "corp");
      if (c.point.stage == Stage.REFRESH) {
        login.getSpec().setRenewBefore(RENEW_BEFORE);
      }
      if (c.point.stage == Stage.LOGIN || c.point.stage == Stage.REFRESH || c.point.stage == Stage.CODE_LOGIN) {
        c.arm(); // the refresh kill points match only requests a refresh makes
      }
      client.resource(login).create();
    }

    /** The person approves shown codes when the case allows it; deletion stages begin. */
    void beforeKill() {
      if (c.state() == CrashCase.State.HELD) {
        return;
      }
      DeviceLogin dl = Logins.get(client, c.namespace, CrashCase.LOGIN);
      if (dl == null || dl.getStatus() == null) {
        return;
      }
      if (c.point.approveBeforeKill()) {
        approveShown(dl, null);
      }
      DeviceLoginStatus status = dl.getStatus();
      if (c.state() != CrashCase.State.CREATED) {
        return;
      }
      if (c.point.stage == Stage.DELETE_READY && status.getPhase() == Phase.Ready && grantSecret() == null) {
        revokeExpected = secretValue(tokenSecret(), "refresh-token");
        c.arm();
        delete();
      } else if (c.point.stage == Stage.DELETE_WAITING && status.getPhase() == Phase.AwaitingUser
          && status.getUserCode() != null && grantSecret() != null) {
        c.arm();
        delete();
      }
    }

    private void delete() {
      client.resources(DeviceLogin.class).inNamespace(c.namespace).withName(CrashCase.LOGIN).delete();
    }

    void afterKill() {
      if (done) {
        return;
      }
      try {
        done = stepAfterKill();
        if (done) {
          endedAfter = Duration.between(killedAt, Instant.now());
        }
      } catch (AssertionError e) {
        fail(e);
      } catch (RuntimeException e) {
        fail(new AssertionError(e.toString(), e));
      }
    }

    void fail(AssertionError e) {
      failure = e;
      done = true;
      observed = observed + " FAILED";
    }

    private boolean stepAfterKill() {
      DeviceLogin dl = Logins.get(client, c.namespace, CrashCase.LOGIN);
      switch (step) {
        case END -> {
          if (outcome == Outcome.DELETED) {
            if (dl != null) {
              return false;
            }
            verifyGone();
            if (revokeExpected != null) {
              assertThat(idp.revokedTokens().contains(revokeExpected)).as("the refresh token is revoked").isTrue();
            }
            verifyGrants(c.point.abandonedGrants(c.variant));
            observed = "deleted";
            return true;
          }
          if (dl == null || dl.getStatus() == null) {
            return false;
          }
          verifyNoCodeSentTwice(); // at once: a second exchange may still end the login as required
          approveShown(dl, null);
          return switch (outcome) {
            case READY -> readyThenDelete(dl, Set.of("Issued", "Refreshed"));
            case REFRESHED -> readyThenDelete(dl, Set.of("Refreshed"));
            case FAILED_START_OVER -> endedThenStartOver(dl, Phase.Failed, "InvalidTokenResponse");
            case CODE_EXCHANGE_INTERRUPTED -> endedThenStartOver(dl, Phase.Failed, "CodeExchangeInterrupted");
            case REFRESH_INTERRUPTED -> endedThenStartOver(dl, Phase.Expired, "RefreshFailed");
            default -> throw new IllegalStateException(outcome.name());
          };
        }
        case READY_AGAIN -> {
          if (dl == null || dl.getStatus() == null
              || !restartValue.equals(dl.getStatus().getObservedRestart())) {
            return false;
          }
          approveShown(dl, restartValue);
          return readyThenDelete(dl, Set.of("Issued"));
        }
        case GONE -> {
          if (dl != null) {
            return false;
          }
          verifyGone();
          // the newest refresh token: a refresh that was due when the test deleted the DeviceLogin runs first
          List<IssuedTokens> issued = lastIssued();
          assertThat(idp.revokedTokens().contains(issued.get(issued.size() - 1).refreshToken()))
              .as("deletion revoked the newest refresh token").isTrue();
          return true;
        }
        default -> throw new IllegalStateException(step.name());
      }
    }

    /** Ready and settled (grant gone, the Secret holds the newest tokens): check, then delete the DeviceLogin. */
    private boolean readyThenDelete(DeviceLogin dl, Set<String> reasons) {
      DeviceLoginStatus status = dl.getStatus();
      Condition ready = Logins.ready(dl);
      if (status.getPhase() != Phase.Ready || ready == null || !reasons.contains(ready.getReason())) {
        if (status.getPhase() != null && status.getPhase().isTerminal()) {
          throw new AssertionError("ended " + status.getPhase() + "/" + (ready == null ? null : ready.getReason())
              + " instead of Ready (" + reasons + "): " + (ready == null ? "" : ready.getMessage()));
        }
        return false;
      }
      List<IssuedTokens> issued = lastIssued();
      Secret secret = tokenSecret();
      IssuedTokens newest = issued.isEmpty() ? null : issued.get(issued.size() - 1);
      if (grantSecret() != null || secret == null || newest == null
          || !newest.refreshToken().equals(secretValue(secret, "refresh-token"))
          || TokenSecrets.refreshStarted(secret) != null
          || issued.size() != lastIssued().size()
          || !Instant.parse(secretValue(secret, "expiry")).equals(Instant.parse(status.getTokenExpiresAt()))) {
        // not settled yet: the grant is deleted a moment after Ready; a refresh may be in flight (marked, or answered
        // and not stored yet, or stored after this status was read and not recorded in it yet). A mark that stays, or a
        // Secret whose expiry the status never shows, makes the case time out.
        return false;
      }
      // deleted before the code is exchanged (a pasted Secret left by a crash too): never there once Ready
      assertThat(pastedSecrets()).as("paste-back Secrets left once the login is Ready").isEmpty();
      assertThat(ready.getStatus()).isEqualTo("True");
      assertThat(status.getSecretName()).isEqualTo(CrashCase.SECRET);
      assertThat(status.getIdentity().getUsername()).isEqualTo(CrashCase.USER + "@example.com");
      verifySecretShape(dl, secret, newest);
      verifyGrants(c.point.abandonedGrants(c.variant));
      verifyTokensStored(c.point.tokensNeverStored(c.variant));
      verifyNoRefreshTokenTwice();
      verifyCodeExchanges(c.point.stage != Stage.CODE_LOGIN ? 0
          : c.point.codeExchanges(c.variant) + (c.restarted() ? 1 : 0));
      observed = observed + (observed.isEmpty() ? "" : " → ") + "Ready/" + ready.getReason();
      delete();
      step = Step.GONE;
      return false;
    }

    /** A clear terminal status with a reason and a message saying how to start over; then start over. */
    private boolean endedThenStartOver(DeviceLogin dl, Phase phase, String reason) {
      DeviceLoginStatus status = dl.getStatus();
      Condition ready = Logins.ready(dl);
      if (status.getPhase() == Phase.Ready && outcome != Outcome.REFRESH_INTERRUPTED) {
        throw new AssertionError("Ready/" + (ready == null ? null : ready.getReason()) + " instead of ending "
            + phase + "/" + reason);
      }
      if (!status.getPhase().isTerminal()) {
        return false;
      }
      assertThat(status.getPhase() + "/" + ready.getReason()).as("the end after the restart")
          .isEqualTo(phase + "/" + reason);
      if (grantSecret() != null) {
        return false; // deleted a moment after the end is recorded
      }
      assertThat(pastedSecrets()).as("paste-back Secrets left once the login ended").isEmpty();
      message = ready.getMessage();
      assertThat(ready.getMessage()).as("says how to start over").contains("devicelogin.io/restart");
      if (outcome == Outcome.REFRESH_INTERRUPTED) {
        assertThat(ready.getMessage()).as("says why").contains("interrupted");
        List<String> trail = c.statusTrail();
        assertThat(trail).as("Ready while the ID token was valid, then Expired")
            .containsSubsequence("Ready/RefreshFailed", "Expired/RefreshFailed");
        assertThat(Instant.parse(ready.getLastTransitionTime()))
            .as("ended when the ID token expired, not before")
            .isAfterOrEqualTo(Instant.parse(status.getTokenExpiresAt()));
        Secret secret = tokenSecret();
        assertThat(secret).as("the token Secret is kept").isNotNull();
      } else {
        assertThat(tokenSecret()).as("no token Secret was written").isNull();
      }
      if (outcome == Outcome.CODE_EXCHANGE_INTERRUPTED) {
        assertThat(ready.getMessage()).as("says why").contains("stopped while exchanging").contains("not sent again");
        assertThat(status.getAuthorizationUrl()).as("cleared once the login ended").isNull();
        verifyCodeExchanges(c.point.codeExchanges(c.variant));
      }
      verifyNoRefreshTokenTwice();
      grantsStarted = c.point.stage == Stage.CODE_LOGIN ? c.publishedGrants().size() : (int) clientLogins().count();
      observed = status.getPhase() + "/" + ready.getReason() + " → restart annotation";
      restartValue = "start-over-" + c.id;
      c.startedOver();
      client.resources(DeviceLogin.class).inNamespace(c.namespace).withName(CrashCase.LOGIN)
          .edit(d -> {
            Map<String, String> annotations = new LinkedHashMap<>();
            if (d.getMetadata().getAnnotations() != null) {
              annotations.putAll(d.getMetadata().getAnnotations());
            }
            annotations.put(Constants.RESTART_ANNOTATION, restartValue);
            d.getMetadata().setAnnotations(annotations);
            return d;
          });
      step = Step.READY_AGAIN;
      return false;
    }

    /**
     * The person approves the user code the status shows (once), or signs in at the authorization URL it shows and
     * pastes the address the browser was sent to back in a paste-back Secret (once per URL); only for the current
     * login request.
     */
    private void approveShown(DeviceLogin dl, String restart) {
      DeviceLoginStatus status = dl.getStatus();
      if (status.getPhase() != Phase.AwaitingUser
          || restart != null && !restart.equals(status.getObservedRestart())) {
        return;
      }
      if (status.getAuthorizationUrl() != null) {
        String pasted = c.signIn(status.getAuthorizationUrl());
        if (pasted != null) {
          String redirect = idp.signIn(URI.create(status.getAuthorizationUrl()), Claims.user(CrashCase.USER));
          client.resource(new SecretBuilder().withNewMetadata().withNamespace(c.namespace).withName(pasted)
                  .addToLabels(Constants.DEVICELOGIN_LABEL, CrashCase.LOGIN).endMetadata()
                  .withType(Constants.AUTHORIZATION_RESPONSE_TYPE)
                  .addToData(Constants.REDIRECT_URL_KEY,
                      Base64.getEncoder().encodeToString(redirect.getBytes(StandardCharsets.UTF_8))).build())
              .create();
        }
        return;
      }
      if (status.getUserCode() == null) {
        return;
      }
      Login login = idp.login(status.getUserCode());
      synchronized (c) {
        if (!c.isApproved(login.deviceCode())) {
          login.approve(Claims.user(CrashCase.USER));
          c.approved(login.deviceCode());
        }
      }
    }

    private void verifySecretShape(DeviceLogin dl, Secret secret, IssuedTokens newest) {
      assertThat(secret.getType()).isEqualTo(Constants.TOKEN_SECRET_TYPE);
      assertThat(secret.getData().keySet()).as("the contract's keys").isEqualTo(CONTRACT_KEYS);
      assertThat(secretValue(secret, "idp-issuer-url")).isEqualTo(idp.issuer());
      assertThat(secretValue(secret, "client-id")).isEqualTo(c.clientId);
      // compared as booleans: a failure message must not show token values
      assertThat(newest.accessToken().equals(secretValue(secret, "access-token")))
          .as("the access token is the newest issued").isTrue();
      if (newest.idToken() != null) {
        assertThat(newest.idToken().equals(secretValue(secret, "id-token"))).as("the ID token is the newest issued")
            .isTrue();
      }
      assertThat(Instant.parse(secretValue(secret, "expiry")))
          .isEqualTo(Instant.parse(dl.getStatus().getTokenExpiresAt()));
      assertThat(secret.getMetadata().getLabels())
          .containsEntry(Constants.MANAGED_BY_LABEL, Constants.MANAGED_BY)
          .containsEntry(Constants.USERNAME_LABEL, "alice-example-com");
      assertThat(secret.getMetadata().getAnnotations())
          .containsEntry(Constants.USERNAME_ANNOTATION, CrashCase.USER + "@example.com")
          .containsEntry(Constants.SUBJECT_ANNOTATION, "sub-" + CrashCase.USER)
          .containsEntry(Constants.DEVICELOGIN_ANNOTATION, CrashCase.LOGIN)
          .containsEntry(TokenSecrets.WRITER_UID_ANNOTATION, dl.getMetadata().getUid())
          .doesNotContainKey(CrashRig.MARKER_ANNOTATION);
      assertThat(secret.getMetadata().getOwnerReferences()).singleElement()
          .satisfies(owner -> assertThat(owner.getUid()).isEqualTo(dl.getMetadata().getUid()));
    }

    /**
     * At most one published grant per login request; every grant the operator polled was published; grants that were
     * started at the IdP but never stored nor shown are counted.
     */
    private void verifyGrants(int expectedAbandoned) {
      List<Login> logins = clientLogins().toList();
      List<String> published = c.publishedGrants();
      grantsStarted = c.point.stage == Stage.CODE_LOGIN ? published.size() : logins.size();
      assertThat(c.publishedBeforeStartOver()).as("grants published for the first login request").isLessThanOrEqualTo(1);
      assertThat(published.size() - c.publishedBeforeStartOver()).as("grants published after starting over")
          .isLessThanOrEqualTo(1);
      Set<String> polled = logins.stream().filter(l -> l.pollCount() > 0).map(Login::userCode)
          .collect(Collectors.toSet());
      assertThat(published).as("every polled grant was published").containsAll(polled);
      Set<String> signedInStates = clientSignIns().map(SignIn::state).collect(Collectors.toSet());
      Set<String> publishedStates = published.stream().map(CrashSweepIT::stateOf).collect(Collectors.toSet());
      assertThat(publishedStates).as("every sign-in was at a published authorization URL").containsAll(signedInStates);
      abandoned = (int) logins.stream().filter(l -> !published.contains(l.userCode())).count();
      assertThat(abandoned).as("grants started at the IdP but never stored nor shown").isEqualTo(expectedAbandoned);
    }

    /** Token responses whose refresh token never reached the Secret (inherent windows only). */
    private void verifyTokensStored(int expected) {
      Set<String> stored = c.storedRefreshTokens();
      neverStored = (int) java.util.stream.Stream.concat(clientLogins().flatMap(l -> l.issuedTokens().stream()),
              clientSignIns().flatMap(s -> s.issuedTokens().stream()))
          .filter(t -> t.refreshToken() != null && !stored.contains(t.refreshToken())).count();
      assertThat(neverStored).as("token responses the operator never stored").isEqualTo(expected);
    }

    private void verifyNoRefreshTokenTwice() {
      List<String> presented = idp.requestsTo(idp.tokenEndpoint()).stream()
          .filter(r -> c.clientId.equals(CrashRig.clientId(r)))
          .filter(r -> "refresh_token".equals(r.param("grant_type")))
          .map(r -> r.param("refresh_token")).toList();
      refreshes = presented.size();
      assertThat(new HashSet<>(presented).size()).as("distinct refresh tokens among the %d presented (none twice)",
          presented.size()).isEqualTo(presented.size());
    }

    /**
     * An authorization code goes to the token endpoint at most once, whatever became of it (held, dropped with a killed
     * process, processed); the IdP processed exactly {@code expected} exchanges for this case and none of a used code.
     */
    private void verifyCodeExchanges(int expected) {
      verifyNoCodeSentTwice();
      assertThat(clientSignIns().mapToInt(SignIn::reuses).sum()).as("codes presented again").isZero();
      codeExchanges = (int) idp.codeExchanges().stream().filter(r -> c.clientId.equals(CrashRig.clientId(r))).count();
      assertThat(codeExchanges).as("code exchanges the IdP processed").isEqualTo(expected);
    }

    private void verifyNoCodeSentTwice() {
      List<String> sent = c.codesSent();
      // compared as counts: a failure message must not show codes
      assertThat(new HashSet<>(sent).size()).as("distinct codes among the %d the operator sent (none twice)",
          sent.size()).isEqualTo(sent.size());
    }

    /** The DeviceLogin is gone and so are its Secrets (deletionPolicy Delete). */
    private void verifyGone() {
      List<String> left = client.secrets().inNamespace(c.namespace).list().getItems().stream()
          .map(s -> s.getMetadata().getName()).filter(name -> !name.equals("corp-client")).toList();
      assertThat(left).as("Secrets left after the DeviceLogin went").isEmpty();
      verifyNoRefreshTokenTwice();
    }

    private java.util.stream.Stream<Login> clientLogins() {
      return idp.logins().stream().filter(l -> l.clientId().equals(c.clientId));
    }

    private java.util.stream.Stream<SignIn> clientSignIns() {
      return idp.signIns().stream().filter(s -> s.clientId().equals(c.clientId));
    }

    /** The token responses of the case's latest login request: its last device grant or its last sign-in. */
    private List<IssuedTokens> lastIssued() {
      if (c.point.stage == Stage.CODE_LOGIN) {
        List<SignIn> signIns = clientSignIns().toList();
        return signIns.isEmpty() ? List.of() : signIns.get(signIns.size() - 1).issuedTokens();
      }
      List<Login> logins = clientLogins().toList();
      return logins.isEmpty() ? List.of() : logins.get(logins.size() - 1).issuedTokens();
    }

    /** Names of the paste-back Secrets in the case's namespace (names only: their data holds a code). */
    private List<String> pastedSecrets() {
      if (c.point.stage != Stage.CODE_LOGIN) {
        return List.of();
      }
      return client.secrets().inNamespace(c.namespace).list().getItems().stream()
          .filter(s -> Constants.AUTHORIZATION_RESPONSE_TYPE.equals(s.getType()))
          .map(s -> s.getMetadata().getName()).toList();
    }

    private Secret tokenSecret() {
      return client.secrets().inNamespace(c.namespace).withName(CrashCase.SECRET).get();
    }

    private Secret grantSecret() {
      return client.secrets().inNamespace(c.namespace).withName(CrashCase.GRANT_SECRET).get();
    }

    String line() {
      return String.format("%s %s run %d: held %s (+%d later requests held); required %s; observed %s; "
              + "grants started %d, abandoned %d; token responses never stored %d; code exchanges %d (sent %d); "
              + "refreshes %d; revocations %d; done %s s after the kill; %s%s",
          c.point, c.variant, c.repetition, c.heldRequest(), c.heldLaterCount(), outcome, observed, grantsStarted,
          abandoned, neverStored, codeExchanges, c.codesSent().size(), refreshes,
          idp.requestsTo(idp.revocationEndpoint()).stream()
              .filter(r -> c.clientId.equals(CrashRig.clientId(r))).count(),
          endedAfter == null ? "-" : String.format(java.util.Locale.ROOT, "%.1f", endedAfter.toMillis() / 1000.0),
          failure == null ? "OK" : "FAILED: " + failure.getMessage(),
          message == null ? "" : "; end message: " + message);
    }
  }

  private static String secretValue(Secret secret, String key) {
    String value = secret == null || secret.getData() == null ? null : secret.getData().get(key);
    return value == null ? null : new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
  }

  /** The state parameter of an authorization URL; a user code is its own. */
  private static String stateOf(String published) {
    if (!published.contains("?")) {
      return published;
    }
    return java.util.Arrays.stream(URI.create(published).getRawQuery().split("&"))
        .filter(p -> p.startsWith("state=")).map(p -> java.net.URLDecoder.decode(p.substring(6), StandardCharsets.UTF_8))
        .findFirst().orElse(published);
  }

  /** No status the API server ever applied showed a secret value, not even briefly. */
  private void assertNoLeakInStatusPatches(List<String> secrets) {
    List<String> patches = rig.statusPatches();
    List<String> leaks = new ArrayList<>();
    for (String secret : secrets) {
      if (secret != null && secret.length() >= 8 && patches.stream().anyMatch(p -> p.contains(secret))) {
        leaks.add("a status patch contains a secret value starting " + secret.substring(0, 4) + "…");
      }
    }
    assertThat(patches).as("status patches recorded").isNotEmpty();
    assertThat(leaks).as("secret values in status patches the API server applied").isEmpty();
  }

  /** Names and types of the Secrets in a case's namespace (for a failure message). */
  private String secretsOf(CrashCase c) {
    return client.secrets().inNamespace(c.namespace).list().getItems().stream()
        .map(s -> s.getMetadata().getName() + " (" + s.getType() + ")").toList().toString();
  }

  private String statusOf(CrashCase c) {
    DeviceLogin dl = Logins.get(client, c.namespace, CrashCase.LOGIN);
    return dl == null ? "(gone)" : Serialization.asJson(dl.getStatus());
  }

  // ---- figures

  private void report(Duration took, int secretsScanned) throws IOException {
    Map<String, List<Run>> byCase = new LinkedHashMap<>();
    for (Run run : finished) {
      byCase.computeIfAbsent(run.c.point + " " + run.c.variant, k -> new ArrayList<>()).add(run);
    }
    StringBuilder table = new StringBuilder();
    table.append("| # | Kill point | Variant | Runs | Required outcome | Observed | Abandoned grants | "
        + "Token responses never stored | Code exchanges (each code once) | Failed |\n"
        + "|---|---|---|---|---|---|---|---|---|---|\n");
    int row = 1;
    for (Map.Entry<String, List<Run>> entry : byCase.entrySet()) {
      List<Run> runs = entry.getValue();
      Run first = runs.get(0);
      Set<String> observed = runs.stream().map(r -> r.observed).collect(Collectors.toCollection(
          java.util.LinkedHashSet::new));
      table.append(String.format("| %d | %s | %s | %d | %s | %s | %d | %d | %d | %d |%n", row++,
          first.c.point.description, first.c.variant, runs.size(), first.outcome, String.join("; ", observed),
          runs.stream().mapToInt(r -> r.abandoned).sum(), runs.stream().mapToInt(r -> r.neverStored).sum(),
          runs.stream().mapToInt(r -> r.codeExchanges).sum(), runs.stream().filter(r -> r.failure != null).count()));
    }
    List<Long> starts = rig.startMillis();
    String summary = String.format("mode %s: %d kill points x 2 variants = %d cases; %d runs (%d wave repetitions, "
            + "%d isolated rounds); %d SIGKILLs; %d processes started (ready in %d-%d ms); %d late requests of killed "
            + "processes refused; operator API requests by HTTP version %s; refresh token reuse %d; code exchanges "
            + "%d, authorization code reuse %d; %d secret values scanned for leaks; took %d s%n",
        FULL ? "full" : "default", KillPoint.values().length, byCase.size(), finished.size(), REPETITIONS, ISOLATED,
        rig.kills(), rig.kills() + 1, starts.stream().mapToLong(Long::longValue).min().orElse(0),
        starts.stream().mapToLong(Long::longValue).max().orElse(0), rig.lateRequestsRefused(),
        rig.operatorRequestsByVersion(), idp.refreshTokenReuseCount(), idp.codeExchanges().size(),
        idp.signIns().stream().mapToInt(SignIn::reuses).sum(), secretsScanned, took.toSeconds());
    System.out.println("CRASH-SWEEP " + summary + table);
    String name = "crash-sweep-" + (FULL ? "full" : "default");
    Files.writeString(Path.of("target", name + ".md"), summary + "\n" + table);
    Files.write(Path.of("target", name + "-cases.txt"), finished.stream().map(Run::line).toList());
  }
}
