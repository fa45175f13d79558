package io.devicelogin.operator;

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
 */
public record OperatorSettings(
    Set<String> watchNamespaces, String operatorNamespace, int httpPort, Duration idpConnectTimeout,
    Duration idpReadTimeout) {

  static final Path SERVICE_ACCOUNT_NAMESPACE = Path.of("/var/run/secrets/kubernetes.io/serviceaccount/namespace");

  public OperatorSettings {
    watchNamespaces = Set.copyOf(watchNamespaces);
  }

  /** Defaults for a given operator namespace: all namespaces, port 8080, 5 s connect and 10 s read timeouts. */
  public static OperatorSettings defaults(String operatorNamespace) {
    return new OperatorSettings(Set.of(), operatorNamespace, 8080, Duration.ofSeconds(5), Duration.ofSeconds(10));
  }

  /** Reads WATCH_NAMESPACES, OPERATOR_NAMESPACE and HTTP_PORT; throws IllegalArgumentException on bad values. */
  public static OperatorSettings fromEnvironment(Map<String, String> env) {
    Set<String> namespaces = Arrays.stream(env.getOrDefault("WATCH_NAMESPACES", "").split(","))
        .map(String::trim)
        .filter(s -> !s.isEmpty())
        .collect(Collectors.toUnmodifiableSet());
    String operatorNamespace = env.get("OPERATOR_NAMESPACE");
    if (operatorNamespace == null || operatorNamespace.isBlank()) {
      operatorNamespace = inClusterNamespace();
    }
    int port;
    String rawPort = env.getOrDefault("HTTP_PORT", "").trim();
    if (rawPort.isEmpty()) {
      rawPort = "8080";
    }
    try {
      port = Integer.parseInt(rawPort);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("HTTP_PORT must be a port number, got '" + rawPort + "'");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("HTTP_PORT must be between 0 and 65535, got " + port);
    }
    OperatorSettings defaults = defaults(operatorNamespace);
    return new OperatorSettings(
        namespaces, operatorNamespace, port, defaults.idpConnectTimeout(), defaults.idpReadTimeout());
  }

  private static String inClusterNamespace() {
    try {
      return Files.readString(SERVICE_ACCOUNT_NAMESPACE).trim();
    } catch (java.io.IOException e) {
      return "default";
    }
  }
}
