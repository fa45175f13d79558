package io.devicelogin.operator.crash;

import io.devicelogin.operator.crash.KillPoint.Variant;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/**
 * One kill point tried once: its own namespace, IdentityProvider (own OAuth client, so the IdP's requests can be told
 * apart) and DeviceLogin; what the mock API server and the IdP saw of it. Thread-safe (the servers' threads and the
 * test thread share it).
 */
final class CrashCase {

  static final String LOGIN = "alice";
  static final String USER = "alice";
  static final String SECRET = "oidc-alice-example-com";
  static final String GRANT_SECRET = "devicelogin-grant-alice";
  /** Name prefix of the paste-back Secrets the person creates (authorization code grant). */
  static final String PASTED = "alice-response-";

  enum State {
    /** Created; its kill point is not armed yet (the stage has not begun). */
    CREATED,
    /** The next request matching the kill point is held and the operator killed. */
    ARMED,
    /** The kill-point request is held; every later request of this case is held too (none takes effect). */
    HELD,
    /** The operator was killed; requests still arriving from it are dropped. */
    KILLED,
    /** A fresh operator runs; requests pass. */
    RESUMED
  }

  /** What the kill switch does with one request of this case. */
  enum Action {
    /** Let it through. */
    PASS,
    /** It is the kill point: hold it (applied first in the AFTER variant); the operator gets killed. */
    HOLD_POINT,
    /** A later request of a held case: hold it, never apply it. */
    HOLD_LATER,
    /** A request of the killed process: drop it. */
    DROP
  }

  final int id;
  final KillPoint point;
  final Variant variant;
  final int repetition;
  final String namespace;
  final String clientId;

  private State state = State.CREATED;
  private final CountDownLatch released = new CountDownLatch(1);
  private Instant heldAt;
  private String heldRequest;
  private int heldLater;
  private final Set<String> approvedDeviceCodes = new LinkedHashSet<>();
  /** Authorization URLs the person signed in at (a paste-back Secret was created for each). */
  private final List<String> signedInUrls = new ArrayList<>();
  /** Authorization codes the operator sent to the token endpoint, each time it sent one (held or not). */
  private final List<String> codesSent = new ArrayList<>();
  /** User codes or authorization URLs in status patches the API server applied, in the order first published. */
  private final List<String> publishedGrants = new ArrayList<>();
  /** Refresh tokens in token Secret writes the API server applied. */
  private final Set<String> storedRefreshTokens = new LinkedHashSet<>();
  /** Phase/reason pairs of status patches the API server applied, in order. */
  private final List<String> statusTrail = new ArrayList<>();
  private boolean restarted;
  private int publishedBeforeStartOver = -1;
  private final List<String> notes = new ArrayList<>();

  CrashCase(int id, KillPoint point, Variant variant, int repetition) {
    this.id = id;
    this.point = point;
    this.variant = variant;
    this.repetition = repetition;
    this.namespace = "crash-" + id;
    this.clientId = "cli-" + id;
  }

  synchronized State state() {
    return state;
  }

  synchronized void arm() {
    if (state == State.CREATED) {
      state = State.ARMED;
    }
  }

  /**
   * Decides about one request of this case: the first one that matches an armed kill point is held, and from then
   * on nothing of this case takes effect until the kill.
   */
  synchronized Action admit(boolean matchesKillPoint, String request) {
    switch (state) {
      case ARMED -> {
        if (!matchesKillPoint) {
          return Action.PASS;
        }
        state = State.HELD;
        heldAt = Instant.now();
        heldRequest = request;
        return Action.HOLD_POINT;
      }
      case HELD -> {
        heldLater++;
        return Action.HOLD_LATER;
      }
      case KILLED -> {
        return Action.DROP;
      }
      default -> {
        return Action.PASS;
      }
    }
  }

  synchronized void killed() {
    if (state == State.HELD) {
      state = State.KILLED;
    }
    released.countDown();
  }

  synchronized void resumed() {
    if (state == State.KILLED) {
      state = State.RESUMED;
    }
  }

  /** Blocks an IdP request of this case until the operator was killed. */
  void awaitRelease() {
    try {
      released.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  void release() {
    released.countDown();
  }

  synchronized Instant heldAt() {
    return heldAt;
  }

  synchronized String heldRequest() {
    return heldRequest;
  }

  synchronized int heldLaterCount() {
    return heldLater;
  }

  synchronized void approved(String deviceCode) {
    approvedDeviceCodes.add(deviceCode);
  }

  synchronized boolean isApproved(String deviceCode) {
    return approvedDeviceCodes.contains(deviceCode);
  }

  synchronized boolean anyApproved() {
    return !approvedDeviceCodes.isEmpty();
  }

  /** Returns the paste-back Secret's name for a sign-in at {@code url}, or null if the person signed in there already. */
  synchronized String signIn(String url) {
    if (signedInUrls.contains(url)) {
      return null;
    }
    signedInUrls.add(url);
    return PASTED + signedInUrls.size();
  }

  synchronized void codeSent(String code) {
    codesSent.add(code);
  }

  synchronized List<String> codesSent() {
    return List.copyOf(codesSent);
  }

  synchronized void published(String userCodeOrUrl) {
    if (!publishedGrants.contains(userCodeOrUrl)) {
      publishedGrants.add(userCodeOrUrl);
    }
  }

  synchronized List<String> publishedGrants() {
    return List.copyOf(publishedGrants);
  }

  synchronized void stored(String refreshToken) {
    storedRefreshTokens.add(refreshToken);
  }

  synchronized Set<String> storedRefreshTokens() {
    return Set.copyOf(storedRefreshTokens);
  }

  synchronized void status(String phaseAndReason) {
    if (statusTrail.isEmpty() || !statusTrail.get(statusTrail.size() - 1).equals(phaseAndReason)) {
      statusTrail.add(phaseAndReason);
    }
  }

  synchronized List<String> statusTrail() {
    return List.copyOf(statusTrail);
  }

  /** The test set the restart annotation: grants published from now on belong to a second login request. */
  synchronized void startedOver() {
    restarted = true;
    publishedBeforeStartOver = publishedGrants.size();
  }

  synchronized boolean restarted() {
    return restarted;
  }

  synchronized int publishedBeforeStartOver() {
    return restarted ? publishedBeforeStartOver : publishedGrants.size();
  }

  synchronized void note(String note) {
    notes.add(note);
  }

  synchronized List<String> notes() {
    return List.copyOf(notes);
  }

  @Override
  public String toString() {
    return "case " + id + " (" + point + " " + variant + ", run " + repetition + ", namespace " + namespace + ")";
  }
}
