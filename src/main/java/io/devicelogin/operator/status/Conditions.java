package io.devicelogin.operator.status;

import io.devicelogin.operator.api.v1alpha1.Condition;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/** Standard Kubernetes conditions: lastTransitionTime changes only when the status value changes. */
public final class Conditions {

  private Conditions() {}

  /** A copy of {@code current} with condition {@code type} set. */
  public static List<Condition> set(
      List<Condition> current, String type, boolean status, String reason, String message, Long generation,
      Instant now) {
    String value = status ? "True" : "False";
    List<Condition> result = new ArrayList<>();
    String transition = Rfc3339.format(now.truncatedTo(ChronoUnit.SECONDS));
    if (current != null) {
      for (Condition existing : current) {
        if (type.equals(existing.getType())) {
          if (value.equals(existing.getStatus()) && existing.getLastTransitionTime() != null) {
            transition = existing.getLastTransitionTime();
          }
        } else {
          result.add(existing);
        }
      }
    }
    result.add(new Condition(type, value, reason, message, transition, generation));
    return result;
  }

  /** The condition of {@code type}, or null. */
  public static Condition find(List<Condition> conditions, String type) {
    if (conditions == null) {
      return null;
    }
    return conditions.stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
  }
}
