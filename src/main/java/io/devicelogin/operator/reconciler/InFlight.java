package io.devicelogin.operator.reconciler;

import io.devicelogin.operator.api.v1alpha1.Identity;
import io.devicelogin.operator.flow.Grant;
import io.devicelogin.operator.flow.PollSchedule;
import io.devicelogin.operator.flow.Step;
import io.devicelogin.operator.idp.UnverifiedTokens;
import io.fabric8.kubernetes.api.model.Secret;
import java.time.Instant;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
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

  /**
   * One login's items, of the DeviceLogin with {@code uid} (a DeviceLogin deleted and re-created under its name is
   * another object and sees none of them); a field is null when there is nothing of that kind.
   */
  private record Held(
      String uid, Grant unsavedGrant, PollSchedule schedule, UnwrittenTokens unwritten, UnrecordedEnd unrecorded,
      UnverifiedTokens unverifiedRefresh) {

    static Held none(String uid) {
      return new Held(uid, null, null, null, null, null);
    }

    boolean empty() {
      return unsavedGrant == null && schedule == null && unwritten == null && unrecorded == null
          && unverifiedRefresh == null;
    }
  }

  /**
   * By DeviceLogin name, so what a deleted DeviceLogin left is dropped by its name (JOSDK may hand the reconcile of its
   * deletion the next object of that name).
   */
  private final Map<ResourceID, Held> byName = new ConcurrentHashMap<>();

  private Held held(Turn turn) {
    Held held = byName.get(turn.id());
    return held != null && held.uid().equals(turn.uid()) ? held : Held.none(turn.uid());
  }

  private void change(Turn turn, UnaryOperator<Held> change) {
    byName.compute(turn.id(), (key, held) -> {
      Held next = change.apply(held != null && held.uid().equals(turn.uid()) ? held : Held.none(turn.uid()));
      return next.empty() ? null : next;
    });
  }

  Grant unsavedGrant(Turn turn) {
    return held(turn).unsavedGrant();
  }

  void unsavedGrant(Turn turn, Grant grant) {
    change(turn, h -> new Held(h.uid(), grant, h.schedule(), h.unwritten(), h.unrecorded(), h.unverifiedRefresh()));
  }

  PollSchedule schedule(Turn turn) {
    return held(turn).schedule();
  }

  void schedule(Turn turn, PollSchedule schedule) {
    change(turn, h -> new Held(h.uid(), h.unsavedGrant(), schedule, h.unwritten(), h.unrecorded(), h.unverifiedRefresh()));
  }

  UnwrittenTokens unwritten(Turn turn) {
    return held(turn).unwritten();
  }

  void unwritten(Turn turn, UnwrittenTokens tokens) {
    change(turn, h -> new Held(h.uid(), h.unsavedGrant(), h.schedule(), tokens, h.unrecorded(), h.unverifiedRefresh()));
  }

  UnrecordedEnd unrecorded(Turn turn) {
    return held(turn).unrecorded();
  }

  void unrecorded(Turn turn, UnrecordedEnd end) {
    change(turn, h -> new Held(h.uid(), h.unsavedGrant(), h.schedule(), h.unwritten(), end, h.unverifiedRefresh()));
  }

  UnverifiedTokens unverifiedRefresh(Turn turn) {
    return held(turn).unverifiedRefresh();
  }

  void unverifiedRefresh(Turn turn, UnverifiedTokens tokens) {
    change(turn, h -> new Held(h.uid(), h.unsavedGrant(), h.schedule(), h.unwritten(), h.unrecorded(), tokens));
  }

  /** Drops everything held for the login (it starts over, or ended). */
  void forget(Turn turn) {
    byName.computeIfPresent(turn.id(), (key, held) -> held.uid().equals(turn.uid()) ? null : held);
  }

  /** Drops everything held under a deleted DeviceLogin's name. */
  void forget(ResourceID deleted) {
    byName.remove(deleted);
  }
}
