package io.devicelogin.operator.secret;

import io.devicelogin.operator.flow.CodeGrant;
import io.devicelogin.operator.flow.Grant;
import io.devicelogin.operator.flow.StartedGrant;
import io.devicelogin.operator.idp.RedirectResponse;
import io.devicelogin.operator.idp.UnverifiedTokens;
import java.net.URI;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A grant Secret's data: a device grant, or an authorization code grant (key {@value #GRANT_TYPE}) with the IdP's
 * response once one was accepted; plus tokens issued for it whose ID token waits for a check. Reading is lenient only in
 * one way: incomplete or unreadable data is no grant (a fresh one replaces it).
 */
final class GrantData {

  static final String GRANT_TYPE = "grant-type";
  static final String AUTHORIZATION_CODE = "authorization_code";

  private static final String ID = "grant-id";
  private static final String GENERATION = "generation";
  private static final String RESTART = "restart";
  private static final String ISSUER_URL = "issuer-url";
  private static final String CLIENT_ID = "client-id";
  private static final String EXPIRES_AT = "expires-at";
  // device grant
  private static final String DEVICE_CODE = "device-code";
  private static final String USER_CODE = "user-code";
  private static final String VERIFICATION_URI = "verification-uri";
  private static final String VERIFICATION_URI_COMPLETE = "verification-uri-complete";
  private static final String INTERVAL = "interval-seconds";
  // authorization code grant
  private static final String REDIRECT_URI = "redirect-uri";
  private static final String STATE = "state";
  private static final String NONCE = "nonce";
  private static final String CODE_VERIFIER = "code-verifier";
  private static final String AUTHORIZATION_URL = "authorization-url";
  private static final String ISS_REQUIRED = "iss-required";
  private static final String RESPONSE_CODE = "response-code";
  private static final String RESPONSE_ERROR = "response-error";
  private static final String RESPONSE_ERROR_DESCRIPTION = "response-error-description";
  private static final String RESPONSE_ISS = "response-iss";
  private static final String EXCHANGING = "exchanging";
  /** Prefix of the keys holding tokens issued for the grant whose ID token waits for a check. */
  private static final String UNVERIFIED = "unverified-";

  private static final Set<String> COMMON = Set.of(ID, GENERATION, ISSUER_URL, CLIENT_ID, EXPIRES_AT);
  private static final Set<String> DEVICE = Set.of(DEVICE_CODE, USER_CODE, VERIFICATION_URI, INTERVAL);
  private static final Set<String> CODE =
      Set.of(REDIRECT_URI, STATE, NONCE, CODE_VERIFIER, AUTHORIZATION_URL, ISS_REQUIRED);

  private GrantData() {}

  static Map<String, String> of(StartedGrant grant, UnverifiedTokens unverified) {
    Map<String, String> data = new LinkedHashMap<>();
    put(data, ID, grant.id());
    put(data, GENERATION, Long.toString(grant.generation()));
    put(data, RESTART, grant.restart());
    put(data, ISSUER_URL, grant.issuerUrl());
    put(data, CLIENT_ID, grant.clientId());
    put(data, EXPIRES_AT, grant.expiresAt().toString());
    if (grant instanceof Grant device) {
      put(data, DEVICE_CODE, device.deviceCode());
      put(data, USER_CODE, device.userCode());
      put(data, VERIFICATION_URI, device.verificationUri().toString());
      put(data, VERIFICATION_URI_COMPLETE,
          device.verificationUriComplete() == null ? null : device.verificationUriComplete().toString());
      put(data, INTERVAL, Long.toString(device.interval().toSeconds()));
    } else {
      CodeGrant code = (CodeGrant) grant;
      put(data, GRANT_TYPE, AUTHORIZATION_CODE);
      put(data, REDIRECT_URI, code.redirectUri().toString());
      put(data, STATE, code.state());
      put(data, NONCE, code.nonce());
      put(data, CODE_VERIFIER, code.codeVerifier());
      put(data, AUTHORIZATION_URL, code.authorizationUrl().toString());
      put(data, ISS_REQUIRED, Boolean.toString(code.issRequired()));
      if (code.response() instanceof RedirectResponse.Code response) {
        put(data, RESPONSE_CODE, response.code());
        put(data, RESPONSE_ISS, response.issuer());
      } else if (code.response() instanceof RedirectResponse.Error error) {
        put(data, RESPONSE_ERROR, error.error());
        put(data, RESPONSE_ERROR_DESCRIPTION, error.description());
        put(data, RESPONSE_ISS, error.issuer());
      }
      if (code.exchanging()) {
        put(data, EXCHANGING, "true");
      }
    }
    if (unverified != null) {
      unverified.parts().forEach((key, value) -> put(data, UNVERIFIED + key, value));
    }
    return data;
  }

  /** The grant the data holds, or empty when it is incomplete or unreadable. */
  static Optional<StartedGrant> grant(Map<String, String> data) {
    if (data == null || !data.keySet().containsAll(COMMON)) {
      return Optional.empty();
    }
    boolean code = AUTHORIZATION_CODE.equals(get(data, GRANT_TYPE));
    if (!data.keySet().containsAll(code ? CODE : DEVICE)) {
      return Optional.empty();
    }
    try {
      String id = get(data, ID);
      long generation = Long.parseLong(get(data, GENERATION));
      Instant expiresAt = Instant.parse(get(data, EXPIRES_AT));
      if (!code) {
        String complete = get(data, VERIFICATION_URI_COMPLETE);
        return Optional.of(new Grant(id, generation, get(data, RESTART), get(data, ISSUER_URL), get(data, CLIENT_ID),
            get(data, DEVICE_CODE), get(data, USER_CODE), URI.create(get(data, VERIFICATION_URI)),
            complete == null ? null : URI.create(complete), expiresAt,
            Duration.ofSeconds(Long.parseLong(get(data, INTERVAL)))));
      }
      String state = get(data, STATE);
      RedirectResponse response = null;
      if (data.containsKey(RESPONSE_CODE)) {
        response = new RedirectResponse.Code(get(data, RESPONSE_CODE), state, get(data, RESPONSE_ISS));
      } else if (data.containsKey(RESPONSE_ERROR)) {
        response = new RedirectResponse.Error(get(data, RESPONSE_ERROR), get(data, RESPONSE_ERROR_DESCRIPTION), state,
            get(data, RESPONSE_ISS));
      }
      return Optional.of(new CodeGrant(id, generation, get(data, RESTART), get(data, ISSUER_URL),
          get(data, CLIENT_ID), URI.create(get(data, REDIRECT_URI)), state, get(data, NONCE),
          get(data, CODE_VERIFIER), URI.create(get(data, AUTHORIZATION_URL)), expiresAt,
          Boolean.parseBoolean(get(data, ISS_REQUIRED)), response, data.containsKey(EXCHANGING)));
    } catch (IllegalArgumentException | DateTimeException e) {
      return Optional.empty();
    }
  }

  /** The tokens stored with the grant that wait for a check of their ID token, if any. */
  static Optional<UnverifiedTokens> unverified(Map<String, String> data) {
    Map<String, String> parts = new LinkedHashMap<>();
    if (data != null) {
      data.forEach((key, value) -> {
        if (key.startsWith(UNVERIFIED)) {
          parts.put(key.substring(UNVERIFIED.length()), GrantStore.decode(value));
        }
      });
    }
    return UnverifiedTokens.fromParts(parts);
  }

  private static void put(Map<String, String> data, String key, String value) {
    if (value != null) {
      data.put(key, GrantStore.encode(value));
    }
  }

  private static String get(Map<String, String> data, String key) {
    return GrantStore.decode(data.get(key));
  }
}
