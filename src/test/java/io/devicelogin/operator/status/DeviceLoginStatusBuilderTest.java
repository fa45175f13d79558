package io.devicelogin.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.api.v1alpha1.Constants;
import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginSpec;
import io.devicelogin.operator.api.v1alpha1.DeviceLoginStatus;
import io.devicelogin.operator.api.v1alpha1.Identity;
import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.flow.Grant;
import io.devicelogin.operator.api.v1alpha1.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class DeviceLoginStatusBuilderTest {

  static final Instant T0 = Instant.parse("2025-03-01T10:00:00.400Z");
  static final Instant T1 = Instant.parse("2025-03-01T10:02:00Z");
  static final String DEVICE_CODE = "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS";

  static DeviceLogin login(long generation, DeviceLoginStatus status) {
    DeviceLogin login = new DeviceLogin();
    login.setMetadata(new ObjectMetaBuilder().withName("alice").withNamespace("team-a").withUid("uid-1")
        .withGeneration(generation).build());
    login.setSpec(new DeviceLoginSpec());
    login.setStatus(status);
    return login;
  }

  static Grant grant(URI complete) {
    return new Grant("g-1", 2, null, "https://idp.example", "cli", DEVICE_CODE, "WDJB-MJHT", URI.create("https://idp.example/device"), complete,
        Instant.parse("2025-03-01T10:10:00.900Z"), Duration.ofSeconds(10));
  }

  static Condition ready(DeviceLoginStatus status) {
    assertThat(status.getConditions()).filteredOn(c -> Constants.READY.equals(c.getType())).hasSize(1);
    return Conditions.find(status.getConditions(), Constants.READY);
  }

  @Test
  void awaitingUserShowsWhatThePersonNeeds() {
    DeviceLoginStatus s = DeviceLoginStatusBuilder.awaitingUser(
        login(2, null), grant(URI.create("https://idp.example/device?user_code=WDJB-MJHT")),
        Reason.AuthorizationPending, "Open it", T0);
    assertThat(s.getPhase()).isEqualTo(Phase.AwaitingUser);
    assertThat(s.getUserCode()).isEqualTo("WDJB-MJHT");
    assertThat(s.getVerificationUri()).isEqualTo("https://idp.example/device");
    assertThat(s.getVerificationUriComplete()).isEqualTo("https://idp.example/device?user_code=WDJB-MJHT");
    assertThat(s.getExpiresAt()).isEqualTo("2025-03-01T10:10:00Z");
    assertThat(s.getPollInterval()).isEqualTo(10);
    assertThat(s.getObservedGeneration()).isEqualTo(2L);
    assertThat(s.getSecretName()).isNull();
    Condition c = ready(s);
    assertThat(c.getStatus()).isEqualTo("False");
    assertThat(c.getReason()).isEqualTo("AuthorizationPending");
    assertThat(c.getMessage()).isEqualTo("Open it");
    assertThat(c.getObservedGeneration()).isEqualTo(2L);
    assertThat(c.getLastTransitionTime()).isEqualTo("2025-03-01T10:00:00Z");
    assertThat(Serialization.asJson(s)).doesNotContain(DEVICE_CODE);
  }

  @Test
  void awaitingUserWithoutVerificationUriComplete() {
    DeviceLoginStatus s = DeviceLoginStatusBuilder.awaitingUser(
        login(1, null), grant(null), Reason.IdPUnavailable, "IdP down", T0);
    assertThat(s.getVerificationUriComplete()).isNull();
    assertThat(ready(s).getReason()).isEqualTo("IdPUnavailable");
  }

  @Test
  void readyClearsUserCodeFieldsAndSetsIdentity() {
    DeviceLoginStatus awaiting = DeviceLoginStatusBuilder.awaitingUser(
        login(2, null), grant(URI.create("https://idp.example/c")), Reason.AuthorizationPending, "m", T0);
    Identity identity = new Identity("alice@example.com", "sub-1", "alice@example.com", List.of("dev"));

    DeviceLoginStatus s = DeviceLoginStatusBuilder.ready(
        login(2, awaiting), identity, "oidc-alice-example-com", Instant.parse("2025-03-01T11:02:00.5Z"),
        Instant.parse("2025-03-01T10:42:00Z"), "done", T1);

    assertThat(s.getPhase()).isEqualTo(Phase.Ready);
    assertThat(s.getUserCode()).isNull();
    assertThat(s.getVerificationUri()).isNull();
    assertThat(s.getVerificationUriComplete()).isNull();
    assertThat(s.getIdentity()).isEqualTo(identity);
    assertThat(s.getSecretName()).isEqualTo("oidc-alice-example-com");
    assertThat(s.getTokenExpiresAt()).isEqualTo("2025-03-01T11:02:00Z");
    assertThat(s.getRenewalTime()).isEqualTo("2025-03-01T10:42:00Z");
    assertThat(s.getLastRefreshTime()).isNull();
    assertThat(s.getObservedGeneration()).isEqualTo(2L);
    Condition c = ready(s);
    assertThat(c.getStatus()).isEqualTo("True");
    assertThat(c.getReason()).isEqualTo("Issued");
    assertThat(c.getMessage()).isEqualTo("done");
    assertThat(c.getLastTransitionTime()).as("False -> True is a transition").isEqualTo("2025-03-01T10:02:00Z");
  }

  @Test
  void endedClearsUserCodeFieldsAndKeepsAnEarlierLoginsSecret() {
    DeviceLoginStatus earlier = DeviceLoginStatusBuilder.ready(
        login(1, null), new Identity("alice", "sub-1", null, List.of()), "oidc-alice",
        Instant.parse("2025-03-01T09:30:00Z"), Instant.parse("2025-03-01T09:20:00Z"), "done", T0.minusSeconds(600));
    earlier.setLastRefreshTime("2025-03-01T09:00:00Z");
    DeviceLoginStatus awaiting = DeviceLoginStatusBuilder.awaitingUser(
        login(2, earlier), grant(URI.create("https://idp.example/c")), Reason.AuthorizationPending, "m", T0);
    assertThat(awaiting.getSecretName()).isEqualTo("oidc-alice");

    DeviceLoginStatus s = DeviceLoginStatusBuilder.ended(
        login(2, awaiting), Phase.Denied, Reason.AccessDenied, "denied", T1);

    assertThat(s.getPhase()).isEqualTo(Phase.Denied);
    assertThat(s.getUserCode()).isNull();
    assertThat(s.getVerificationUri()).isNull();
    assertThat(s.getVerificationUriComplete()).isNull();
    assertThat(s.getExpiresAt()).isNull();
    assertThat(s.getPollInterval()).isNull();
    assertThat(s.getSecretName()).isEqualTo("oidc-alice");
    assertThat(s.getIdentity().getUsername()).isEqualTo("alice");
    assertThat(s.getTokenExpiresAt()).isEqualTo("2025-03-01T09:30:00Z");
    assertThat(s.getRenewalTime()).as("no renewal is scheduled once the login ended").isNull();
    assertThat(s.getLastRefreshTime()).isEqualTo("2025-03-01T09:00:00Z");
    assertThat(s.getObservedGeneration()).isEqualTo(2L);
    Condition c = ready(s);
    assertThat(c.getStatus()).isEqualTo("False");
    assertThat(c.getReason()).isEqualTo("AccessDenied");
    assertThat(c.getLastTransitionTime()).as("False -> False keeps the time").isEqualTo("2025-03-01T10:00:00Z");
  }

  @Test
  void pendingHasNoUserCode() {
    DeviceLoginStatus s = DeviceLoginStatusBuilder.pending(login(5, null), Reason.ProviderNotReady, "wait", T0);
    assertThat(s.getPhase()).isEqualTo(Phase.Pending);
    assertThat(s.getUserCode()).isNull();
    assertThat(s.getObservedGeneration()).isEqualTo(5L);
    assertThat(ready(s).getReason()).isEqualTo("ProviderNotReady");
    assertThat(ready(s).getStatus()).isEqualTo("False");
  }

  @Test
  void lastTransitionTimeKeptAcrossReasonChangesAndUpdatedOnStatusChange() {
    DeviceLoginStatus s1 = DeviceLoginStatusBuilder.pending(login(1, null), Reason.ProviderNotReady, "a", T0);
    DeviceLoginStatus s2 = DeviceLoginStatusBuilder.awaitingUser(
        login(1, s1), grant(null), Reason.AuthorizationPending, "b", T0.plusSeconds(30));
    DeviceLoginStatus s3 = DeviceLoginStatusBuilder.awaitingUser(
        login(1, s2), grant(null), Reason.IdPUnavailable, "c", T0.plusSeconds(60));
    assertThat(ready(s3).getLastTransitionTime()).isEqualTo("2025-03-01T10:00:00Z");

    DeviceLoginStatus s4 = DeviceLoginStatusBuilder.ready(
        login(1, s3), new Identity("a", "s", null, List.of()), "oidc-a", T1.plusSeconds(3600), null, "ok", T1);
    assertThat(ready(s4).getLastTransitionTime()).isEqualTo("2025-03-01T10:02:00Z");
    DeviceLoginStatus s5 = DeviceLoginStatusBuilder.ready(
        login(1, s4), new Identity("a", "s", null, List.of()), "oidc-a", T1.plusSeconds(7200), null, "again",
        T1.plusSeconds(3000));
    assertThat(ready(s5).getLastTransitionTime()).isEqualTo("2025-03-01T10:02:00Z");
    DeviceLoginStatus s6 = DeviceLoginStatusBuilder.ended(
        login(2, s5), Phase.Failed, Reason.IdentityMismatch, "no", T1.plusSeconds(4000));
    assertThat(ready(s6).getLastTransitionTime()).isEqualTo("2025-03-01T11:08:40Z");
  }

  @Test
  void otherConditionTypesArePreserved() {
    DeviceLoginStatus current = new DeviceLoginStatus();
    Condition other = new Condition("Renewing", "True", "Scheduled", null, "2025-01-01T00:00:00Z", null);
    current.setConditions(new ArrayList<>(List.of(other)));
    DeviceLoginStatus s = DeviceLoginStatusBuilder.pending(login(1, current), Reason.ProviderNotReady, "m", T0);
    assertThat(s.getConditions()).hasSize(2).contains(other);
    ready(s);
  }

  @Test
  void nullConditionsInCurrentStatus() {
    DeviceLoginStatus current = new DeviceLoginStatus();
    current.setConditions(null);
    DeviceLoginStatus s = DeviceLoginStatusBuilder.pending(login(1, current), Reason.ProviderNotReady, "m", T0);
    assertThat(s.getConditions()).hasSize(1);
  }
}
