package io.devicelogin.operator.idp;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The fair share of one owner of providers in the operator's reconcile threads: at most {@code limit} requests to
 * the IdPs of one owner are in flight at once. An owner is a tenant's namespace (all its IdentityProviders together,
 * so creating more providers buys no more) or one ClusterIdentityProvider's client at its issuer. Every IdP request
 * holds a reconcile thread until it is answered (up to the request deadline), so without this a slow or hanging IdP
 * with enough logins holds every thread and every other tenant's polls and refreshes miss their schedule.
 *
 * <p>A request over the limit is neither sent nor waited for: the caller gets "unavailable" at once and retries with
 * its usual back-off, as after an IdP outage. Owners with no request in flight take no memory.
 */
public final class CallLimiter {

  /** The default share: a quarter of the reconcile threads, at least 2 (and never more than all of them). */
  public static int defaultLimit(int reconcileThreads) {
    return Math.min(reconcileThreads, Math.max(2, reconcileThreads / 4));
  }

  private final int limit;
  private final ConcurrentHashMap<String, Integer> inFlight = new ConcurrentHashMap<>();

  public CallLimiter(int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("the limit of IdP requests in flight per owner must be at least 1");
    }
    this.limit = limit;
  }

  /** No limit (tools and tests that talk to one IdP). */
  public static CallLimiter unlimited() {
    return new CallLimiter(Integer.MAX_VALUE);
  }

  /** One request in flight; closing it frees its place. */
  public interface Permit extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * A place for one request to {@code provider}'s IdP, or an {@link IdpException} ({@code UNAVAILABLE}) when its owner
   * has {@code limit} requests in flight already.
   */
  public Permit acquire(ProviderConfig provider) throws IdpException {
    String owner = owner(provider);
    boolean[] granted = {false};
    inFlight.compute(owner, (key, current) -> {
      int count = current == null ? 0 : current;
      if (count >= limit) {
        return current;
      }
      granted[0] = true;
      return count + 1;
    });
    if (!granted[0]) {
      throw new IdpException(IdpException.Kind.UNAVAILABLE, limit + " requests to "
          + (provider.namespaced() ? "the IdPs of namespace " + provider.tenant() : "this IdP")
          + " are already waiting for answers (it answers slowly or not at all), the most the operator lets one "
          + (provider.namespaced() ? "namespace" : "provider") + " hold; this one was not sent");
    }
    return () -> inFlight.computeIfPresent(owner, (key, count) -> count <= 1 ? null : count - 1);
  }

  /** How many requests of {@code provider}'s owner are in flight now. */
  int inFlight(ProviderConfig provider) {
    return inFlight.getOrDefault(owner(provider), 0);
  }

  private static String owner(ProviderConfig provider) {
    return provider.namespaced()
        ? "namespace " + provider.tenant()
        : "cluster " + provider.issuer() + " " + provider.clientId();
  }
}
