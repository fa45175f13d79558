package io.devicelogin.operator.flow;

import java.time.Instant;
import java.util.Objects;

/**
 * A login's grant as persisted in its grant Secret before anything of it is published: a device grant ({@link Grant})
 * or an authorization code grant ({@link CodeGrant}).
 */
public sealed interface StartedGrant permits Grant, CodeGrant {

  /** Random id of this grant; the token Secret it produces carries it, so a restart can tell it finished. */
  String id();

  /** The DeviceLogin generation the grant was started for. */
  long generation();

  /** The devicelogin.io/restart annotation value it was started for, or null. */
  String restart();

  /** The issuer it was started at: nothing held for it is ever sent to another. */
  String issuerUrl();

  /** The client id it was started for. */
  String clientId();

  /** When the person's part (user code, authorization URL's state) expires. */
  Instant expiresAt();

  /** Whether the grant belongs to the login the DeviceLogin asks for now (same generation and restart request). */
  default boolean isFor(long currentGeneration, String currentRestart) {
    return generation() == currentGeneration && Objects.equals(restart(), currentRestart);
  }
}
