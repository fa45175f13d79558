package io.devicelogin.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;

import io.devicelogin.operator.api.v1alpha1.ClusterIdentityProvider;
import io.devicelogin.operator.api.v1alpha1.IdentityProvider;
import io.devicelogin.operator.api.v1alpha1.ProviderResource;
import io.devicelogin.operator.idp.DeviceAuthorization;
import io.devicelogin.operator.idp.IdentityProviderClient;
import io.devicelogin.operator.idp.IdpException;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.idp.ProviderEndpoints;
import io.devicelogin.operator.idp.TokenPollResult;
import io.devicelogin.operator.idp.TokenRefreshResult;
import io.devicelogin.operator.testing.Resources;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import io.devicelogin.operator.upgrade.CrdSchemas;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class ProviderResolverTest {

  /** Records the configs it is asked to discover and answers with {@code failure}. */
  private static final class RecordingIdp implements IdentityProviderClient {
    final List<ProviderConfig> discovered = new CopyOnWriteArrayList<>();
    final IdpException failure;

    RecordingIdp(IdpException failure) {
      this.failure = failure;
    }

    @Override
    public ProviderEndpoints discover(ProviderConfig provider, boolean forceRefresh) throws IdpException {
      discovered.add(provider);
      throw failure;
    }

    @Override
    public DeviceAuthorization startDeviceAuthorization(ProviderConfig provider) {
      throw new AssertionError("not expected");
    }

    @Override
    public TokenPollResult pollToken(ProviderConfig provider, String deviceCode) {
      throw new AssertionError("not expected");
    }

    @Override
    public TokenRefreshResult refresh(ProviderConfig provider, String refreshToken) {
      throw new AssertionError("not expected");
    }

    @Override
    public boolean revoke(ProviderConfig provider, String refreshToken) {
      throw new AssertionError("not expected");
    }
  }

  /** The installed CRDs are those of this operator. */
  private static final CrdSchemas CURRENT_CRDS = kind -> List.of();

  @ParameterizedTest
  @ValueSource(strings = {"https://idp.example/realms/corp?", "https://idp.example/realms/corp?x=1",
      "https://idp.example/realms/corp#", "https://169.254.169.254/latest/meta-data#",
      "https://user:pass@idp.example/realms/corp"})
  void anIssuerUrlWithAQueryFragmentOrUserInfoIsRefusedBeforeAnyRequest(String issuerUrl) {
    RecordingIdp idp = new RecordingIdp(new IdpException(IdpException.Kind.UNAVAILABLE, "unused"));
    ProviderResolution resolution = new ProviderResolver(null, idp, "devicelogin-system", CURRENT_CRDS)
        .resolve(Resources.identityProvider("team-a", "corp", issuerUrl, "cli"), true);

    assertThat(resolution).isInstanceOf(ProviderResolution.NotReady.class);
    ProviderResolution.NotReady notReady = (ProviderResolution.NotReady) resolution;
    assertThat(notReady.reason()).isEqualTo(ProviderResolver.INVALID_ISSUER_URL);
    assertThat(notReady.message()).contains("must not have a query");
    assertThat(idp.discovered).isEmpty();
  }

  @Test
  void aProviderWhoseCrdLacksFieldsIsNotUsedAndNothingIsAskedOfItsIdp() {
    RecordingIdp idp = new RecordingIdp(new IdpException(IdpException.Kind.UNAVAILABLE, "unused"));
    CrdSchemas outdated = kind -> kind == IdentityProvider.class ? List.of("spec.allowedScopes") : List.of();
    ProviderResolution resolution = new ProviderResolver(null, idp, "devicelogin-system", outdated)
        .resolve(Resources.identityProvider("team-a", "corp", "https://idp.example/realms/corp", "cli"), true);

    ProviderResolution.NotReady notReady = (ProviderResolution.NotReady) resolution;
    assertThat(notReady.reason()).isEqualTo(ProviderResolver.CRD_OUTDATED);
    assertThat(notReady.message()).contains("identityproviders.devicelogin.io", "[spec.allowedScopes]");
    assertThat(notReady.retryable()).isTrue();
    assertThat(idp.discovered).isEmpty();
  }

  @Test
  void aRefusedEndpointMakesTheProviderNotReadyWithEndpointNotAllowed() {
    RecordingIdp idp = new RecordingIdp(new IdpException(IdpException.Kind.NOT_ALLOWED,
        "the token endpoint's host resolves to an address in IDP_DENIED_CIDRS"));
    ProviderResolution resolution = new ProviderResolver(null, idp, "devicelogin-system", CURRENT_CRDS)
        .resolve(Resources.identityProvider("team-a", "corp", "https://idp.example/realms/corp", "cli"), true);

    ProviderResolution.NotReady notReady = (ProviderResolution.NotReady) resolution;
    assertThat(notReady.reason()).isEqualTo(ProviderResolver.ENDPOINT_NOT_ALLOWED);
    assertThat(notReady.message()).isEqualTo("The token endpoint's host resolves to an address in IDP_DENIED_CIDRS");
    assertThat(notReady.retryable()).isFalse();
  }

  @Test
  void theConfigSaysWhetherTheProviderIsATenantsAndWhetherItAllowsInsecureHttp() {
    RecordingIdp idp = new RecordingIdp(new IdpException(IdpException.Kind.UNAVAILABLE, "down"));
    ProviderResolver resolver = new ProviderResolver(null, idp, "devicelogin-system", CURRENT_CRDS);
    resolver.resolve(Resources.identityProvider("team-a", "corp", "http://idp.example/realms/corp", "cli"), false);
    ClusterIdentityProvider cluster =
        Resources.clusterIdentityProvider("corp", "https://idp.example/realms/corp", "cli");
    resolver.resolve((ProviderResource) cluster, false);

    assertThat(idp.discovered).extracting(ProviderConfig::namespaced).containsExactly(true, false);
    assertThat(idp.discovered).extracting(ProviderConfig::insecureHttpAllowed).containsExactly(true, false);
  }
}
