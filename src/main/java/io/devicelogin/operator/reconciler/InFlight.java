package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.Identity;
import io.devicelogin.operator.flow.Grant;
import io.devicelogin.operator.flow.PollSchedule;
import io.devicelogin.operator.flow.Step;
import io.devicelogin.operator.idp.UnverifiedTokens;
import io.fabric8.kubernetes.api.model.Secret;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

/**
 * The only per-login state this process keeps in memory: what the IdP gave that can't be asked for twice and is not in
 * the API yet (a started grant whose Secret write failed, issued or refreshed tokens whose Secret write failed,
 * refreshed tokens whose ID token could not be checked yet, an end whose status write failed), and the poll clock of
 * each waiting login (holding, until checked, tokens a login got whose ID token could not be checked yet — those are
 * stored with the grant too). Everything else a login needs is in its status and Secrets.
 *
 * <p>After a restart none of this is there, and each item has a safe answer: a grant nobody saw is abandoned (its user
 * code was never published), tokens not yet stored are lost (the login ends Failed and says how to start over — the
 * crash sweep's inherent window), an unrecorded end is decided again from the API, and the first poll of a grant
 * waits a full interval (so no poll ever comes sooner than the interval).
 */
final class InFlight {

  /**
   * An end whose status write failed: recorded on the retry instead of asking the IdP again (a used device code or a
   * refused refresh can't be asked twice). {@code grantId}: the grant it ends, null for a Ready login's end;
   * {@code secretToDelete}: the token Secret refused tokens must not leave behind (deleted only if this DeviceLogin
   * writes it), or null.
   */
  record UnrecordedEnd(String grantId, Step.End end, String secretToDelete) {}

  /**
   * Tokens whose Secret write failed. The device code (or the rotated refresh token) is used up once the IdP issued
   * them, so they are written on the next attempt instead of asking again.
   */
  record UnwrittenTokens(
      String grantId, Secret secret, Identity identity, Instant idTokenExpiry, Instant renewalTime, boolean refresh,
      int refusals) {

    UnwrittenTokens(
        String grantId, Secret secret, Identity identity, Instant idTokenExpiry, Instant renewalTime, boolean refresh) {
      this(grantId, secret, identity, idTokenExpiry, renewalTime, refresh, 0);
    }

    /** The same tokens after the API server refused to store them once more. */
    UnwrittenTokens refusedOnce() {
      return new UnwrittenTokens(grantId, secret, identity, idTokenExpiry, renewalTime, refresh, refusals + 1);
    }

    /** Never shows the Secret's data. */
    @Override
    public String toString() {
      return "UnwrittenTokens[grantId=" + grantId + ", secret=" + secret.getMetadata().getName() + ", refresh="
          + refresh + "]";
    }
  }

  /** One login's items; a field is null when there is nothing of that kind. */
  private record Held(
      Grant unsavedGrant, PollSchedule schedule, UnwrittenTokens unwritten, UnrecordedEnd unrecorded,
      UnverifiedTokens unverifiedRefresh) {

    static final Held NONE = new Held(null, null, null, null, null);

    boolean empty() {
      return unsavedGrant == null && schedule == null && unwritten == null && unrecorded == null
          && unverifiedRefresh == null;
    }
  }

  private final Map<String, Held> byUid = new ConcurrentHashMap<>();

  private Held held(String uid) {
    return byUid.getOrDefault(uid, Held.NONE);
  }

  private void change(String uid, UnaryOperator<Held> change) {
    byUid.compute(uid, (key, held) -> {
      Held next = change.apply(held == null ? Held.NONE : held);
      return next.empty() ? null : next;
    });
  }

  Grant unsavedGrant(String uid) {
    return held(uid).unsavedGrant();
  }

  void unsavedGrant(String uid, Grant grant) {
    change(uid, h -> new Held(grant, h.schedule(), h.unwritten(), h.unrecorded(), h.unverifiedRefresh()));
  }

  PollSchedule schedule(String uid) {
    return held(uid).schedule();
  }

  void schedule(String uid, PollSchedule schedule) {
    change(uid, h -> new Held(h.unsavedGrant(), schedule, h.unwritten(), h.unrecorded(), h.unverifiedRefresh()));
  }

  UnwrittenTokens unwritten(String uid) {
    return held(uid).unwritten();
  }

  void unwritten(String uid, UnwrittenTokens tokens) {
    change(uid, h -> new Held(h.unsavedGrant(), h.schedule(), tokens, h.unrecorded(), h.unverifiedRefresh()));
  }

  UnrecordedEnd unrecorded(String uid) {
    return held(uid).unrecorded();
  }

  void unrecorded(String uid, UnrecordedEnd end) {
    change(uid, h -> new Held(h.unsavedGrant(), h.schedule(), h.unwritten(), end, h.unverifiedRefresh()));
  }

  UnverifiedTokens unverifiedRefresh(String uid) {
    return held(uid).unverifiedRefresh();
  }

  void unverifiedRefresh(String uid, UnverifiedTokens tokens) {
    change(uid, h -> new Held(h.unsavedGrant(), h.schedule(), h.unwritten(), h.unrecorded(), tokens));
  }

  /** Drops everything held for the login (it is deleted, or starts over). */
  void forget(String uid) {
    byUid.remove(uid);
  }
}
