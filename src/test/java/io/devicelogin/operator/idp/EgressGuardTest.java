package io.devicelogin.operator.idp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class EgressGuardTest {

  @ParameterizedTest
  @ValueSource(strings = {"127.0.0.1", "127.255.255.254", "169.254.169.254", "::1", "fe80::1", "0.0.0.0",
      "::ffff:127.0.0.1", "::ffff:169.254.169.254"})
  void theDefaultDeniesLoopbackLinkLocalAndThisNetwork(String address) throws Exception {
    assertThat(EgressGuard.defaults().denies(InetAddress.getByName(address))).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {"10.0.0.1", "192.168.1.10", "8.8.8.8", "128.0.0.1", "169.255.0.1", "2001:db8::1", "fec0::1"})
  void theDefaultAllowsOtherAddresses(String address) throws Exception {
    assertThat(EgressGuard.defaults().denies(InetAddress.getByName(address))).isFalse();
  }

  @Test
  void prefixesNeedNotEndOnAByteAndHostBitsAreIgnored() throws Exception {
    EgressGuard guard = EgressGuard.parse(" 10.1.2.3/12 , fd00::/7");
    assertThat(guard.denies(InetAddress.getByName("10.15.255.255"))).isTrue();
    assertThat(guard.denies(InetAddress.getByName("10.16.0.0"))).isFalse();
    assertThat(guard.denies(InetAddress.getByName("fdff::1"))).isTrue();
    assertThat(guard.denies(InetAddress.getByName("fe00::1"))).isFalse();
    assertThat(EgressGuard.parse("0.0.0.0/0").denies(InetAddress.getByName("203.0.113.9"))).isTrue();
  }

  @Test
  void emptyDeniesNothing() throws Exception {
    assertThat(EgressGuard.parse("").deniesNothing()).isTrue();
    assertThat(EgressGuard.parse(" , ").deniesNothing()).isTrue();
    assertThat(EgressGuard.none().denies(InetAddress.getByName("127.0.0.1"))).isFalse();
    assertThat(EgressGuard.defaults().deniesNothing()).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {"10.0.0.0", "10.0.0.0/33", "fe80::/129", "10.0.0.0/-1", "10.0.0.0/x", "example.com/8",
      "localhost/8", "10.0.0.0/8;rm", "1.2.3.4.5/8", "10.0.0.256/8", ":::1/128"})
  void anythingButACidrIsRefusedWithAOneLineMessage(String value) {
    assertThatThrownBy(() -> EgressGuard.parse("127.0.0.0/8," + value))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("IDP_DENIED_CIDRS: '" + value + "' is not a CIDR")
        .hasMessageNotContaining("\n");
  }

  @Test
  void aNameIsDeniedWhenAnyOfItsAddressesIsAndTheAddressConnectedToCarriesNoName() throws Exception {
    EgressGuard guard = EgressGuard.defaults().withResolver(host -> new InetAddress[] {
        InetAddress.getByName("203.0.113.7"), InetAddress.getByName(host.equals("mixed") ? "127.0.0.1" : "10.0.0.1")});
    assertThatThrownBy(() -> guard.allowedAddress("mixed")).isInstanceOf(EgressGuard.EndpointNotAllowedException.class);
    InetAddress allowed = guard.allowedAddress("fine");
    assertThat(allowed.getHostAddress()).isEqualTo("203.0.113.7");
    assertThat(new java.net.InetSocketAddress(allowed, 80).getHostString()).as("no second lookup")
        .isEqualTo("203.0.113.7");
  }
}
