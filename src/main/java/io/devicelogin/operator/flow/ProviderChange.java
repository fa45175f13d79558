package io.devicelogin.operator.flow;

import io.devicelogin.operator.idp.ProviderConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Whether a device code or refresh token held for one issuer and client may be used with a provider as it is now: only
 * when both are unchanged, so nothing held for one issuer is ever sent to an endpoint of another.
 */
public final class ProviderChange {

  private ProviderChange() {}

  /**
   * What changed since credentials were issued by {@code issuerUrl} to {@code clientId} (null when not recorded), or
   * empty when {@code now} is that issuer and client. Names only issuer URLs and client ids, which are not secret.
   */
  public static Optional<String> since(String issuerUrl, String clientId, ProviderConfig now) {
    List<String> changes = new ArrayList<>();
    if (!Objects.equals(issuerUrl, now.issuer().toString())) {
      changes.add("issuerUrl is now " + now.issuer() + " (was " + recorded(issuerUrl) + ")");
    }
    if (!Objects.equals(clientId, now.clientId())) {
      changes.add("clientId is now " + now.clientId() + " (was " + recorded(clientId) + ")");
    }
    return changes.isEmpty() ? Optional.empty() : Optional.of("the provider's " + String.join(" and its ", changes));
  }

  private static String recorded(String value) {
    return value == null ? "not recorded" : value;
  }
}
