package io.devicelogin.operator.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/** The operator's own metrics, next to JOSDK's. Labels never carry a token, a code or a secret. */
public final class OperatorMetrics {

  private final MeterRegistry registry;

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

  /** A login ended; {@code result} is the phase it ended in (Ready, Denied, Expired, Failed). */
  public void loginEnded(String result) {
    Counter.builder("devicelogin.logins")
        .description("Device logins that ended, by result")
        .tag("result", result)
        .register(registry)
        .increment();
  }
}
