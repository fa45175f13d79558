package io.devicelogin.operator.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
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
    assertThat(ApiObserver.kind("/api/v1/namespaces/bench")).isEqualTo("namespaces");
    // cluster-scoped: the name is not the resource
    assertThat(ApiObserver.kind("/apis/devicelogin.io/v1alpha1/clusteridentityproviders/corp"))
        .isEqualTo("clusteridentityproviders");
    assertThat(ApiObserver.kind("/apis/devicelogin.io/v1alpha1/clusteridentityproviders/corp/status"))
        .isEqualTo("clusteridentityproviders/status");
    assertThat(ApiObserver.kind("/apis/devicelogin.io/v1alpha1/devicelogins?watch=true"))
        .isEqualTo("devicelogins");
    assertThat(ApiObserver.kind("/version")).isEqualTo("/version");
  }

  @Test
  void aGetIsAGetOfOneObjectAListOfACollectionOrAWatchStart() {
    assertThat(ApiObserver.key("GET", "/api/v1/namespaces/bench/secrets/oidc-user-1-example-com"))
        .isEqualTo("GET secrets");
    assertThat(ApiObserver.key("GET", "/api/v1/namespaces/bench/secrets?labelSelector=a%3Db"))
        .isEqualTo("LIST secrets");
    assertThat(ApiObserver.key("GET", "/api/v1/secrets?labelSelector=a%3Db&resourceVersion=0"))
        .isEqualTo("LIST secrets");
    assertThat(ApiObserver.key("GET", "/apis/devicelogin.io/v1alpha1/namespaces/bench/devicelogins"
        + "?allowWatchBookmarks=true&resourceVersion=12&timeoutSeconds=600&watch=true"))
        .isEqualTo("WATCH devicelogins");
    assertThat(ApiObserver.key("GET", "/apis/devicelogin.io/v1alpha1/devicelogins?watch=1"))
        .isEqualTo("WATCH devicelogins");
    assertThat(ApiObserver.key("GET", "/apis/devicelogin.io/v1alpha1/devicelogins?watch=false"))
        .isEqualTo("LIST devicelogins");
    assertThat(ApiObserver.key("GET", "/apis/devicelogin.io/v1alpha1/clusteridentityproviders/corp"))
        .isEqualTo("GET clusteridentityproviders");
    assertThat(ApiObserver.key("GET", "/apis/devicelogin.io/v1alpha1/clusteridentityproviders"))
        .isEqualTo("LIST clusteridentityproviders");
    assertThat(ApiObserver.key("GET", "/api/v1/namespaces/bench")).isEqualTo("GET namespaces");
    assertThat(ApiObserver.key("PATCH", "/apis/devicelogin.io/v1alpha1/namespaces/bench/devicelogins/login-1/status"))
        .isEqualTo("PATCH devicelogins/status");
    assertThat(ApiObserver.key("DELETE", "/api/v1/namespaces/bench/secrets/grant-1")).isEqualTo("DELETE secrets");
    assertThat(ApiObserver.verb("WATCH secrets")).isEqualTo("WATCH");
    assertThat(ApiObserver.resource("PATCH devicelogins/status")).isEqualTo("devicelogins/status");
  }

  @Test
  void requestMixSplitsReadsWritesEventsAndWatchStarts() {
    RequestMix mix = RequestMix.of(Map.of(
        "GET secrets", 200L, "LIST secrets", 3L, "WATCH secrets", 2L, "WATCH devicelogins", 1L,
        "POST secrets", 200L, "PATCH devicelogins/status", 200L, "PATCH devicelogins", 100L,
        "DELETE secrets", 100L, "POST events", 150L, "PATCH events", 50L));
    assertThat(mix.gets()).isEqualTo(200);
    assertThat(mix.lists()).isEqualTo(3);
    assertThat(mix.reads()).isEqualTo(203);
    assertThat(mix.watches()).isEqualTo(3);
    assertThat(mix.writesWithoutEvents()).isEqualTo(600);
    assertThat(mix.events()).isEqualTo(200);
    assertThat(mix.all()).isEqualTo(1006);
    assertThat(RequestMix.of(Map.of()).all()).isZero();
  }

  @Test
  void aTokenSecretIsWrittenByItsCreateOrReplaceNotByAnotherSecretNamingIt() {
    String secrets = "/api/v1/namespaces/bench/secrets";
    assertThat(ApiObserver.tokenSecretWritten("POST", secrets,
        () -> "{\"kind\":\"Secret\",\"metadata\":{\"name\":\"oidc-user-7-example-com\",\"namespace\":\"bench\"},"
            + "\"type\":\"devicelogin.io/oidc-tokens\"}"))
        .isEqualTo("oidc-user-7-example-com");
    assertThat(ApiObserver.tokenSecretWritten("PUT", secrets + "/oidc-user-7-example-com", () -> null))
        .isEqualTo("oidc-user-7-example-com");
    // a grant Secret that mentions the token Secret it will write is not the token Secret
    assertThat(ApiObserver.tokenSecretWritten("POST", secrets,
        () -> "{\"metadata\":{\"name\":\"devicelogin-grant-login-7\",\"annotations\":"
            + "{\"target\":\"oidc-user-7-example-com\"}},\"stringData\":{\"secret\":\"oidc-user-7-example-com\"}}"))
        .isNull();
    assertThat(ApiObserver.tokenSecretWritten("PUT", secrets + "/devicelogin-grant-login-7", () -> null)).isNull();
    assertThat(ApiObserver.tokenSecretWritten("DELETE", secrets + "/oidc-user-7-example-com", () -> null)).isNull();
    assertThat(ApiObserver.tokenSecretWritten("POST", secrets, () -> "not json")).isNull();
    assertThat(ApiObserver.tokenSecretWritten("POST", secrets, () -> null)).isNull();
  }
}
