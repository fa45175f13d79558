package io.devicelogin.operator.springas;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import java.time.Instant;
import java.util.UUID;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.Order;
import org.springframework.http.MediaType;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.oauth2.core.AuthorizationGrantType;
import org.springframework.security.oauth2.core.ClientAuthenticationMethod;
import org.springframework.security.oauth2.core.oidc.OidcScopes;
import org.springframework.security.oauth2.core.oidc.endpoint.OidcParameterNames;
import org.springframework.security.oauth2.jwt.JwtClaimNames;
import org.springframework.security.oauth2.server.authorization.InMemoryOAuth2AuthorizationConsentService;
import org.springframework.security.oauth2.server.authorization.OAuth2AuthorizationConsentService;
import org.springframework.security.oauth2.server.authorization.client.InMemoryRegisteredClientRepository;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClient;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClientRepository;
import org.springframework.security.oauth2.server.authorization.config.annotation.web.configurers.OAuth2AuthorizationServerConfigurer;
import org.springframework.security.oauth2.server.authorization.settings.AuthorizationServerSettings;
import org.springframework.security.oauth2.server.authorization.settings.ClientSettings;
import org.springframework.security.oauth2.server.authorization.settings.TokenSettings;
import org.springframework.security.oauth2.server.authorization.token.JwtEncodingContext;
import org.springframework.security.oauth2.server.authorization.token.OAuth2TokenCustomizer;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.LoginUrlAuthenticationEntryPoint;
import org.springframework.security.web.util.matcher.MediaTypeRequestMatcher;

/**
 * The {@link SpringAuthorizationServer}'s setup, as Spring Authorization Server's "getting started" has it: its own
 * endpoints (OIDC included), its own login form and consent page; what this adds is the client, the people and the
 * ID token's claims.
 */
@Configuration(proxyBeanMethods = false)
@EnableAutoConfiguration
class SpringAuthorizationServerConfiguration {

  static final String ISSUER_PROPERTY = "devicelogin.test.issuer";

  /** The protocol endpoints; a browser that is not signed in is sent to the login form. */
  @Bean
  @Order(1)
  SecurityFilterChain authorizationServerEndpoints(HttpSecurity http) throws Exception {
    OAuth2AuthorizationServerConfigurer server = OAuth2AuthorizationServerConfigurer.authorizationServer();
    http.securityMatcher(server.getEndpointsMatcher())
        .with(server, configurer -> configurer.oidc(Customizer.withDefaults()))
        .authorizeHttpRequests(requests -> requests.anyRequest().authenticated())
        .exceptionHandling(exceptions -> exceptions.defaultAuthenticationEntryPointFor(
            new LoginUrlAuthenticationEntryPoint("/login"), new MediaTypeRequestMatcher(MediaType.TEXT_HTML)));
    return http.build();
  }

  /** Everything else (the login form): Spring Security's form login. */
  @Bean
  @Order(2)
  SecurityFilterChain signIn(HttpSecurity http) throws Exception {
    http.authorizeHttpRequests(requests -> requests.anyRequest().authenticated())
        .formLogin(Customizer.withDefaults());
    return http.build();
  }

  @Bean
  UserDetailsService people() {
    return new InMemoryUserDetailsManager(SpringAuthorizationServer.PEOPLE.values().stream()
        .map(person -> User.withUsername(person.username()).password("{noop}" + person.password()).build())
        .toList());
  }

  /**
   * One confidential client for both grants: Spring Authorization Server authenticates a client that sends only its
   * client_id solely on a PKCE code exchange, and issues no refresh token to it, so a device client needs a secret.
   * Consent is asked (so a person can refuse), and the code grant needs PKCE.
   */
  @Bean
  RegisteredClientRepository clients() {
    RegisteredClient client = RegisteredClient.withId(UUID.randomUUID().toString())
        .clientId(SpringAuthorizationServer.CLIENT_ID)
        .clientSecret("{noop}" + SpringAuthorizationServer.CLIENT_SECRET)
        .clientAuthenticationMethod(ClientAuthenticationMethod.CLIENT_SECRET_BASIC)
        .clientAuthenticationMethod(ClientAuthenticationMethod.CLIENT_SECRET_POST)
        .authorizationGrantType(AuthorizationGrantType.DEVICE_CODE)
        .authorizationGrantType(AuthorizationGrantType.AUTHORIZATION_CODE)
        .authorizationGrantType(AuthorizationGrantType.REFRESH_TOKEN)
        .redirectUri(SpringAuthorizationServer.REDIRECT_URI)
        .scope(OidcScopes.OPENID)
        .scope(OidcScopes.PROFILE)
        .scope(OidcScopes.EMAIL)
        .scope("offline_access")
        .clientSettings(ClientSettings.builder().requireAuthorizationConsent(true).requireProofKey(true).build())
        .tokenSettings(TokenSettings.builder().accessTokenTimeToLive(SpringAuthorizationServer.TOKEN_LIFETIME).build())
        .build();
    return new InMemoryRegisteredClientRepository(client);
  }

  /**
   * The ID token's claims beyond Spring's (sub, aud, azp, auth_time, sid): email, email_verified and groups, and the
   * short lifetime (Spring's default is 30 minutes).
   */
  @Bean
  OAuth2TokenCustomizer<JwtEncodingContext> idTokenClaims() {
    return context -> {
      if (!OidcParameterNames.ID_TOKEN.equals(context.getTokenType().getValue())) {
        return;
      }
      SpringAuthorizationServer.Person person = SpringAuthorizationServer.PEOPLE.get(context.getPrincipal().getName());
      context.getClaims()
          .claim("email", person.email())
          .claim("email_verified", true)
          .claim("groups", person.groups())
          .claims(claims -> claims.put(JwtClaimNames.EXP,
              ((Instant) claims.get(JwtClaimNames.IAT)).plus(SpringAuthorizationServer.TOKEN_LIFETIME)));
    };
  }

  /** Spring's in-memory default, as a bean so that {@link SpringAuthorizationServer#forgetConsents()} reaches it. */
  @Bean
  OAuth2AuthorizationConsentService consents() {
    return new InMemoryOAuth2AuthorizationConsentService();
  }

  @Bean
  JWKSource<SecurityContext> signingKey() throws JOSEException {
    RSAKey key = new RSAKeyGenerator(2048).keyUse(KeyUse.SIGNATURE).keyID(UUID.randomUUID().toString()).generate();
    return new ImmutableJWKSet<>(new JWKSet(key));
  }

  @Bean
  AuthorizationServerSettings settings(@Value("${" + ISSUER_PROPERTY + "}") String issuer) {
    return AuthorizationServerSettings.builder().issuer(issuer).build();
  }
}
