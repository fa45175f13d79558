package io.devicelogin.operator.keycloak;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension that starts the {@linkplain KeycloakServer#shared() shared Keycloak} before a test class
 * and injects it into parameters of type {@link KeycloakServer}:
 *
 * <pre>{@code
 * @ExtendWith(KeycloakExtension.class)
 * class SomeIT {
 *     @Test
 *     void login(KeycloakServer keycloak) { ... keycloak.issuerUrl() ... }
 * }
 * }</pre>
 */
public final class KeycloakExtension implements BeforeAllCallback, ParameterResolver {

  @Override
  public void beforeAll(ExtensionContext context) {
    KeycloakServer.shared();
  }

  @Override
  public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
    return parameterContext.getParameter().getType() == KeycloakServer.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
    return KeycloakServer.shared();
  }
}
