package io.devicelogin.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OperatorSettingsTest {

  static Map<String, String> env(String... keyValues) {
    java.util.HashMap<String, String> env = new java.util.HashMap<>();
    env.put("OPERATOR_NAMESPACE", "devicelogin-system");
    for (int i = 0; i < keyValues.length; i += 2) {
      env.put(keyValues[i], keyValues[i + 1]);
    }
    return env;
  }

  @Test
  void defaultsWatchAllNamespacesOnPort8080() {
    OperatorSettings s = OperatorSettings.fromEnvironment(env());
    assertThat(s.watchNamespaces()).isEmpty();
    assertThat(s.httpPort()).isEqualTo(8080);
    assertThat(s.operatorNamespace()).isEqualTo("devicelogin-system");
    assertThat(s.idpConnectTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(s.idpReadTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(s.reconcileThreads()).isEqualTo(32);
    assertThat(s).isEqualTo(OperatorSettings.defaults("devicelogin-system"));
  }

  @Test
  void watchNamespacesIsACommaList() {
    assertThat(OperatorSettings.fromEnvironment(env("WATCH_NAMESPACES", "team-a")).watchNamespaces())
        .containsExactly("team-a");
    assertThat(OperatorSettings.fromEnvironment(env("WATCH_NAMESPACES", " team-a , team-b,,team-c ,team-a"))
        .watchNamespaces()).containsExactlyInAnyOrder("team-a", "team-b", "team-c");
  }

  @Test
  void emptyOrBlankWatchNamespacesMeansAll() {
    for (String value : new String[] {"", " ", ",", " , ,"}) {
      assertThat(OperatorSettings.fromEnvironment(env("WATCH_NAMESPACES", value)).watchNamespaces())
          .as("WATCH_NAMESPACES='%s'", value).isEmpty();
    }
  }

  @Test
  void httpPortIsRead() {
    assertThat(OperatorSettings.fromEnvironment(env("HTTP_PORT", "9090")).httpPort()).isEqualTo(9090);
    assertThat(OperatorSettings.fromEnvironment(env("HTTP_PORT", " 8443 ")).httpPort()).isEqualTo(8443);
    assertThat(OperatorSettings.fromEnvironment(env("HTTP_PORT", "0")).httpPort()).isZero();
    assertThat(OperatorSettings.fromEnvironment(env("HTTP_PORT", "65535")).httpPort()).isEqualTo(65535);
    assertThat(OperatorSettings.fromEnvironment(env("HTTP_PORT", " ")).httpPort())
        .as("an empty HTTP_PORT means the default, like an unset one").isEqualTo(8080);
  }

  @Test
  void reconcileThreadsAreReadAndBounded() {
    assertThat(OperatorSettings.fromEnvironment(env("RECONCILE_THREADS", " 4 ")).reconcileThreads()).isEqualTo(4);
    assertThat(OperatorSettings.fromEnvironment(env("RECONCILE_THREADS", "1")).reconcileThreads()).isEqualTo(1);
    assertThat(OperatorSettings.fromEnvironment(env("RECONCILE_THREADS", "256")).reconcileThreads()).isEqualTo(256);
    assertThat(OperatorSettings.fromEnvironment(env("RECONCILE_THREADS", "")).reconcileThreads()).isEqualTo(32);
    for (String value : new String[] {"0", "-3", "257", "many", "2.5"}) {
      assertThatThrownBy(() -> OperatorSettings.fromEnvironment(env("RECONCILE_THREADS", value)))
          .as("RECONCILE_THREADS=%s", value)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("RECONCILE_THREADS")
          .hasMessageContaining(value);
    }
  }

  @Test
  void theFairShareOfIdpRequestsDefaultsToAQuarterOfTheThreadsAndIsBounded() {
    assertThat(OperatorSettings.fromEnvironment(env("RECONCILE_THREADS", "32")).idpFairShare()).isEqualTo(8);
    assertThat(OperatorSettings.fromEnvironment(env("RECONCILE_THREADS", "4")).idpFairShare()).isEqualTo(2);
    assertThat(OperatorSettings.fromEnvironment(env("RECONCILE_THREADS", "1")).idpFairShare()).isEqualTo(1);
    assertThat(OperatorSettings.fromEnvironment(Map.of("RECONCILE_THREADS", "16", "IDP_FAIR_SHARE", " 3 "))
        .idpFairShare()).isEqualTo(3);
    for (String value : new String[] {"0", "-1", "33", "half"}) {
      assertThatThrownBy(() -> OperatorSettings.fromEnvironment(env("IDP_FAIR_SHARE", value)))
          .as("IDP_FAIR_SHARE=%s", value)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("IDP_FAIR_SHARE")
          .hasMessageContaining(value);
    }
  }

  @Test
  void nonNumericPortIsRefusedWithAClearMessage() {
    assertThatThrownBy(() -> OperatorSettings.fromEnvironment(env("HTTP_PORT", "http")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("HTTP_PORT")
        .hasMessageContaining("'http'");
    assertThatThrownBy(() -> OperatorSettings.fromEnvironment(env("HTTP_PORT", "80.5")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("HTTP_PORT");
  }

  @Test
  void outOfRangePortIsRefusedWithAClearMessage() {
    for (String port : new String[] {"-1", "65536", "99999999999"}) {
      assertThatThrownBy(() -> OperatorSettings.fromEnvironment(env("HTTP_PORT", port)))
          .as("HTTP_PORT=%s", port)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("HTTP_PORT")
          .hasMessageContaining(port);
    }
  }

  @Test
  void callbackPortDefaultsTo8081IsReadLikeHttpPortAndOffTurnsTheEndpointOff() {
    assertThat(OperatorSettings.fromEnvironment(env()).callbackPort()).isEqualTo(8081);
    assertThat(OperatorSettings.fromEnvironment(env("CALLBACK_PORT", " ")).callbackPort()).isEqualTo(8081);
    assertThat(OperatorSettings.fromEnvironment(env("CALLBACK_PORT", " 9443 ")).callbackPort()).isEqualTo(9443);
    assertThat(OperatorSettings.fromEnvironment(env("CALLBACK_PORT", "0")).callbackPort()).isZero();
    for (String off : new String[] {"off", " OFF "}) {
      assertThat(OperatorSettings.fromEnvironment(env("CALLBACK_PORT", off)).callbackPort())
          .isEqualTo(OperatorSettings.CALLBACK_OFF);
    }
    for (String bad : new String[] {"-1", "65536", "http", "false", "8081.5"}) {
      assertThatThrownBy(() -> OperatorSettings.fromEnvironment(env("CALLBACK_PORT", bad)))
          .as("CALLBACK_PORT=%s", bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("CALLBACK_PORT")
          .hasMessageContaining(bad);
    }
    assertThat(new OperatorSettings(java.util.Set.of(), "ns", 0, Duration.ofSeconds(1), Duration.ofSeconds(1))
        .callbackPort()).as("the tests' settings serve no callback endpoint").isEqualTo(OperatorSettings.CALLBACK_OFF);
  }

  @Test
  void operatorNamespaceFallsBackToTheServiceAccountNamespaceOrDefault() {
    Map<String, String> env = Map.of("OPERATOR_NAMESPACE", "  ");
    String expected = Files.isReadable(OperatorSettings.SERVICE_ACCOUNT_NAMESPACE) ? null : "default";
    OperatorSettings s = OperatorSettings.fromEnvironment(env);
    if (expected != null) {
      assertThat(s.operatorNamespace()).isEqualTo(expected);
    } else {
      assertThat(s.operatorNamespace()).isNotBlank();
    }
    assertThat(OperatorSettings.fromEnvironment(Map.of()).operatorNamespace()).isEqualTo(s.operatorNamespace());
  }

  @Test
  void idpDeniedCidrsDefaultsToTheSafeListMayBeEmptiedAndRefusesAnythingButCidrs() throws Exception {
    java.net.InetAddress metadata = java.net.InetAddress.getByName("169.254.169.254");
    assertThat(OperatorSettings.fromEnvironment(env()).idpEgress()).isEqualTo(
        io.devicelogin.operator.idp.EgressGuard.parse("127.0.0.0/8,::1/128,169.254.0.0/16,fe80::/10,0.0.0.0/8"));
    assertThat(OperatorSettings.fromEnvironment(env()).idpEgress().denies(metadata)).isTrue();
    assertThat(OperatorSettings.defaults("ns").idpEgress().denies(metadata)).isTrue();
    assertThat(OperatorSettings.fromEnvironment(env("IDP_DENIED_CIDRS", "")).idpEgress().deniesNothing()).isTrue();
    assertThat(OperatorSettings.fromEnvironment(env("IDP_DENIED_CIDRS", "10.0.0.0/8")).idpEgress().denies(metadata))
        .isFalse();
    assertThatThrownBy(() -> OperatorSettings.fromEnvironment(env("IDP_DENIED_CIDRS", "169.254.169.254")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("IDP_DENIED_CIDRS: '169.254.169.254' is not a CIDR (an IPv4 or IPv6 address, '/' and a prefix "
            + "length, e.g. 169.254.0.0/16 or fe80::/10)");
  }

  @Test
  void watchNamespacesIsImmutable() {
    OperatorSettings s = OperatorSettings.fromEnvironment(env("WATCH_NAMESPACES", "a,b"));
    assertThatThrownBy(() -> s.watchNamespaces().add("c")).isInstanceOf(UnsupportedOperationException.class);
  }
}
