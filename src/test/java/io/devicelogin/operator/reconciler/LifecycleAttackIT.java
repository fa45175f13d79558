package io.devicelogin.operator.reconciler;

import static io.devicelogin.operator.testing.Logins.phase;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.idp.DeviceAuthorization;
import io.devicelogin.operator.idp.IdentityProviderClient;
import io.devicelogin.operator.idp.IdpException;
import io.devicelogin.operator.idp.IssuedTokens;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.idp.ProviderEndpoints;
import io.devicelogin.operator.idp.TokenPollResult;
import io.devicelogin.operator.idp.TokenRefreshResult;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.status.Rfc3339;
import io.devicelogin.operator.testing.ApiFaults;
import io.devicelogin.operator.testing.LeakScanner;
import io.devicelogin.operator.testing.LogCapture;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.MockCluster;
import io.devicelogin.operator.testing.Resources;
import io.devicelogin.operator.testing.RunningOperator;
import io.devicelogin.operator.testing.ScriptedIdp;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Attacks on the redesigned lifecycle (issue #12) from outside: the API stand-in and a scripted IdP whose answers a
 * test can hold back, with one reconcile thread, so that events reach the operator while it is busy, as under load or
 * with a slow IdP.
 */
class LifecycleAttackIT {

  private static final String NS = "team-a";

  private LogCapture logs;
  private MockCluster cluster;
  private RunningOperator operator;
  private KubernetesClient client;
  private final List<String> issued = new ArrayList<>();
  private final GatedIdp idp = new GatedIdp(new ScriptedIdp(Clock.systemUTC(), Duration.ofSeconds(1)));

  @BeforeEach
  void start() {
    logs = LogCapture.attach();
    cluster = MockCluster.start();
    operator = RunningOperator.start(cluster, metrics -> idp, settings -> settings.withReconcileThreads(1));
    client = cluster.client();
    client.resource(Resources.anyUser(Resources.identityProvider(NS, "corp", "http://127.0.0.1:1/realms/x", "cli")))
        .create();
  }

  @AfterEach
  void stop() {
    idp.release();
    try {
      List<String> secrets = new ArrayList<>(idp.scripted.deviceCodes());
      secrets.addAll(issued);
      new LeakScanner().secretsFromCluster(client).secrets(secrets)
          .assertNoLeaks(client, logs, operator.scrapeMetrics());
    } finally {
      try {
        operator.close();
      } finally {
        cluster.close();
        logs.close();
      }
    }
  }

  /**
   * A person deletes a DeviceLogin and creates it again under the same name (fixing a typo in identityProviderRef)
   * while the operator is busy (here: its reconcile thread waits on a slow IdP). JOSDK, in
   * triggerReconcilerOnAllEvents mode, hands the queued delete-event reconcile the new object from the cache
   * (isPrimaryResourceDeleted() true, the new uid) and then drops the state of that name, the new object's ADDED event
   * with it: the new DeviceLogin was never reconciled (no status, no user code) until something else changed it, and
   * the reconciler forgot the new uid instead of the deleted one (whose InFlight entry stayed for good). Now the
   * deletion's reconcile drops what is held by name and, when the cache holds an object of that name, wakes it again
   * after JOSDK's cleanup (Rewake).
   */
  @Test
  void deviceLoginRecreatedUnderTheSameNameWhileTheOperatorIsBusyIsStarted() throws Exception {
    client.resource(Resources.deviceLogin(NS, "typo", "no-such-provider")).create();
    Logins.awaitLogin(client, NS, "typo", phase(Phase.Pending));
    client.resource(Resources.deviceLogin(NS, "busy", "corp")).create();
    Logins.awaitLogin(client, NS, "busy", phase(Phase.AwaitingUser));

    idp.holdPolls();
    assertThat(idp.held.await(10, TimeUnit.SECONDS)).as("a poll of 'busy' holds the only reconcile thread").isTrue();
    client.resources(DeviceLogin.class).inNamespace(NS).withName("typo").delete();
    await().atMost(Duration.ofSeconds(5)).until(() -> Logins.get(client, NS, "typo") == null);
    client.resource(Resources.deviceLogin(NS, "typo", "corp")).create();
    // the operator's informer sees the delete and the create while the delete-event reconcile is queued
    await().pollDelay(Duration.ofMillis(500)).until(() -> true);
    idp.release();

    DeviceLogin recreated = Logins.awaitLogin(client, NS, "typo", phase(Phase.AwaitingUser), Duration.ofSeconds(30));
    assertThat(recreated.getStatus().getUserCode()).isNotNull();
  }

  /**
   * A tenant removes the app.kubernetes.io/managed-by label from their token Secret while a refresh is at the IdP (the
   * IdP rotated the refresh token). The operator's informer no longer shows the Secret, so the refreshed tokens were
   * created as a new Secret, refused (409, the name is taken) on every retry for good: the only valid refresh token
   * stayed in memory, the Secret kept the used one, and the login kept failing its reconciles. Before the redesign a
   * GET found the Secret and the tokens were written over it.
   */
  @Test
  void tokenSecretRelabelledDuringARefreshStillGetsTheRefreshedTokens() throws Exception {
    IssuedTokens refreshed = tokens(Duration.ofMinutes(10));
    idp.scripted.scriptRefresh(new TokenRefreshResult.Refreshed(refreshed));
    idp.holdRefreshes();
    loginReady("alice", "25s", Duration.ofSeconds(30));
    assertThat(idp.held.await(30, TimeUnit.SECONDS)).as("the refresh is at the IdP").isTrue();
    String name = "oidc-alice-example-com";
    client.secrets().inNamespace(NS).withName(name).edit(s -> {
      s.getMetadata().getLabels().remove(Constants.MANAGED_BY_LABEL);
      return s;
    });
    idp.release();

    await().atMost(Duration.ofSeconds(20)).until(() -> refreshed.refreshToken().equals(
        TokenSecrets.value(client.secrets().inNamespace(NS).withName(name).get(), TokenSecrets.REFRESH_TOKEN)));
    DeviceLogin login = Logins.awaitLogin(client, NS, "alice", Logins.reason("Refreshed"));
    assertThat(login.getStatus().getTokenExpiresAt()).isEqualTo(Rfc3339.format(refreshed.idTokenExpiry()));
    assertThat(client.secrets().inNamespace(NS).withName(name).get().getMetadata().getLabels())
        .as("the operator's Secret is labelled again, so its informer sees it")
        .containsEntry(Constants.MANAGED_BY_LABEL, Constants.MANAGED_BY);
  }

  /**
   * A tenant removes the app.kubernetes.io/managed-by label from their token Secret (the operator's informer drops it;
   * the login ends, as documented), then asks for a fresh login (devicelogin.io/restart) while the operator's Secret
   * watch is down (an API server restart, a dropped connection). The new tokens are written over that Secret (same
   * issuer, client and subject), found with a GET; telling JOSDK's recent-write cache about an update of a Secret its
   * informer does not hold threw a NullPointerException (with resource versions parsed, JOSDK compares them with the
   * missing cache entry), so every attempt failed after the write: the login did not become Ready until the watch
   * came back.
   */
  @Test
  void freshLoginOverATokenSecretTheInformerDoesNotHoldBecomesReady() {
    loginReady("alice", null);
    String name = "oidc-alice-example-com";
    client.secrets().inNamespace(NS).withName(name).edit(s -> {
      s.getMetadata().getLabels().remove(Constants.MANAGED_BY_LABEL);
      return s;
    });
    Logins.awaitLogin(client, NS, "alice", phase(Phase.Expired));
    ApiFaults.Fault watchDown = cluster.faults().fail("Secret watch down",
        r -> r.isWatch() && r.bare().endsWith("/secrets"), 503, Integer.MAX_VALUE);
    cluster.dropWatches();

    DeviceLogin login = Logins.get(client, NS, "alice");
    login.getMetadata().getAnnotations().put("devicelogin.io/restart", "again");
    client.resource(login).update();
    Logins.awaitLogin(client, NS, "alice", dl -> dl.getStatus().getPhase() == Phase.AwaitingUser
        && "again".equals(dl.getStatus().getObservedRestart()));
    IssuedTokens second = tokens(Duration.ofMinutes(10));
    idp.scripted.script(2, new TokenPollResult.Issued(second));

    Logins.awaitLogin(client, NS, "alice", phase(Phase.Ready), Duration.ofSeconds(15));
    cluster.faults().remove(watchDown);
    assertThat(TokenSecrets.value(client.secrets().inNamespace(NS).withName(name).get(), TokenSecrets.REFRESH_TOKEN))
        .isEqualTo(second.refreshToken());
    assertThat(logs.text()).as("no reconcile failed on the way").doesNotContain("NullPointerException");
  }

  /**
   * Someone strips the cleanup finalizer from a Ready DeviceLogin (a script that "unsticks" deletions, a tenant), and
   * the DeviceLogin is deleted later. Finalizer changes start no reconcile, and a Ready login's next look is its
   * renewal time (here minutes away): the DeviceLogin went without its refresh token being revoked. Before the
   * redesign a finalizer change woke the login and the finalizer was back at once.
   */
  @Test
  void finalizerStrippedFromAReadyLoginIsPutBackSoThatDeletionRevokes() {
    IssuedTokens tokens = loginReady("alice", null, Duration.ofMinutes(10));
    client.resources(DeviceLogin.class).inNamespace(NS).withName("alice").edit(dl -> {
      dl.getMetadata().setFinalizers(new ArrayList<>());
      return dl;
    });
    await("the finalizer is put back").atMost(Duration.ofSeconds(10))
        .until(() -> Logins.get(client, NS, "alice").hasFinalizer(Constants.FINALIZER));

    client.resources(DeviceLogin.class).inNamespace(NS).withName("alice").delete();
    await().atMost(Duration.ofSeconds(15)).until(() -> Logins.get(client, NS, "alice") == null);
    assertThat(idp.scripted.revoked()).containsExactly(tokens.refreshToken());
  }

  private IssuedTokens loginReady(String name, String renewBefore) {
    return loginReady(name, renewBefore, Duration.ofSeconds(12));
  }

  private IssuedTokens loginReady(String name, String renewBefore, Duration lifetime) {
    DeviceLogin login = Resources.deviceLogin(NS, name, "corp");
    login.getSpec().setRenewBefore(renewBefore);
    client.resource(login).create();
    Logins.awaitLogin(client, NS, name, phase(Phase.AwaitingUser));
    IssuedTokens tokens = tokens(lifetime);
    idp.scripted.script(idp.scripted.grantsStarted(), new TokenPollResult.Issued(tokens));
    Logins.awaitLogin(client, NS, name, phase(Phase.Ready));
    return tokens;
  }

  private IssuedTokens tokens(Duration lifetime) {
    IssuedTokens tokens = ScriptedIdp.tokens("alice@example.com", "developers", lifetime);
    issued.addAll(List.of(tokens.idToken(), tokens.accessToken(), tokens.refreshToken()));
    return tokens;
  }

  /** {@link ScriptedIdp} whose token polls can be held back until the test releases them. */
  static final class GatedIdp implements IdentityProviderClient {
    final ScriptedIdp scripted;
    final CountDownLatch held = new CountDownLatch(1);
    private volatile CountDownLatch gate;
    private volatile CountDownLatch refreshGate;

    GatedIdp(ScriptedIdp scripted) {
      this.scripted = scripted;
    }

    void holdPolls() {
      gate = new CountDownLatch(1);
    }

    void holdRefreshes() {
      refreshGate = new CountDownLatch(1);
    }

    void release() {
      for (CountDownLatch open : new CountDownLatch[] {gate, refreshGate}) {
        if (open != null) {
          open.countDown();
        }
      }
      gate = null;
      refreshGate = null;
    }

    private void pass(CountDownLatch closed) {
      if (closed != null) {
        held.countDown();
        try {
          closed.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }

    @Override
    public ProviderEndpoints discover(ProviderConfig provider, boolean forceRefresh) throws IdpException {
      return scripted.discover(provider, forceRefresh);
    }

    @Override
    public DeviceAuthorization startDeviceAuthorization(ProviderConfig provider) throws IdpException {
      return scripted.startDeviceAuthorization(provider);
    }

    @Override
    public TokenPollResult pollToken(ProviderConfig provider, String deviceCode) {
      pass(gate);
      return scripted.pollToken(provider, deviceCode);
    }

    @Override
    public TokenRefreshResult refresh(ProviderConfig provider, String refreshToken) {
      pass(refreshGate);
      return scripted.refresh(provider, refreshToken);
    }

    @Override
    public boolean revoke(ProviderConfig provider, String refreshToken) throws IdpException {
      return scripted.revoke(provider, refreshToken);
    }
  }
}
