package io.devicelogin.operator.flow;

import io.devicelogin.operator.api.v1alpha1.IdentityProviderSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The CRD's rule on spec.authorizationParameters, checked again by the operator before any request: objects can reach
 * it without admission (an API server that skips validation, objects stored before the rule existed). Both are built
 * from {@link IdentityProviderSpec#PROTOCOL_PARAMETERS}. A protocol parameter is refused whatever its letter case: an
 * IdP may read {@code Scope} as {@code scope}. Keys are ASCII only, so no Unicode case folding ("ſcope") slips by.
 */
public final class AuthorizationParameters {

  /** The protocol parameters, lower case. */
  public static final Set<String> PROTOCOL = Set.of(IdentityProviderSpec.PROTOCOL_PARAMETERS.split("\\|"));

  /** Matched whole ({@link java.util.regex.Matcher#matches}), so a trailing line break does not pass. */
  private static final Pattern KEY = Pattern.compile(IdentityProviderSpec.AUTHORIZATION_PARAMETER_KEY);

  private AuthorizationParameters() {}

  /** What is wrong with {@code parameters} (absent counts as empty), naming the offending keys, or empty. */
  public static Optional<String> problem(Map<String, String> parameters) {
    if (parameters == null || parameters.isEmpty()) {
      return Optional.empty();
    }
    if (parameters.size() > IdentityProviderSpec.MAX_AUTHORIZATION_PARAMETERS) {
      return Optional.of("spec.authorizationParameters has " + parameters.size() + " entries, at most "
          + IdentityProviderSpec.MAX_AUTHORIZATION_PARAMETERS + " are allowed");
    }
    List<String> problems = new ArrayList<>();
    // sorted, so the message is the same on every reconcile
    for (String key : parameters.keySet().stream().filter(Objects::nonNull).sorted().toList()) {
      String value = parameters.get(key);
      if (!KEY.matcher(key).matches()) {
        problems.add("key '" + shown(key) + "' is not 1 to 64 characters of A-Z a-z 0-9 _ . -");
      } else if (PROTOCOL.contains(key.toLowerCase(Locale.ROOT))) {
        problems.add("'" + key + "' is a protocol parameter the operator sets itself and may not be overridden");
      } else if (value == null) {
        problems.add("'" + key + "' has no value");
      } else if (value.codePointCount(0, value.length()) > IdentityProviderSpec.MAX_AUTHORIZATION_PARAMETER_CHARS) {
        problems.add("the value of '" + key + "' is longer than "
            + IdentityProviderSpec.MAX_AUTHORIZATION_PARAMETER_CHARS + " characters");
      }
    }
    if (parameters.keySet().stream().anyMatch(Objects::isNull)) { // containsKey(null) throws on immutable maps
      problems.add("a key is missing");
    }
    return problems.isEmpty() ? Optional.empty()
        : Optional.of("spec.authorizationParameters: " + String.join("; ", problems) + "; nothing was sent to the IdP");
  }

  /** A refused key as a message may quote it: at most 64 characters, control characters replaced. */
  private static String shown(String key) {
    String cut = key.length() > 64 ? key.substring(0, 64) + "..." : key;
    return cut.replaceAll("\\p{Cntrl}", "?");
  }
}
