package io.devicelogin.operator.secret;

import io.devicelogin.operator.callback.Receipt;
import io.devicelogin.operator.callback.ResponseInbox;
import io.devicelogin.operator.flow.CodeFlow;
import io.devicelogin.operator.flow.CodeGrant;
import io.devicelogin.operator.idp.RedirectResponse;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The callback endpoint's inbox, usable on any replica: the response's {@code state} names the login (see
 * {@link CodeFlow#newState}); its grant Secret is read (one GET), the response judged against it
 * ({@link CodeFlow#judge}) and, if accepted, stored there with an update conditional on the version read, so two
 * responses for one state can't both be accepted. The leader's reconciler, woken by that change, exchanges the code.
 * A refusal for a login that still waits is noted on its grant Secret for its condition. Reads and writes nothing for
 * a state that names no login.
 */
public final class CallbackInbox implements ResponseInbox {

  /** The longest refusal note kept on a grant Secret. */
  private static final int MAX_NOTE_CHARS = 512;

  private static final Logger LOG = LoggerFactory.getLogger(CallbackInbox.class);

  private final KubernetesClient client;
  private final Clock clock;

  public CallbackInbox(KubernetesClient client, Clock clock) {
    this.client = client;
    this.clock = clock;
  }

  @Override
  public Receipt deliver(RedirectResponse response) {
    if (response instanceof RedirectResponse.Unreadable) {
      return Receipt.UNREADABLE;
    }
    String state = response instanceof RedirectResponse.Code code ? code.state()
        : ((RedirectResponse.Error) response).state();
    Optional<CodeFlow.Target> target = CodeFlow.target(state);
    if (target.isEmpty()) {
      return Receipt.UNKNOWN_STATE;
    }
    String namespace = target.get().namespace();
    String name = target.get().name();
    try {
      for (int attempt = 0; attempt < 2; attempt++) {
        Secret secret = client.secrets().inNamespace(namespace).withName(GrantStore.secretName(name)).get();
        if (secret == null || !GrantStore.grantSecretOf(secret, name)
            || !(GrantData.grant(secret.getData()).orElse(null) instanceof CodeGrant grant)) {
          return Receipt.UNKNOWN_STATE;
        }
        Instant now = clock.instant();
        CodeFlow.Verdict verdict = CodeFlow.judge(grant, response, now);
        if (verdict instanceof CodeFlow.Verdict.Refuse refuse) {
          if (grant.response() == null && !grant.exchanging() && now.isBefore(grant.expiresAt())) {
            note(secret, GrantStore.REFUSED_ANNOTATION, refuse.message() + " (callback, " + now + ")");
          }
          LOG.info("DeviceLogin {}/{}: the callback endpoint refused a response: {}", namespace, name,
              refuse.receipt());
          return refuse.receipt();
        }
        CodeFlow.Verdict.Accept accept = (CodeFlow.Verdict.Accept) verdict;
        Secret stored = new SecretBuilder(secret)
            .withData(GrantData.of(accept.grant(), null))
            .editMetadata()
            .addToAnnotations(GrantStore.RESPONSE_ANNOTATION, now.toString())
            .removeFromAnnotations(GrantStore.REFUSED_ANNOTATION)
            .endMetadata()
            .build();
        try {
          client.secrets().inNamespace(namespace).resource(stored).update();
        } catch (KubernetesClientException e) {
          if (e.getCode() == HttpURLConnection.HTTP_CONFLICT) {
            continue; // changed since the read: judge again what is there now
          }
          throw e;
        }
        LOG.info("DeviceLogin {}/{}: the callback endpoint stored the IdP's response for the operator", namespace,
            name);
        return accept.receipt();
      }
      return Receipt.UNKNOWN_STATE;
    } catch (KubernetesClientException e) {
      LOG.warn("DeviceLogin {}/{}: the callback endpoint could not reach the API server: HTTP {}", namespace, name,
          e.getCode());
      return Receipt.UNAVAILABLE;
    }
  }

  /** Sets {@code annotation} on the grant Secret as read (best effort: a conflict or error leaves it). */
  private void note(Secret secret, String annotation, String text) {
    String value = text.length() > MAX_NOTE_CHARS ? text.substring(0, MAX_NOTE_CHARS) : text;
    try {
      client.secrets().inNamespace(secret.getMetadata().getNamespace()).resource(new SecretBuilder(secret)
          .editMetadata().addToAnnotations(annotation, value).endMetadata().build()).update();
    } catch (KubernetesClientException e) {
      LOG.debug("could not note a refused response on Secret {}: HTTP {}", secret.getMetadata().getName(),
          e.getCode());
    }
  }
}
