package io.devicelogin.operator.testidp;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * The refresh tokens a {@link FakeIdp} issued, with rotation, reuse detection and revocation, and
 * the script for refresh answers. Thread-safe.
 */
final class RefreshTokens {

  private enum State {
    ACTIVE,
    ROTATED,
    REVOKED
  }

  private static final class Entry {
    private final Login login;
    private State state = State.ACTIVE;

    private Entry(Login login) {
      this.login = login;
    }
  }

  /**
   * The answer to a refresh request.
   *
   * @param login the grant the refresh token belongs to, {@code null} if the token was refused
   * @param outcome what to answer
   */
  record Redemption(Login login, Outcome outcome) {}

  private final Map<String, Entry> entries = new HashMap<>();
  private final Deque<Outcome> script = new ArrayDeque<>();
  private int requests;
  private int reuses;

  synchronized void issued(String refreshToken, Login login) {
    entries.put(refreshToken, new Entry(login));
  }

  synchronized void script(Outcome... outcomes) {
    script.addAll(Arrays.asList(outcomes));
  }

  /**
   * Decides the answer to a refresh request. An unknown, foreign, revoked or rotated token gets
   * {@code invalid_grant} (a rotated one counts as reuse); a valid one gets the next scripted
   * outcome, or new tokens. Issuing a new refresh token rotates the presented one.
   */
  /**
   * With {@code revokeFamilyOnReuse} (Auth0's reuse detection) a rotated token presented again also revokes every
   * refresh token of its login, the current one included.
   */
  synchronized Redemption redeem(String refreshToken, String clientId, boolean revokeFamilyOnReuse) {
    requests++;
    Entry entry = entries.get(refreshToken);
    if (entry == null || !entry.login.clientId().equals(clientId) || entry.state == State.REVOKED) {
      return new Redemption(null, Outcome.invalidGrant());
    }
    if (entry.state == State.ROTATED) {
      reuses++;
      if (revokeFamilyOnReuse) {
        entries.values().stream().filter(other -> other.login == entry.login)
            .forEach(other -> other.state = State.REVOKED);
      }
      return new Redemption(null, Outcome.invalidGrant());
    }
    Outcome outcome = script.isEmpty() ? Outcome.tokens() : script.remove();
    if (outcome instanceof Outcome.Tokens tokens && !tokens.variants().contains(TokenVariant.NO_REFRESH_TOKEN)) {
      entry.state = State.ROTATED;
    }
    return new Redemption(entry.login, outcome);
  }

  /** Revokes a refresh token; other tokens are ignored. */
  synchronized void revoke(String token) {
    Entry entry = entries.get(token);
    if (entry != null) {
      entry.state = State.REVOKED;
    }
  }

  synchronized int requests() {
    return requests;
  }

  synchronized int reuses() {
    return reuses;
  }
}
