package io.devicelogin.operator.testidp;

import com.nimbusds.oauth2.sdk.GrantType;
import java.time.Instant;

/**
 * Tokens a {@link FakeIdp} handed out for one {@link Login}, so tests can look for them (or make
 * sure they never leak).
 *
 * @param issuedAt when the response was built
 * @param grantType {@link GrantType#DEVICE_CODE}, {@link GrantType#AUTHORIZATION_CODE} or {@link
 *     GrantType#REFRESH_TOKEN}
 * @param accessToken the opaque access token
 * @param refreshToken the opaque refresh token, {@code null} if none was issued
 * @param idToken the serialized ID token, {@code null} if none was issued
 */
public record IssuedTokens(
    Instant issuedAt, GrantType grantType, String accessToken, String refreshToken, String idToken) {}
