package io.devicelogin.operator.flow;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.api.v1alpha1.DeviceLoginSpec;
import io.devicelogin.operator.api.v1alpha1.IdentityProviderRef;
import java.util.List;
import org.junit.jupiter.api.Test;

class SpecValidationTest {

  private static DeviceLoginSpec valid() {
    DeviceLoginSpec spec = new DeviceLoginSpec();
    spec.setIdentityProviderRef(new IdentityProviderRef("corp", null));
    return spec;
  }

  @Test
  void aMinimalSpecIsValid() {
    assertThat(SpecValidation.problems(valid())).isEmpty();
    DeviceLoginSpec full = valid();
    full.setSecretName("oidc-alice.team-a");
    full.setScopes(List.of("openid", "groups"));
    full.setUser("alice@example.com");
    assertThat(SpecValidation.problems(full)).isEmpty();
  }

  @Test
  void eachBrokenRuleIsNamedWithTheFieldToFix() {
    assertThat(SpecValidation.problems(null)).hasValueSatisfying(m -> assertThat(m).contains("spec is missing"));

    DeviceLoginSpec noRef = new DeviceLoginSpec();
    assertThat(SpecValidation.problems(noRef))
        .hasValueSatisfying(m -> assertThat(m).contains("spec.identityProviderRef.name is required"));

    DeviceLoginSpec badSecret = valid();
    badSecret.setSecretName("Alice@Example");
    assertThat(SpecValidation.problems(badSecret))
        .hasValueSatisfying(m -> assertThat(m).contains("spec.secretName 'Alice@Example' is not a valid Secret name"));

    DeviceLoginSpec longSecret = valid();
    longSecret.setSecretName("a".repeat(254));
    assertThat(SpecValidation.problems(longSecret)).isPresent();

    DeviceLoginSpec noOpenid = valid();
    noOpenid.setScopes(List.of("profile"));
    assertThat(SpecValidation.problems(noOpenid))
        .hasValueSatisfying(m -> assertThat(m).contains("spec.scopes must include 'openid'"));

    DeviceLoginSpec blankUser = valid();
    blankUser.setUser("  ");
    assertThat(SpecValidation.problems(blankUser)).hasValueSatisfying(m -> assertThat(m).contains("spec.user"));
  }

  @Test
  void severalProblemsAreReportedTogether() {
    DeviceLoginSpec spec = new DeviceLoginSpec();
    spec.setSecretName("-bad-");
    spec.setScopes(List.of("email"));
    assertThat(SpecValidation.problems(spec)).hasValueSatisfying(m -> assertThat(m)
        .contains("identityProviderRef").contains("secretName").contains("openid"));
  }
}
