package io.devicelogin.operator;

import static io.devicelogin.operator.OperatorSettingsTest.env;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class LeaderElectionSettingsTest {

  @Test
  void offByDefault() {
    assertThat(OperatorSettings.fromEnvironment(env()).leaderElection().enabled()).isFalse();
    assertThat(OperatorSettings.fromEnvironment(env("LEADER_ELECTION", "false")).leaderElection().enabled())
        .isFalse();
    assertThat(OperatorSettings.fromEnvironment(env("LEADER_ELECTION", "")).leaderElection().enabled()).isFalse();
  }

  @Test
  void onUsesTheLeaseDeviceloginOperatorInTheOperatorNamespace() {
    OperatorSettings.LeaderElection election =
        OperatorSettings.fromEnvironment(env("LEADER_ELECTION", "true")).leaderElection();
    assertThat(election.enabled()).isTrue();
    assertThat(election.leaseName()).isEqualTo("devicelogin-operator");
    assertThat(election.leaseNamespace()).isEqualTo("devicelogin-system");
    assertThat(election.identity()).as("JOSDK then uses HOSTNAME, the Pod name").isNull();
    assertThat(election.leaseDuration()).isEqualTo(Duration.ofSeconds(15));
    assertThat(election.renewDeadline()).isEqualTo(Duration.ofSeconds(10));
    assertThat(election.retryPeriod()).isEqualTo(Duration.ofSeconds(2));
    assertThat(OperatorSettings.fromEnvironment(env("LEADER_ELECTION", " TRUE ")).leaderElection().enabled())
        .isTrue();
  }

  @Test
  void leaseNamespaceAndNameCanBeSet() {
    OperatorSettings.LeaderElection election = OperatorSettings.fromEnvironment(env("LEADER_ELECTION", "true",
        "LEADER_ELECTION_NAMESPACE", "leases", "LEADER_ELECTION_LEASE_NAME", "dl-blue")).leaderElection();
    assertThat(election.leaseNamespace()).isEqualTo("leases");
    assertThat(election.leaseName()).isEqualTo("dl-blue");
  }

  @Test
  void anythingButTrueOrFalseIsRefused() {
    assertThatThrownBy(() -> OperatorSettings.fromEnvironment(env("LEADER_ELECTION", "yes")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("LEADER_ELECTION must be true or false, got 'yes'");
  }

  @Test
  void theFiveArgumentConstructorMeansNoLeaderElection() {
    assertThat(OperatorSettings.defaults("ns").leaderElection()).isEqualTo(OperatorSettings.LeaderElection.disabled());
  }
}
