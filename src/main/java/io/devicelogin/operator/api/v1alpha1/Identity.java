package io.devicelogin.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.List;
import java.util.Objects;

/** Who logged in, from the validated ID token. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class Identity {

  @JsonPropertyDescription("Value of the provider's usernameClaim.")
  private String username;

  @JsonPropertyDescription("The ID token's sub claim.")
  private String subject;

  @JsonPropertyDescription("The ID token's email claim, when present.")
  private String email;

  @JsonPropertyDescription("Values of the provider's groupsClaim. Absent when the ID token carries a groups overage marker instead of the claim (Entra ID: _claim_names/hasgroups, a user in more than 200 groups): the groups are then unknown, not none.")
  private List<String> groups;

  public Identity() {}

  public Identity(String username, String subject, String email, List<String> groups) {
    this.username = username;
    this.subject = subject;
    this.email = email;
    this.groups = groups;
  }

  public String getUsername() {
    return username;
  }

  public void setUsername(String username) {
    this.username = username;
  }

  public String getSubject() {
    return subject;
  }

  public void setSubject(String subject) {
    this.subject = subject;
  }

  public String getEmail() {
    return email;
  }

  public void setEmail(String email) {
    this.email = email;
  }

  public List<String> getGroups() {
    return groups;
  }

  public void setGroups(List<String> groups) {
    this.groups = groups;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Identity other
        && Objects.equals(username, other.username)
        && Objects.equals(subject, other.subject)
        && Objects.equals(email, other.email)
        && Objects.equals(groups, other.groups);
  }

  @Override
  public int hashCode() {
    return Objects.hash(username, subject, email, groups);
  }
}
