package io.devicelogin.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.api.v1alpha1.Condition;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConditionsTest {

  static final Instant T0 = Instant.parse("2025-03-01T10:00:00.750Z");
  static final Instant T1 = Instant.parse("2025-03-01T10:05:30Z");

  @Test
  void addsAConditionToNullOrEmptyList() {
    for (List<Condition> start : java.util.Arrays.<List<Condition>>asList(null, new ArrayList<>())) {
      List<Condition> result = Conditions.set(start, "Ready", false, "AuthorizationPending", "waiting", 4L, T0);
      assertThat(result).singleElement().satisfies(c -> {
        assertThat(c.getType()).isEqualTo("Ready");
        assertThat(c.getStatus()).isEqualTo("False");
        assertThat(c.getReason()).isEqualTo("AuthorizationPending");
        assertThat(c.getMessage()).isEqualTo("waiting");
        assertThat(c.getObservedGeneration()).isEqualTo(4L);
        assertThat(c.getLastTransitionTime()).isEqualTo("2025-03-01T10:00:00Z");
      });
    }
  }

  @Test
  void keepsLastTransitionTimeWhenTheStatusValueDoesNotChange() {
    List<Condition> first = Conditions.set(null, "Ready", false, "AuthorizationPending", "a", 1L, T0);
    List<Condition> second = Conditions.set(first, "Ready", false, "IdPUnavailable", "b", 2L, T1);
    Condition c = Conditions.find(second, "Ready");
    assertThat(c.getLastTransitionTime()).isEqualTo("2025-03-01T10:00:00Z");
    assertThat(c.getReason()).isEqualTo("IdPUnavailable");
    assertThat(c.getMessage()).isEqualTo("b");
    assertThat(c.getObservedGeneration()).isEqualTo(2L);
  }

  @Test
  void updatesLastTransitionTimeWhenTheStatusValueChanges() {
    List<Condition> pending = Conditions.set(null, "Ready", false, "AuthorizationPending", "a", 1L, T0);
    List<Condition> ready = Conditions.set(pending, "Ready", true, "Issued", "ok", 1L, T1);
    assertThat(Conditions.find(ready, "Ready").getStatus()).isEqualTo("True");
    assertThat(Conditions.find(ready, "Ready").getLastTransitionTime()).isEqualTo("2025-03-01T10:05:30Z");

    List<Condition> back = Conditions.set(ready, "Ready", false, "RefreshFailed", "x", 1L, T1.plusSeconds(60));
    assertThat(Conditions.find(back, "Ready").getLastTransitionTime()).isEqualTo("2025-03-01T10:06:30Z");
  }

  @Test
  void setsLastTransitionTimeWhenTheExistingConditionHasNone() {
    Condition old = new Condition("Ready", "True", "Issued", null, null, null);
    List<Condition> result = Conditions.set(List.of(old), "Ready", true, "Refreshed", "m", 1L, T1);
    assertThat(Conditions.find(result, "Ready").getLastTransitionTime()).isEqualTo("2025-03-01T10:05:30Z");
  }

  @Test
  void keepsExactlyOneConditionOfTheTypeAndPreservesOthers() {
    Condition other = new Condition("Progressing", "True", "X", null, "2020-01-01T00:00:00Z", null);
    Condition dup1 = new Condition("Ready", "False", "A", null, null, null);
    Condition dup2 = new Condition("Ready", "True", "B", null, null, null);
    List<Condition> current = List.of(dup1, other, dup2);

    List<Condition> result = Conditions.set(current, "Ready", true, "Issued", "m", 3L, T1);

    assertThat(result).filteredOn(c -> "Ready".equals(c.getType())).hasSize(1);
    assertThat(result).contains(other);
    assertThat(result).hasSize(2);
    assertThat(Conditions.find(result, "Ready").getReason()).isEqualTo("Issued");
    assertThat(current).as("input list is not modified").containsExactly(dup1, other, dup2);
  }

  @Test
  void findReturnsNullWhenAbsent() {
    assertThat(Conditions.find(null, "Ready")).isNull();
    assertThat(Conditions.find(List.of(), "Ready")).isNull();
    Condition other = new Condition("Other", "True", null, null, null, null);
    assertThat(Conditions.find(List.of(other), "Ready")).isNull();
    assertThat(Conditions.find(List.of(other), "Other")).isSameAs(other);
  }

  @Test
  void rfc3339IsUtcToTheSecond() {
    assertThat(Rfc3339.format(Instant.parse("2025-03-01T10:00:00.999999Z"))).isEqualTo("2025-03-01T10:00:00Z");
    assertThat(Rfc3339.format(null)).isNull();
    assertThat(Rfc3339.parse("2025-03-01T10:00:00Z")).isEqualTo(Instant.parse("2025-03-01T10:00:00Z"));
    assertThat(Rfc3339.parse(null)).isNull();
  }
}
