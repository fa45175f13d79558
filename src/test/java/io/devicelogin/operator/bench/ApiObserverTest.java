package io.devicelogin.operator.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ApiObserverTest {

  @Test
  void kindIsTheResourceAndSubresourceOfAPath() {
    assertThat(ApiObserver.kind("/api/v1/namespaces/bench/secrets")).isEqualTo("secrets");
    assertThat(ApiObserver.kind("/api/v1/namespaces/bench/secrets/oidc-user-1-example-com")).isEqualTo("secrets");
    assertThat(ApiObserver.kind("/apis/devicelogin.io/v1alpha1/namespaces/bench/devicelogins/login-1/status"))
        .isEqualTo("devicelogins/status");
    assertThat(ApiObserver.kind("/apis/apiextensions.k8s.io/v1/customresourcedefinitions"))
        .isEqualTo("customresourcedefinitions");
    assertThat(ApiObserver.kind("/api/v1/namespaces")).isEqualTo("namespaces");
  }
}
