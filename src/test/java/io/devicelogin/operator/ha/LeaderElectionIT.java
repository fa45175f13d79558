package io.devicelogin.operator.ha;

import static io.devicelogin.operator.testing.Logins.phase;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import io.devicelogin.operator.OperatorSettings;
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
import io.devicelogin.operator.testing.LeakScanner;
import io.devicelogin.operator.testing.LogCapture;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.MockCluster;
import io.devicelogin.operator.testing.Resources;
import io.devicelogin.operator.testing.RunningOperator;
import io.devicelogin.operator.testing.ScriptedIdp;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two operator instances with leader election against one API server: only the leader polls the IdP; when it goes
 * away during a pending login, the other takes the Lease and completes the same grant, and at no time did both poll.
 */
class LeaderElectionIT {

  private static final String NS = "team-a";
  private static final String OPERATOR_NS = "devicelogin-system";

  /** One token poll, by which instance, when. */
  record Poll(String instance, Instant at) {}

  /** Each instance's view of the shared IdP double; records which instance polled. */
  record InstanceIdp(String instance, ScriptedIdp shared, List<Poll> polls) implements IdentityProviderClient {
    @Override
    public ProviderEndpoints discover(ProviderConfig provider, boolean forceRefresh) throws IdpException {
      return shared.discover(provider, forceRefresh);
    }

    @Override
    public DeviceAuthorization startDeviceAuthorization(ProviderConfig provider) throws IdpException {
      return shared.startDeviceAuthorization(provider);
    }

    @Override
    public TokenPollResult pollToken(ProviderConfig provider, String deviceCode) {
      polls.add(new Poll(instance, Instant.now()));
      return shared.pollToken(provider, deviceCode);
    }

    @Override
    public TokenRefreshResult refresh(ProviderConfig provider, String refreshToken) {
      polls.add(new Poll(instance, Instant.now()));
      return shared.refresh(provider, refreshToken);
    }

    @Override
    public boolean revoke(ProviderConfig provider, String refreshToken) throws IdpException {
      return shared.revoke(provider, refreshToken);
    }
  }

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final List<Poll> polls = new CopyOnWriteArrayList<>();
  private final List<String> issued = new ArrayList<>();
  private LogCapture logs;
  private MockCluster cluster;
  private ScriptedIdp idp;
  private RunningOperator a;
  private RunningOperator b;

  @BeforeEach
  void start() {
    logs = LogCapture.attach();
    cluster = MockCluster.start().allowLeases();
    idp = new ScriptedIdp(Clock.systemUTC(), Duration.ofMillis(500));
  }

  @AfterEach
  void stop() {
    try {
      List<String> secrets = new ArrayList<>(idp.deviceCodes());
      secrets.addAll(issued);
      new LeakScanner().secretsFromCluster(cluster.client()).secrets(secrets)
          .assertNoLeaks(cluster.client(), logs, b == null ? "" : b.scrapeMetrics());
    } finally {
      for (RunningOperator operator : new RunningOperator[] {b, a}) {
        if (operator != null) {
          operator.close();
        }
      }
      cluster.close();
      logs.close();
    }
  }

  private RunningOperator instance(String identity) {
    return RunningOperator.start(cluster, metrics -> new InstanceIdp(identity, idp, polls),
        settings -> settings.withLeaderElection(OperatorSettings.LeaderElection.enabled(OPERATOR_NS)
            .withIdentity(identity)
            .withTimings(Duration.ofSeconds(3), Duration.ofSeconds(2), Duration.ofMillis(400))));
  }

  @Test
  void onlyTheLeaderPollsAndTheFollowerCompletesAPendingLoginAfterTheLeaderGoesAway() throws Exception {
    a = instance("instance-a");
    await().atMost(Duration.ofSeconds(20)).until(() -> a.operator().isLeader());
    b = instance("instance-b");
    KubernetesClient client = cluster.client();

    Lease lease = client.leases().inNamespace(OPERATOR_NS).withName("devicelogin-operator").get();
    assertThat(lease).as("the Lease devicelogin-system/devicelogin-operator").isNotNull();
    assertThat(lease.getSpec().getHolderIdentity()).isEqualTo("instance-a");

    // Both are ready: a follower's informers run, so it is ready to take over.
    await().atMost(Duration.ofSeconds(20)).until(() -> status(a, "/readyz") == 200 && status(b, "/readyz") == 200);
    assertThat(b.operator().isLeader()).isFalse();
    assertThat(b.scrapeMetrics()).contains("devicelogin_leader 0.0");
    assertThat(a.scrapeMetrics()).contains("devicelogin_leader 1.0");

    client.resource(Resources.anyUser(Resources.identityProvider(NS, "corp", "http://127.0.0.1:1/realms/x", "cli"))).create();
    client.resource(Resources.deviceLogin(NS, "alice", "corp")).create();
    Logins.awaitLogin(client, NS, "alice", phase(Phase.AwaitingUser));
    await().atMost(Duration.ofSeconds(20)).until(() -> polls.size() >= 3);
    assertThat(polls).as("only the leader polls").extracting(Poll::instance).containsOnly("instance-a");

    a.close();
    Instant leaderGone = Instant.now();
    a = null;
    await().atMost(Duration.ofSeconds(30)).until(() -> b.operator().isLeader());
    await().atMost(Duration.ofSeconds(20)).until(() -> polls.stream().anyMatch(p -> p.instance().equals("instance-b")));
    idp.script(1, issued("alice@example.com"));
    DeviceLogin done = Logins.awaitLogin(client, NS, "alice", phase(Phase.Ready), Duration.ofSeconds(30));

    assertThat(done.getStatus().getSecretName()).isEqualTo("oidc-alice-example-com");
    assertThat(idp.grantsStarted()).as("the new leader continued the same grant").isEqualTo(1);
    Instant lastOfA = polls.stream().filter(p -> p.instance().equals("instance-a")).map(Poll::at)
        .max(Instant::compareTo).orElseThrow();
    Instant firstOfB = polls.stream().filter(p -> p.instance().equals("instance-b")).map(Poll::at)
        .min(Instant::compareTo).orElseThrow();
    assertThat(lastOfA).as("instance-a's last poll").isBefore(leaderGone);
    assertThat(firstOfB).as("instance-b's first poll").isAfter(leaderGone);
    assertThat(polls).as("every poll of the grant was recorded").hasSameSizeAs(idp.pollTimes(1));
    assertThat(client.leases().inNamespace(OPERATOR_NS).withName("devicelogin-operator").get()
        .getSpec().getHolderIdentity()).isEqualTo("instance-b");
    assertThat(b.scrapeMetrics()).contains("devicelogin_leader 1.0");
  }

  private int status(RunningOperator operator, String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + operator.httpPort() + path)).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  private TokenPollResult issued(String email) {
    Instant now = Instant.now();
    JWTClaimsSet claims = new JWTClaimsSet.Builder().subject("sub-" + email).claim("email", email)
        .claim("email_verified", true).claim("groups", List.of("developers")).issueTime(Date.from(now))
        .expirationTime(Date.from(now.plusSeconds(300))).build();
    String unique = java.util.UUID.randomUUID().toString();
    IssuedTokens tokens = new IssuedTokens(new PlainJWT(claims).serialize(), "access-" + unique, "refresh-" + unique,
        now.plusSeconds(300), now, claims.toJSONObject());
    issued.addAll(List.of(tokens.idToken(), tokens.accessToken(), tokens.refreshToken()));
    return new TokenPollResult.Issued(tokens);
  }
}
