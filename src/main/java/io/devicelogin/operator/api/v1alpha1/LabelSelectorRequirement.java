package io.devicelogin.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.List;

/** One requirement of a {@link LabelSelector}, as in Kubernetes' own label selectors. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class LabelSelectorRequirement {

  /** How a requirement compares the label's value. */
  public enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist
  }

  @Required
  @Size(min = 1, max = 317)
  @JsonPropertyDescription("The label key.")
  private String key;

  @Required
  @JsonPropertyDescription(
      "In or NotIn (the label's value is, or is not, one of values), Exists or DoesNotExist (the label is, or is not, "
          + "set).")
  private Operator operator;

  @Size(max = 256)
  @JsonPropertyDescription("The values for In and NotIn (at least one); empty for Exists and DoesNotExist.")
  private List<String> values;

  public LabelSelectorRequirement() {}

  public LabelSelectorRequirement(String key, Operator operator, List<String> values) {
    this.key = key;
    this.operator = operator;
    this.values = values;
  }

  public String getKey() {
    return key;
  }

  public void setKey(String key) {
    this.key = key;
  }

  public Operator getOperator() {
    return operator;
  }

  public void setOperator(Operator operator) {
    this.operator = operator;
  }

  public List<String> getValues() {
    return values;
  }

  public void setValues(List<String> values) {
    this.values = values;
  }
}
