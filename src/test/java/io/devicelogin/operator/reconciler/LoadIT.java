package io.devicelogin.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.oauth2.sdk.GrantType;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.secret.GrantStore;
import io.devicelogin.operator.secret.TokenSecrets;
import io.devicelogin.operator.testidp.Claims;
import io.devicelogin.operator.testidp.FakeIdp;
import io.devicelogin.operator.testidp.Login;
import io.devicelogin.operator.testing.ApiRequest;
import io.devicelogin.operator.testing.Logins;
import io.devicelogin.operator.testing.OperatorFixture;
import io.devicelogin.operator.testing.Resources;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * Issue #5, load without harm: hundreds of DeviceLogins created in a burst against one {@link FakeIdp} over HTTP
 * (interval 1 s), each scripted from a seeded {@link Random}: approved, denied, expired at the IdP, expired by a short
 * {@code expires_in}, slowed down once, approved by the wrong user, refused for its group, or behind IdP 5xx for a
 * while. Every login must end in exactly its expected phase and reason, with one device authorization, no poll of a
 * device code sooner than the interval then in force, and no grant Secret or leak left.
 *
 * <p>Size and seed: {@code -Dload.logins=300 -Dload.seed=8628} (the defaults).
 */
class LoadIT {

  private static final int LOGINS = Integer.getInteger("load.logins", 300);
  private static final long SEED = Long.getLong("load.seed", 8628);
  private static final String NS = "load";
  private static final String SHORT_EXPIRY_SCOPE = "short-expiry";

  /** What happens to one login, and how it must end. */
  enum Plan {
    APPROVED(Phase.Ready, "Issued", 30),
    DENIED(Phase.Denied, "AccessDenied", 10),
    EXPIRED_AT_IDP(Phase.Expired, "ExpiredToken", 8),
    SHORT_EXPIRES_IN(Phase.Expired, "ExpiredToken", 7),
    SLOW_DOWN_ONCE(Phase.Ready, "Issued", 15),
    WRONG_USER(Phase.Failed, "IdentityMismatch", 10),
    GROUP_REFUSED(Phase.Failed, "GroupNotAllowed", 8),
    IDP_5XX_FOR_A_WHILE(Phase.Ready, "Issued", 12);

    final Phase phase;
    final String reason;
    final int weight;

    Plan(Phase phase, String reason, int weight) {
      this.phase = phase;
      this.reason = reason;
      this.weight = weight;
    }

    static Plan draw(Random random) {
      int total = 0;
      for (Plan plan : values()) {
        total += plan.weight;
      }
      int n = random.nextInt(total);
      for (Plan plan : values()) {
        n -= plan.weight;
        if (n < 0) {
          return plan;
        }
      }
      throw new AssertionError();
    }
  }

  /** One DeviceLogin: its plan, when the person acts (ms after its user code shows), what the IdP saw. */
  private static final class Entry {
    final int n;
    final String name;
    final Plan plan;
    final long actAfterMillis;
    final int serverErrors;
    Login login;
    long actAtNanos;
    boolean acted;

    Entry(int n, Plan plan, long actAfterMillis, int serverErrors) {
      this.n = n;
      this.name = String.format("dl-%03d", n);
      this.plan = plan;
      this.actAfterMillis = actAfterMillis;
      this.serverErrors = serverErrors;
    }

    String user() {
      return "user-" + n;
    }
  }

  @Test
  void hundredsOfLoginsWithAMixOfOutcomesEachEndRightWithoutPollingTooSoon() {
    Random random = new Random(SEED);
    List<Entry> entries = new ArrayList<>();
    for (int i = 0; i < LOGINS; i++) {
      Plan plan = Plan.draw(random);
      entries.add(new Entry(i, plan, 500 + random.nextInt(5500), 1 + random.nextInt(3)));
    }
    Map<Plan, Long> planned = entries.stream()
        .collect(Collectors.groupingBy(e -> e.plan, () -> new EnumMap<>(Plan.class), Collectors.counting()));

    try (FakeIdp idp = FakeIdp.start().interval(1).tokenLifetime(600)
        .expiresInByScope(scope -> scope != null && scope.contains(SHORT_EXPIRY_SCOPE) ? 4 : 0);
        OperatorFixture fixture = OperatorFixture.start()) {
      KubernetesClient client = fixture.client();
      IdentityProvider corp = Resources.anyUser(Resources.identityProvider(NS, "corp", idp.issuer(), "cli"));
      corp.getSpec().setAllowedScopes(List.of(SHORT_EXPIRY_SCOPE));
      client.resource(corp).create();
      IdentityProvider restricted = Resources.anyUser(Resources.identityProvider(NS, "restricted", idp.issuer(), "cli"));
      restricted.getSpec().setAllowedGroups(List.of("admins"));
      client.resource(restricted).create();

      long started = System.nanoTime();
      // created in a burst by 4 threads while the person below already reads user codes and acts
      java.util.concurrent.ExecutorService creators = java.util.concurrent.Executors.newFixedThreadPool(4);
      List<java.util.concurrent.Future<?>> creates = new ArrayList<>();
      for (Entry e : entries) {
        DeviceLogin dl = Resources.deviceLogin(NS, e.name, e.plan == Plan.GROUP_REFUSED ? "restricted" : "corp");
        if (e.plan == Plan.WRONG_USER) {
          dl.getSpec().setUser("someone-else@example.com");
        }
        if (e.plan == Plan.SHORT_EXPIRES_IN) {
          dl.getSpec().setScopes(List.of("openid", "email", "offline_access", SHORT_EXPIRY_SCOPE));
        }
        creates.add(creators.submit(() -> client.resource(dl).create()));
      }
      creators.shutdown();
      java.util.concurrent.atomic.AtomicLong created = new java.util.concurrent.atomic.AtomicLong();
      Thread waiter = new Thread(() -> {
        try {
          for (var create : creates) {
            create.get();
          }
          created.set(System.nanoTime());
        } catch (Exception failed) {
          throw new IllegalStateException(failed);
        }
      }, "load-creates");
      waiter.setDaemon(true);
      waiter.start();

      Map<String, Entry> byName = new LinkedHashMap<>();
      entries.forEach(e -> byName.put(e.name, e));
      try {
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> {
          List<DeviceLogin> all = client.resources(DeviceLogin.class).inNamespace(NS).list().getItems();
          long now = System.nanoTime();
          int ended = 0;
          for (DeviceLogin dl : all) {
            Entry e = byName.get(dl.getMetadata().getName());
            var status = dl.getStatus();
            if (status == null || status.getPhase() == null) {
              continue;
            }
            if (e.login == null && status.getUserCode() != null) {
              e.login = idp.login(status.getUserCode());
              e.actAtNanos = now + e.actAfterMillis * 1_000_000L;
              if (e.plan == Plan.SLOW_DOWN_ONCE) {
                e.login.slowDown();
              } else if (e.plan == Plan.IDP_5XX_FOR_A_WHILE) {
                for (int i = 0; i < e.serverErrors; i++) {
                  e.login.respondWith(503, "text/html", "<html><body>503 Service Unavailable</body></html>");
                }
              }
            }
            if (e.login != null && !e.acted && now >= e.actAtNanos) {
              act(e);
            }
            if (status.getPhase() != Phase.Pending && status.getPhase() != Phase.AwaitingUser) {
              ended++;
            }
          }
          return ended == entries.size() && created.get() != 0;
        });
      } catch (ConditionTimeoutException timeout) {
        // reported below, login by login
      }
      long allEnded = System.nanoTime();
      await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(250)).until(() -> client.secrets()
          .inNamespace(NS).withLabel(GrantStore.COMPONENT_LABEL, GrantStore.COMPONENT).list().getItems().isEmpty());

      // per login: exactly the expected end, one device authorization, never a poll too soon
      List<String> problems = new ArrayList<>();
      Map<String, DeviceLogin> ended = client.resources(DeviceLogin.class).inNamespace(NS).list().getItems()
          .stream().collect(Collectors.toMap(dl -> dl.getMetadata().getName(), dl -> dl));
      Map<String, Set<String>> userCodes = userCodes(fixture.cluster().requests());
      Map<String, Integer> outcomes = new TreeMap<>();
      int polls = 0;
      long minGapMillis = Long.MAX_VALUE;
      long minGapAfterSlowDownMillis = Long.MAX_VALUE;
      for (Entry e : entries) {
        DeviceLogin dl = ended.get(e.name);
        String got = dl.getStatus().getPhase() + "/" + Logins.ready(dl).getReason();
        outcomes.merge(got, 1, Integer::sum);
        if (!got.equals(e.plan.phase + "/" + e.plan.reason)) {
          problems.add(e.name + " (" + e.plan + "): ended " + got + ": " + Logins.ready(dl).getMessage());
        }
        Set<String> codes = userCodes.getOrDefault(e.name, Set.of());
        if (codes.size() != 1) {
          problems.add(e.name + ": showed user codes " + codes);
          continue;
        }
        if (e.login == null) { // a short-lived code that expired before the person looked
          e.login = idp.login(codes.iterator().next());
        }
        if (e.login.tooEarlyPolls() != 0) {
          problems.add(e.name + " (" + e.plan + "): " + e.login.tooEarlyPolls()
              + " polls sooner than the interval then in force; polls at " + e.login.pollTimes());
        }
        long exchanges = e.login.issuedTokens().stream().filter(t -> t.grantType().equals(GrantType.DEVICE_CODE))
            .count();
        if (exchanges != (e.plan == Plan.DENIED || e.plan == Plan.EXPIRED_AT_IDP || e.plan == Plan.SHORT_EXPIRES_IN
            ? 0 : 1)) {
          problems.add(e.name + " (" + e.plan + "): device code exchanged " + exchanges + " times");
        }
        List<Instant> times = e.login.pollTimes();
        polls += times.size();
        long longest = 0;
        for (int i = 1; i < times.size(); i++) {
          long gap = Duration.between(times.get(i - 1), times.get(i)).toMillis();
          minGapMillis = Math.min(minGapMillis, gap);
          longest = Math.max(longest, gap);
        }
        if (e.plan == Plan.SLOW_DOWN_ONCE) {
          // the gap after the poll that got slow_down is the longest one
          minGapAfterSlowDownMillis = Math.min(minGapAfterSlowDownMillis, longest);
        }
        if (e.plan.phase == Phase.Ready) {
          Secret secret = client.secrets().inNamespace(NS).withName("oidc-" + e.user() + "-example-com").get();
          String issued = e.login.issuedTokens().isEmpty() ? null : e.login.issuedTokens().get(0).idToken();
          if (secret == null || issued == null || !issued.equals(TokenSecrets.value(secret, TokenSecrets.ID_TOKEN))) {
            problems.add(e.name + " (" + e.plan + "): the Secret does not hold the tokens the IdP issued");
          }
        } else if (client.secrets().inNamespace(NS).withName("oidc-" + e.user() + "-example-com").get() != null) {
          problems.add(e.name + " (" + e.plan + "): a token Secret exists");
        }
      }
      int authorizations = idp.logins().size();
      Map<String, Long> api = fixture.cluster().requests().stream().filter(r -> !r.fromTest() && !r.isWatch())
          .collect(Collectors.groupingBy(LoadIT::kind, TreeMap::new, Collectors.counting()));
      System.out.printf("LOAD %d DeviceLogins (seed %d) created in %d ms; all ended %d ms after the first create%n",
          entries.size(), SEED, (created.get() - started) / 1_000_000, (allEnded - started) / 1_000_000);
      System.out.printf("LOAD planned %s%n", planned);
      System.out.printf("LOAD ended %s%n", outcomes);
      System.out.printf("LOAD device authorizations %d; token polls %d; too-early polls %d; shortest gap between two "
              + "polls of one device code %d ms (interval 1 s); shortest gap after a slow_down %d ms (interval 6 s); "
              + "token requests %d; revocations %d%n", authorizations, polls,
          entries.stream().filter(e -> e.login != null).mapToInt(e -> e.login.tooEarlyPolls()).sum(), minGapMillis,
          minGapAfterSlowDownMillis, idp.requestsTo(idp.tokenEndpoint()).size(), idp.revocationCount());
      System.out.printf("LOAD operator API requests %s%n", api);
      assertThat(problems).as("logins that did not end exactly as planned").isEmpty();
      assertThat(authorizations).as("one device authorization per DeviceLogin").isEqualTo(entries.size());
      fixture.assertNoLeaks(Logins.secretsOf(idp));
    }
  }

  /** The person acts: approve, deny, let the code expire, or approve as someone else or outside the group. */
  private static void act(Entry e) {
    e.acted = true;
    switch (e.plan) {
      case APPROVED, SLOW_DOWN_ONCE, IDP_5XX_FOR_A_WHILE -> e.login.approve(Claims.user(e.user()));
      case DENIED -> e.login.deny();
      case EXPIRED_AT_IDP -> e.login.expire();
      case SHORT_EXPIRES_IN -> { } // nobody comes; the code expires after 4 s
      case WRONG_USER -> e.login.approve(Claims.user(e.user()));
      case GROUP_REFUSED -> e.login.approve(Claims.user(e.user()).groups("developers"));
    }
  }

  private static final Pattern USER_CODE = Pattern.compile("\"userCode\":\"([^\"]+)\"");
  private static final Pattern STATUS_PATH = Pattern.compile("/devicelogins/([^/]+)/status$");

  /** Every user code the operator wrote into each DeviceLogin's status. */
  private static Map<String, Set<String>> userCodes(List<ApiRequest> requests) {
    Map<String, Set<String>> codes = new LinkedHashMap<>();
    for (ApiRequest r : requests) {
      Matcher path = STATUS_PATH.matcher(r.bare());
      if (r.fromTest() || !"PATCH".equals(r.method()) || !path.find() || r.body() == null) {
        continue;
      }
      Matcher m = USER_CODE.matcher(r.body());
      while (m.find()) {
        codes.computeIfAbsent(path.group(1), k -> new HashSet<>()).add(m.group(1));
      }
    }
    return codes;
  }

  /** Verb and resource of a request, e.g. {@code PATCH devicelogins/status}. */
  private static String kind(ApiRequest r) {
    String[] parts = r.bare().split("/");
    int i = 0;
    while (i < parts.length && !parts[i].equals("namespaces")) {
      i++;
    }
    String resource = i + 2 >= parts.length ? parts[parts.length - 1]
        : parts[i + 2] + (i + 4 < parts.length ? "/" + parts[i + 4] : "");
    return r.method() + " " + resource;
  }
}
