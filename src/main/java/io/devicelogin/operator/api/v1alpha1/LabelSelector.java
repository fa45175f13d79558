package io.devicelogin.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;
import java.util.Map;

/**
 * A Kubernetes label selector (same fields and meaning as metav1.LabelSelector; a class of its own so every field of the
 * CRD is described and constrained): all matchLabels and all matchExpressions must hold; empty selects everything.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class LabelSelector {

  @JsonPropertyDescription("Labels that must be set to exactly these values.")
  private Map<String, String> matchLabels;

  @Size(max = 64)
  @ValidationRule(
      value = "self.all(e, (e.operator in ['In', 'NotIn']) == (has(e.values) && size(e.values) > 0))",
      message = "operators In and NotIn need values; Exists and DoesNotExist take none")
  @JsonPropertyDescription("Requirements on labels, all of which must hold.")
  private List<LabelSelectorRequirement> matchExpressions;

  public LabelSelector() {}

  public LabelSelector(Map<String, String> matchLabels, List<LabelSelectorRequirement> matchExpressions) {
    this.matchLabels = matchLabels;
    this.matchExpressions = matchExpressions;
  }

  public Map<String, String> getMatchLabels() {
    return matchLabels;
  }

  public void setMatchLabels(Map<String, String> matchLabels) {
    this.matchLabels = matchLabels;
  }

  public List<LabelSelectorRequirement> getMatchExpressions() {
    return matchExpressions;
  }

  public void setMatchExpressions(List<LabelSelectorRequirement> matchExpressions) {
    this.matchExpressions = matchExpressions;
  }
}
