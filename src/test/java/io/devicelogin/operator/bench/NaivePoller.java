package io.devicelogin.operator.bench;

import io.devicelogin.operator.api.v1alpha1.DeviceLogin;
import io.devicelogin.operator.idp.DeviceAuthorization;
import io.devicelogin.operator.idp.IdentityProviderClient;
import io.devicelogin.operator.idp.IdpException;
import io.devicelogin.operator.idp.ProviderConfig;
import io.devicelogin.operator.idp.TokenPollResult;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The naive way to do the same job, for comparison: one platform thread per DeviceLogin that starts the grant,
 * publishes the user code, then sleeps the interval and polls until the tokens come, writes the token Secret and
 * marks the login Ready. Same IdP double, same fabric8 client and API server. No crash safety (the device code is
 * only in memory), no finalizer, no Events, no provider lookups.
 */
final class NaivePoller implements AutoCloseable {

  private final KubernetesClient client;
  private final IdentityProviderClient idp;
  private final ProviderConfig provider;
  private final Set<String> seen = ConcurrentHashMap.newKeySet();
  private final Set<Thread> workers = ConcurrentHashMap.newKeySet();
  private final SharedIndexInformer<DeviceLogin> informer;
  private volatile boolean stopped;

  NaivePoller(KubernetesClient client, IdentityProviderClient idp, ProviderConfig provider, String namespace) {
    this.client = client;
    this.idp = idp;
    this.provider = provider;
    this.informer = client.resources(DeviceLogin.class).inNamespace(namespace).inform(
        new ResourceEventHandler<>() {
          @Override
          public void onAdd(DeviceLogin login) {
            if (seen.add(login.getMetadata().getUid())) {
              Thread worker = new Thread(() -> run(login), "naive-" + login.getMetadata().getName());
              worker.setDaemon(true);
              workers.add(worker);
              worker.start();
            }
          }

          @Override
          public void onUpdate(DeviceLogin oldLogin, DeviceLogin newLogin) {}

          @Override
          public void onDelete(DeviceLogin login, boolean deletedFinalStateUnknown) {}
        });
  }

  private void run(DeviceLogin login) {
    try {
      String ns = login.getMetadata().getNamespace();
      DeviceAuthorization grant = idp.startDeviceAuthorization(provider);
      patchStatus(login, "{\"phase\":\"AwaitingUser\",\"userCode\":\"" + grant.userCode()
          + "\",\"verificationUri\":\"" + grant.verificationUri() + "\",\"pollInterval\":"
          + grant.interval().toSeconds() + "}");
      Duration interval = grant.interval();
      while (!stopped) {
        Thread.sleep(interval.toMillis());
        TokenPollResult result = idp.pollToken(provider, grant.deviceCode());
        if (result instanceof TokenPollResult.Pending || result instanceof TokenPollResult.Unavailable) {
          continue;
        }
        if (result instanceof TokenPollResult.SlowDown) {
          interval = interval.plusSeconds(5);
          continue;
        }
        if (result instanceof TokenPollResult.Issued issued) {
          String email = (String) issued.tokens().claims().get("email");
          String secretName = "oidc-" + email.replace('@', '-').replace('.', '-');
          Map<String, String> data = new LinkedHashMap<>();
          data.put("id-token", b64(issued.tokens().idToken()));
          data.put("access-token", b64(issued.tokens().accessToken()));
          data.put("refresh-token", b64(issued.tokens().refreshToken()));
          data.put("idp-issuer-url", b64(provider.issuer().toString()));
          data.put("client-id", b64(provider.clientId()));
          client.secrets().inNamespace(ns).resource(new SecretBuilder().withNewMetadata().withName(secretName)
              .withNamespace(ns).endMetadata().withType("devicelogin.io/oidc-tokens").withData(data).build())
              .create();
          patchStatus(login, "{\"phase\":\"Ready\",\"secretName\":\"" + secretName + "\"}");
        } else {
          patchStatus(login, "{\"phase\":\"Failed\"}");
        }
        return;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IdpException | RuntimeException e) {
      if (!stopped) {
        System.err.println("naive poller: " + login.getMetadata().getName() + ": " + e);
      }
    }
  }

  /**
   * Replaces the whole status with {@code status} (a JSON object), as the operator's status writer does; through the
   * object from the informer, so that fabric8 does not GET it first (by name it would).
   */
  private void patchStatus(DeviceLogin login, String status) {
    client.resource(login).subresource("status")
        .patch(PatchContext.of(PatchType.JSON), "[{\"op\":\"add\",\"path\":\"/status\",\"value\":" + status + "}]");
  }

  private static String b64(String value) {
    return Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public void close() {
    stopped = true;
    informer.close();
    workers.forEach(Thread::interrupt);
  }
}
