package io.devicelogin.operator.flow;

import io.devicelogin.operator.api.v1alpha1.Phase;
import io.devicelogin.operator.api.v1alpha1.Reason;
import io.devicelogin.operator.idp.IssuedTokens;
import java.time.Duration;

/** What the device flow decided: the reconciler carries it out. */
public sealed interface Step {

  /** Not yet time to poll; look again after {@code delay}. */
  record Wait(Duration delay) implements Step {}

  /** Time to poll the token endpoint. */
  record Poll() implements Step {}

  /**
   * Keep waiting for the person: the grant (possibly with a longer interval) and the schedule to keep, and the
   * condition to show.
   */
  record Continue(Grant grant, PollSchedule schedule, Reason reason, String message) implements Step {}

  /** The login is over without tokens. */
  record End(Phase phase, Reason reason, String message) implements Step {}

  /** The IdP issued tokens whose ID token validated; identity checks come next. */
  record Issued(IssuedTokens tokens) implements Step {}
}
