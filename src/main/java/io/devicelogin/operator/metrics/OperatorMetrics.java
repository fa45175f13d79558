package io.devicelogin.operator.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/** The operator's own metrics, next to JOSDK's. Labels never carry a token, a code or a secret. */
public final class OperatorMetrics {

  private final MeterRegistry registry;
  private final Map<String, TokenTimes> tokenTimes = new ConcurrentHashMap<>();
  private final Map<String, ReadyStatus> readyStatus = new ConcurrentHashMap<>();

  /** The Ready condition's status per DeviceLogin, as cert-manager's certificate_ready_status. */
  private record ReadyStatus(AtomicReference<String> status, List<Meter> meters) {}

  /** Per-DeviceLogin gauge values, in epoch seconds (NaN: none). */
  private record TokenTimes(AtomicReference<Double> expiry, AtomicReference<Double> renewal, List<Meter> meters) {}

  public OperatorMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  public MeterRegistry registry() {
    return registry;
  }

  /**
   * One request to an IdP.
   *
   * @param endpoint discovery, device_authorization, token or jwks
   * @param outcome success, error (an OAuth error response), unavailable or invalid
   */
  public void idpRequest(String endpoint, String outcome) {
    Counter.builder("devicelogin.idp.requests")
        .description("Requests the operator sent to identity providers, by endpoint and outcome")
        .tag("endpoint", endpoint)
        .tag("outcome", outcome)
        .register(registry)
        .increment();
  }

  /**
   * One request to the callback endpoint that reached its handler.
   *
   * @param outcome the delivery's receipt in lower case ({@code accepted}, {@code unknown_state}...), or
   *     {@code rate_limited}, {@code bad_method} or {@code form} (the paste form was shown): never request data
   */
  public void callbackRequest(String outcome) {
    Counter.builder("devicelogin.callback.requests")
        .description("Requests to the callback endpoint, by outcome")
        .tag("outcome", outcome)
        .register(registry)
        .increment();
  }

  /** A refresh attempt; {@code result} is success, unavailable (retried) or refused (ends the login). */
  public void refresh(String result) {
    Counter.builder("devicelogin.refresh")
        .description("Token refresh attempts, by result")
        .tag("result", result)
        .register(registry)
        .increment();
  }

  /**
   * Publishes when a DeviceLogin's ID token expires and when it is renewed next (null: no renewal scheduled), as
   * {@code devicelogin_token_expiration_timestamp_seconds} and {@code devicelogin_renewal_timestamp_seconds}.
   */
  public void tokenTimes(String namespace, String name, Instant expiry, Instant renewal) {
    TokenTimes times = tokenTimes.computeIfAbsent(namespace + "/" + name, key -> register(namespace, name));
    times.expiry().set(epochSeconds(expiry));
    times.renewal().set(epochSeconds(renewal));
  }

  /** Drops a DeviceLogin's gauges (it is no longer Ready, or was deleted). */
  public void forgetTokenTimes(String namespace, String name) {
    TokenTimes times = tokenTimes.remove(namespace + "/" + name);
    if (times != null) {
      times.meters().forEach(registry::remove);
    }
  }

  private TokenTimes register(String namespace, String name) {
    AtomicReference<Double> expiry = new AtomicReference<>(Double.NaN);
    AtomicReference<Double> renewal = new AtomicReference<>(Double.NaN);
    List<Meter> meters = List.of(
        Gauge.builder("devicelogin.token.expiration.timestamp", expiry, AtomicReference::get)
            .description("When the ID token in the DeviceLogin's Secret expires (Unix time)")
            .baseUnit("seconds")
            .tags("namespace", namespace, "name", name)
            .register(registry),
        Gauge.builder("devicelogin.renewal.timestamp", renewal, AtomicReference::get)
            .description("When the operator next refreshes the DeviceLogin's tokens (Unix time)")
            .baseUnit("seconds")
            .tags("namespace", namespace, "name", name)
            .register(registry));
    return new TokenTimes(expiry, renewal, meters);
  }

  private static double epochSeconds(Instant instant) {
    return instant == null ? Double.NaN : instant.getEpochSecond();
  }

  /**
   * Publishes a DeviceLogin's Ready condition as {@code devicelogin_ready_status{namespace,name,condition}}: 1 for
   * the condition value it has (True, False or Unknown), 0 for the others.
   */
  public void readyStatus(String namespace, String name, String status) {
    readyStatus.computeIfAbsent(namespace + "/" + name, key -> registerReady(namespace, name)).status().set(status);
  }

  private ReadyStatus registerReady(String namespace, String name) {
    AtomicReference<String> status = new AtomicReference<>("Unknown");
    List<Meter> meters = List.of("True", "False", "Unknown").stream()
        .map(condition -> (Meter) Gauge.builder("devicelogin.ready.status", status,
                current -> condition.equals(current.get()) ? 1 : 0)
            .description("The DeviceLogin's Ready condition: 1 for the value it has")
            .tags("namespace", namespace, "name", name, "condition", condition)
            .register(registry))
        .toList();
    return new ReadyStatus(status, meters);
  }

  /** Drops all of a deleted DeviceLogin's per-resource gauges. */
  public void forget(String namespace, String name) {
    forgetTokenTimes(namespace, name);
    ReadyStatus status = readyStatus.remove(namespace + "/" + name);
    if (status != null) {
      status.meters().forEach(registry::remove);
    }
  }

  /** A login ended; {@code result} is the phase it ended in (Ready, Denied, Expired, Failed). */
  public void loginEnded(String result) {
    Counter.builder("devicelogin.logins")
        .description("Device logins that ended, by result")
        .tag("result", result)
        .register(registry)
        .increment();
  }
}
