package io.devicelogin.operator.idp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Who shares a fair share of IdP requests in flight, and what a request over it gets. */
class CallLimiterTest {

  private static ProviderConfig tenant(String namespace, String issuer) {
    return new ProviderConfig(URI.create(issuer), "cli", null, null, List.of("openid"), namespace, false, null);
  }

  private static ProviderConfig cluster(String issuer, String clientId) {
    return new ProviderConfig(URI.create(issuer), clientId, null, null, List.of("openid"));
  }

  @Test
  void allIdentityProvidersOfOneNamespaceShareOneShareSoMoreProvidersBuyNothing() throws Exception {
    CallLimiter limiter = new CallLimiter(2);
    CallLimiter.Permit first = limiter.acquire(tenant("evil", "https://a.evil.example"));
    CallLimiter.Permit second = limiter.acquire(tenant("evil", "https://b.evil.example"));

    IdpException busy = catchThrowableOfType(IdpException.class,
        () -> limiter.acquire(tenant("evil", "https://c.evil.example")));
    assertThat(busy.kind()).isEqualTo(IdpException.Kind.UNAVAILABLE);
    assertThat(busy.getMessage()).contains("2 requests to the IdPs of namespace evil are already waiting")
        .contains("this one was not sent");
    // other tenants and ClusterIdentityProviders are not affected
    limiter.acquire(tenant("team-a", "https://a.evil.example")).close();
    limiter.acquire(cluster("https://sso.example", "kubectl")).close();

    first.close();
    limiter.acquire(tenant("evil", "https://c.evil.example")).close();
    second.close();
    assertThat(limiter.inFlight(tenant("evil", "https://a.evil.example"))).isZero();
  }

  @Test
  void eachClusterIdentityProviderClientHasItsOwnShare() throws Exception {
    CallLimiter limiter = new CallLimiter(1);
    try (CallLimiter.Permit held = limiter.acquire(cluster("https://sso.example", "kubectl"))) {
      assertThat(catchThrowableOfType(IdpException.class,
          () -> limiter.acquire(cluster("https://sso.example", "kubectl"))).getMessage())
          .contains("1 requests to this IdP are already waiting", "one provider hold");
      limiter.acquire(cluster("https://sso.example", "portal")).close();
      limiter.acquire(cluster("https://other.example", "kubectl")).close();
    }
    limiter.acquire(cluster("https://sso.example", "kubectl")).close();
  }

  @Test
  void theDefaultShareIsAQuarterOfTheThreadsAtLeastTwoAndNeverAll() {
    assertThat(CallLimiter.defaultLimit(32)).isEqualTo(8);
    assertThat(CallLimiter.defaultLimit(5)).isEqualTo(2);
    assertThat(CallLimiter.defaultLimit(1)).isEqualTo(1);
  }
}
