package io.devicelogin.operator;

import io.devicelogin.operator.idp.EgressGuard;
import io.devicelogin.operator.idp.CallLimiter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * How the operator runs, from the environment (see the API contract's "Running the operator").
 *
 * @param watchNamespaces namespaces to watch; empty means all
 * @param operatorNamespace where ClusterIdentityProvider client secrets live
 * @param httpPort port of /metrics, /healthz and /readyz (0 picks a free one)
 * @param idpConnectTimeout bound on connecting to an IdP
 * @param idpReadTimeout bound on waiting for an IdP's answer
 * @param leaderElection whether and how instances elect one leader (only the leader reconciles)
 * @param reconcileThreads how many reconciles run at once (all controllers together); a reconcile waits on the IdP
 *     and the API server, never on a timer, so a few threads serve thousands of pending logins
 * @param idpEgress where the endpoints of namespaced IdentityProviders may not go (IDP_DENIED_CIDRS)
 * @param idpFairShare how many IdP requests one owner of providers may have in flight at once (IDP_FAIR_SHARE): a
 *     tenant's namespace with all its IdentityProviders, or one ClusterIdentityProvider's client; 0: a quarter of the
 *     reconcile threads, at least 2 (see {@link io.devicelogin.operator.idp.CallLimiter})
 * @param callbackPort port of the callback endpoint /callback (CALLBACK_PORT; 0 picks a free one,
 *     {@link #CALLBACK_OFF}: not served)
 */
public record OperatorSettings(
    Set<String> watchNamespaces, String operatorNamespace, int httpPort, Duration idpConnectTimeout,
    Duration idpReadTimeout, LeaderElection leaderElection, int reconcileThreads, EgressGuard idpEgress,
    int idpFairShare, int callbackPort) {

  /** CALLBACK_PORT unless set. */
  public static final int DEFAULT_CALLBACK_PORT = 8081;

  /** {@link #callbackPort} when CALLBACK_PORT is {@code off}: the operator serves no callback endpoint. */
  public static final int CALLBACK_OFF = -1;

  /** Reconcile threads unless RECONCILE_THREADS says otherwise. */
  public static final int DEFAULT_RECONCILE_THREADS = 32;

  /** Upper bound of RECONCILE_THREADS. */
  public static final int MAX_RECONCILE_THREADS = 256;

  static final Path SERVICE_ACCOUNT_NAMESPACE = Path.of("/var/run/secrets/kubernetes.io/serviceaccount/namespace");

  /** Name of the Lease the instances compete for. */
  public static final String DEFAULT_LEASE_NAME = "devicelogin-operator";

  /**
   * Leader election on a coordination.k8s.io/v1 Lease.
   *
   * @param enabled off: this instance reconciles on its own (one replica)
   * @param leaseName name of the Lease
   * @param leaseNamespace namespace of the Lease
   * @param identity this instance's name in the Lease; null: HOSTNAME (the Pod name), else a random one
   * @param leaseDuration how long a lease not renewed stays with its holder
   * @param renewDeadline how long the leader keeps trying to renew before it gives up leading
   * @param retryPeriod how often candidates try to acquire and the leader renews
   */
  public record LeaderElection(
      boolean enabled, String leaseName, String leaseNamespace, String identity, Duration leaseDuration,
      Duration renewDeadline, Duration retryPeriod) {

    /** Off. */
    public static LeaderElection disabled() {
      return new LeaderElection(false, DEFAULT_LEASE_NAME, null, null, Duration.ofSeconds(15), Duration.ofSeconds(10),
          Duration.ofSeconds(2));
    }

    /** On, with the Lease {@value #DEFAULT_LEASE_NAME} in {@code namespace} and JOSDK's default timings. */
    public static LeaderElection enabled(String namespace) {
      return new LeaderElection(true, DEFAULT_LEASE_NAME, namespace, null, Duration.ofSeconds(15),
          Duration.ofSeconds(10), Duration.ofSeconds(2));
    }

    public LeaderElection withIdentity(String newIdentity) {
      return new LeaderElection(enabled, leaseName, leaseNamespace, newIdentity, leaseDuration, renewDeadline,
          retryPeriod);
    }

    public LeaderElection withTimings(Duration newLeaseDuration, Duration newRenewDeadline, Duration newRetryPeriod) {
      return new LeaderElection(enabled, leaseName, leaseNamespace, identity, newLeaseDuration, newRenewDeadline,
          newRetryPeriod);
    }
  }

  public OperatorSettings {
    watchNamespaces = Set.copyOf(watchNamespaces);
    if (leaderElection == null) {
      leaderElection = LeaderElection.disabled();
    }
    if (idpEgress == null) {
      idpEgress = EgressGuard.defaults();
    }
    if (idpFairShare == 0) {
      idpFairShare = CallLimiter.defaultLimit(reconcileThreads);
    }
    if (idpFairShare < 1 || idpFairShare > reconcileThreads) {
      throw new IllegalArgumentException("IDP_FAIR_SHARE must be between 1 and RECONCILE_THREADS (" + reconcileThreads
          + "), got " + idpFairShare);
    }
    if (callbackPort < CALLBACK_OFF || callbackPort > 65535) {
      throw new IllegalArgumentException("CALLBACK_PORT must be between 0 and 65535 or off, got " + callbackPort);
    }
    if (reconcileThreads < 1 || reconcileThreads > MAX_RECONCILE_THREADS) {
      throw new IllegalArgumentException(
          "RECONCILE_THREADS must be between 1 and " + MAX_RECONCILE_THREADS + ", got " + reconcileThreads);
    }
  }

  /** Without leader election and without the callback endpoint, with the default IDP_DENIED_CIDRS. */
  public OperatorSettings(
      Set<String> watchNamespaces, String operatorNamespace, int httpPort, Duration idpConnectTimeout,
      Duration idpReadTimeout) {
    this(watchNamespaces, operatorNamespace, httpPort, idpConnectTimeout, idpReadTimeout, LeaderElection.disabled(),
        DEFAULT_RECONCILE_THREADS, EgressGuard.defaults(), 0, CALLBACK_OFF);
  }

  public OperatorSettings withLeaderElection(LeaderElection newLeaderElection) {
    return new OperatorSettings(
        watchNamespaces, operatorNamespace, httpPort, idpConnectTimeout, idpReadTimeout, newLeaderElection,
        reconcileThreads, idpEgress, idpFairShare, callbackPort);
  }

  public OperatorSettings withReconcileThreads(int threads) {
    return new OperatorSettings(
        watchNamespaces, operatorNamespace, httpPort, idpConnectTimeout, idpReadTimeout, leaderElection, threads,
        idpEgress, Math.min(idpFairShare, threads), callbackPort);
  }

  /** With another IDP_DENIED_CIDRS guard ({@link EgressGuard#none()} for an IdP on 127.0.0.1 in tests and the demo). */
  public OperatorSettings withIdpEgress(EgressGuard newIdpEgress) {
    return new OperatorSettings(
        watchNamespaces, operatorNamespace, httpPort, idpConnectTimeout, idpReadTimeout, leaderElection,
        reconcileThreads, newIdpEgress, idpFairShare, callbackPort);
  }

  /**
   * Defaults for a given operator namespace: all namespaces, port 8080, the callback endpoint on 8081, 5 s connect and
   * 10 s read timeouts.
   */
  public static OperatorSettings defaults(String operatorNamespace) {
    return new OperatorSettings(Set.of(), operatorNamespace, 8080, Duration.ofSeconds(5), Duration.ofSeconds(10))
        .withCallbackPort(DEFAULT_CALLBACK_PORT);
  }

  /**
   * Reads WATCH_NAMESPACES, OPERATOR_NAMESPACE, HTTP_PORT, CALLBACK_PORT (a port or {@code off}), LEADER_ELECTION,
   * LEADER_ELECTION_NAMESPACE, LEADER_ELECTION_LEASE_NAME, RECONCILE_THREADS, IDP_FAIR_SHARE and IDP_DENIED_CIDRS (absent:
   * {@value EgressGuard#DEFAULT_DENIED_CIDRS}; empty: none); throws IllegalArgumentException on bad values.
   */
  public static OperatorSettings fromEnvironment(Map<String, String> env) {
    Set<String> namespaces = Arrays.stream(env.getOrDefault("WATCH_NAMESPACES", "").split(","))
        .map(String::trim)
        .filter(s -> !s.isEmpty())
        .collect(Collectors.toUnmodifiableSet());
    String operatorNamespace = env.get("OPERATOR_NAMESPACE");
    if (operatorNamespace == null || operatorNamespace.isBlank()) {
      operatorNamespace = inClusterNamespace();
    }
    OperatorSettings defaults = defaults(operatorNamespace);
    String rawCallbackPort = env.getOrDefault("CALLBACK_PORT", "").trim();
    return new OperatorSettings(
        namespaces, operatorNamespace, port(env, "HTTP_PORT", defaults.httpPort()), defaults.idpConnectTimeout(),
        defaults.idpReadTimeout(), leaderElection(env, operatorNamespace), reconcileThreads(env),
        EgressGuard.parse(env.getOrDefault("IDP_DENIED_CIDRS", EgressGuard.DEFAULT_DENIED_CIDRS)),
        positive(env, "IDP_FAIR_SHARE"), "off".equalsIgnoreCase(rawCallbackPort)
            ? CALLBACK_OFF : port(env, "CALLBACK_PORT", defaults.callbackPort()));
  }

  /** A port number (0: a free one) from {@code name}, or {@code fallback} when it is not set. */
  private static int port(Map<String, String> env, String name, int fallback) {
    String raw = env.getOrDefault(name, "").trim();
    if (raw.isEmpty()) {
      return fallback;
    }
    int port;
    try {
      port = Integer.parseInt(raw);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be a port number, got '" + raw + "'");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(name + " must be between 0 and 65535, got " + port);
    }
    return port;
  }

  /** A whole number from {@code name}, or 0 when it is not set. */
  private static int positive(Map<String, String> env, String name) {
    String raw = env.getOrDefault(name, "").trim();
    if (raw.isEmpty()) {
      return 0;
    }
    try {
      int value = Integer.parseInt(raw);
      if (value < 1) {
        throw new IllegalArgumentException(name + " must be at least 1, got " + value);
      }
      return value;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be a whole number, got '" + raw + "'");
    }
  }

  /** With another fair share of IdP requests in flight per owner of providers. */
  public OperatorSettings withIdpFairShare(int share) {
    return new OperatorSettings(
        watchNamespaces, operatorNamespace, httpPort, idpConnectTimeout, idpReadTimeout, leaderElection,
        reconcileThreads, idpEgress, share, callbackPort);
  }

  /** With the callback endpoint on another port (0: a free one; {@link #CALLBACK_OFF}: none). */
  public OperatorSettings withCallbackPort(int port) {
    return new OperatorSettings(
        watchNamespaces, operatorNamespace, httpPort, idpConnectTimeout, idpReadTimeout, leaderElection,
        reconcileThreads, idpEgress, idpFairShare, port);
  }

  private static int reconcileThreads(Map<String, String> env) {
    String raw = env.getOrDefault("RECONCILE_THREADS", "").trim();
    if (raw.isEmpty()) {
      return DEFAULT_RECONCILE_THREADS;
    }
    try {
      return Integer.parseInt(raw);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("RECONCILE_THREADS must be a number of threads, got '" + raw + "'");
    }
  }

  private static LeaderElection leaderElection(Map<String, String> env, String operatorNamespace) {
    String raw = env.getOrDefault("LEADER_ELECTION", "").trim().toLowerCase(java.util.Locale.ROOT);
    boolean enabled = switch (raw) {
      case "", "false" -> false;
      case "true" -> true;
      default -> throw new IllegalArgumentException("LEADER_ELECTION must be true or false, got '" + raw + "'");
    };
    if (!enabled) {
      return LeaderElection.disabled();
    }
    String namespace = env.getOrDefault("LEADER_ELECTION_NAMESPACE", "").trim();
    String leaseName = env.getOrDefault("LEADER_ELECTION_LEASE_NAME", "").trim();
    LeaderElection on = LeaderElection.enabled(namespace.isEmpty() ? operatorNamespace : namespace);
    return leaseName.isEmpty() ? on : new LeaderElection(true, leaseName, on.leaseNamespace(), null,
        on.leaseDuration(), on.renewDeadline(), on.retryPeriod());
  }

  private static String inClusterNamespace() {
    try {
      return Files.readString(SERVICE_ACCOUNT_NAMESPACE).trim();
    } catch (java.io.IOException e) {
      return "default";
    }
  }
}
