package io.devicelogin.operator.crash;

import java.util.Set;

/**
 * One place in a login, a refresh or a deletion where the operator is killed: the request that is in flight at that
 * moment, on the API server or at the IdP. The same kill point is tried in both {@link Variant}s.
 */
enum KillPoint {

  // ---- the login (armed when the DeviceLogin is created)
  FINALIZER_ADD(Stage.LOGIN, Server.API, "the operator adds the cleanup finalizer (PATCH devicelogins/<name>)"),
  DEVICE_AUTHORIZATION(Stage.LOGIN, Server.IDP, "device authorization request (the grant starts at the IdP)"),
  GRANT_SECRET_CREATE(Stage.LOGIN, Server.API, "grant Secret create (POST secrets devicelogin-grant-<name>)"),
  USER_CODE_STATUS(Stage.LOGIN, Server.API, "status patch publishing the user code (AwaitingUser)"),
  FIRST_PENDING_POLL(Stage.LOGIN, Server.IDP, "first token poll, not yet approved (authorization_pending)"),
  TOKEN_POLL(Stage.LOGIN, Server.IDP, "token poll after the user approved (the IdP issues the tokens)"),
  TOKEN_SECRET_CREATE(Stage.LOGIN, Server.API, "token Secret create (POST secrets oidc-<user>)"),
  READY_STATUS(Stage.LOGIN, Server.API, "status patch recording Ready"),
  GRANT_SECRET_DELETE(Stage.LOGIN, Server.API, "grant Secret delete after Ready"),

  // ---- the refresh (armed at creation: only a refresh makes these requests)
  REFRESH_MARKER(Stage.REFRESH, Server.API, "token Secret update marking the refresh in flight"),
  REFRESH_REQUEST(Stage.REFRESH, Server.IDP, "refresh request (the IdP rotates the refresh token)"),
  REFRESHED_SECRET(Stage.REFRESH, Server.API, "token Secret update with the refreshed tokens"),
  REFRESHED_STATUS(Stage.REFRESH, Server.API, "status patch recording Refreshed"),

  // ---- deletion of a Ready login (armed when the test deletes it)
  REVOCATION(Stage.DELETE_READY, Server.IDP, "revocation of the refresh token (RFC 7009)"),
  TOKEN_SECRET_DELETE(Stage.DELETE_READY, Server.API, "token Secret delete"),
  FINALIZER_REMOVE(Stage.DELETE_READY, Server.API, "finalizer removal (the DeviceLogin goes)"),

  // ---- deletion of a login still waiting for the person (armed when the test deletes it)
  WAITING_GRANT_DELETE(Stage.DELETE_WAITING, Server.API, "grant Secret delete of a login still awaiting the user"),
  WAITING_FINALIZER_REMOVE(Stage.DELETE_WAITING, Server.API, "finalizer removal of a login still awaiting the user"),

  // ---- a login through the authorization code grant (armed when the DeviceLogin is created)
  CODE_GRANT_SECRET_CREATE(Stage.CODE_LOGIN, Server.API,
      "grant Secret create with PKCE verifier, state and nonce (POST secrets devicelogin-grant-<name>)"),
  AUTHORIZATION_URL_STATUS(Stage.CODE_LOGIN, Server.API, "status patch publishing the authorization URL"),
  RESPONSE_STORED(Stage.CODE_LOGIN, Server.API, "grant Secret update storing the pasted response (the code)"),
  PASTED_SECRET_DELETE(Stage.CODE_LOGIN, Server.API, "paste-back Secret delete after its response was stored"),
  EXCHANGING_MARK(Stage.CODE_LOGIN, Server.API, "grant Secret update marking the code exchange (exchanging)"),
  CODE_EXCHANGE(Stage.CODE_LOGIN, Server.IDP,
      "code exchange at the token endpoint (grant_type=authorization_code; the IdP issues the tokens)"),
  CODE_TOKEN_SECRET_CREATE(Stage.CODE_LOGIN, Server.API, "token Secret create after the code exchange"),
  CODE_READY_STATUS(Stage.CODE_LOGIN, Server.API, "status patch recording Ready after the code exchange"),
  CODE_GRANT_SECRET_DELETE(Stage.CODE_LOGIN, Server.API, "grant Secret delete after Ready (code grant)");

  /** When a case's kill point is armed, and what the test does to get there. */
  enum Stage {
    /** From creation; the login runs to its kill point. */
    LOGIN,
    /** From creation; a short renewBefore makes the refresh come two seconds after the tokens were issued. */
    REFRESH,
    /** Once Ready: the test deletes the DeviceLogin. */
    DELETE_READY,
    /** Once the user code is shown: the test deletes the DeviceLogin without approving. */
    DELETE_WAITING,
    /**
     * From creation, through a provider with {@code grant: AuthorizationCode}: the person signs in at the URL the
     * status shows and pastes the redirect back in an authorization-response Secret.
     */
    CODE_LOGIN
  }

  enum Server {
    API,
    IDP
  }

  /** What is killed relative to the request in flight. */
  enum Variant {
    /** Killed before the request took effect: the API server never applies it, the IdP never processes it. */
    BEFORE,
    /** Killed after the request took effect, before the operator saw the answer. */
    AFTER
  }

  /** What must happen after the restart. */
  enum Outcome {
    /** The login completes: Ready, a contract-shaped token Secret. */
    READY,
    /**
     * Inherent window: the IdP issued the tokens but the operator never stored them, so the device code is used up.
     * The login must end Failed with a message that says how to start over; starting over completes a login.
     */
    FAILED_START_OVER,
    /** The refresh completes (with the tokens the Secret holds); no refresh token is presented twice. */
    REFRESHED,
    /**
     * A refresh may have been used up at the IdP: the refresh token is not presented again; the login stays Ready
     * (reason RefreshFailed) while the ID token is valid, then ends Expired (RefreshFailed); starting over completes
     * a login.
     */
    REFRESH_INTERRUPTED,
    /** The deletion completes: the DeviceLogin and both Secrets are gone, the refresh token is revoked. */
    DELETED,
    /**
     * The grant was marked {@code exchanging} and its token Secret was not written: the code may have reached the IdP,
     * so it is never sent again; the login ends Failed, CodeExchangeInterrupted, with a message that says how to start
     * over; starting over completes a login.
     */
    CODE_EXCHANGE_INTERRUPTED
  }

  final Stage stage;
  final Server server;
  final String description;

  KillPoint(Stage stage, Server server, String description) {
    this.stage = stage;
    this.server = server;
    this.description = description;
  }

  /** The required outcome after a kill at this point in {@code variant}. */
  Outcome outcome(Variant variant) {
    return switch (this) {
      case TOKEN_POLL -> variant == Variant.AFTER ? Outcome.FAILED_START_OVER : Outcome.READY;
      case TOKEN_SECRET_CREATE -> variant == Variant.BEFORE ? Outcome.FAILED_START_OVER : Outcome.READY;
      case EXCHANGING_MARK -> variant == Variant.AFTER ? Outcome.CODE_EXCHANGE_INTERRUPTED : Outcome.READY;
      case CODE_EXCHANGE -> Outcome.CODE_EXCHANGE_INTERRUPTED;
      case CODE_TOKEN_SECRET_CREATE -> variant == Variant.BEFORE ? Outcome.CODE_EXCHANGE_INTERRUPTED : Outcome.READY;
      case REFRESH_MARKER -> variant == Variant.BEFORE ? Outcome.REFRESHED : Outcome.REFRESH_INTERRUPTED;
      case REFRESH_REQUEST -> Outcome.REFRESH_INTERRUPTED;
      case REFRESHED_SECRET -> variant == Variant.BEFORE ? Outcome.REFRESH_INTERRUPTED : Outcome.REFRESHED;
      case REFRESHED_STATUS -> Outcome.REFRESHED;
      case REVOCATION, TOKEN_SECRET_DELETE, FINALIZER_REMOVE, WAITING_GRANT_DELETE, WAITING_FINALIZER_REMOVE ->
          Outcome.DELETED;
      default -> Outcome.READY;
    };
  }

  /**
   * Grants started at the IdP but never stored nor shown (abandoned: nobody can approve them, they expire at the
   * IdP): the operator died after the IdP created the grant and before the grant Secret existed.
   */
  int abandonedGrants(Variant variant) {
    return (this == DEVICE_AUTHORIZATION && variant == Variant.AFTER)
        || (this == GRANT_SECRET_CREATE && variant == Variant.BEFORE) ? 1 : 0;
  }

  /**
   * Token responses the IdP issued that never reached the token Secret (their refresh tokens stay live at the IdP
   * until they expire): the operator died after the IdP answered and before the Secret write took effect.
   */
  int tokensNeverStored(Variant variant) {
    return Set.of(TOKEN_POLL, REFRESH_REQUEST, CODE_EXCHANGE).contains(this) && variant == Variant.AFTER
        || Set.of(TOKEN_SECRET_CREATE, REFRESHED_SECRET, CODE_TOKEN_SECRET_CREATE).contains(this)
        && variant == Variant.BEFORE ? 1 : 0;
  }

  /**
   * Code exchanges the IdP processes for the first login request of an authorization code case: one for a login that
   * completes; for one whose exchange was interrupted, one if the IdP got the code (its tokens never stored), else none.
   * A login request after starting over makes exactly one more.
   */
  int codeExchanges(Variant variant) {
    return outcome(variant) == Outcome.READY ? 1 : tokensNeverStored(variant);
  }

  /**
   * Whether the person approves the user code (signs in at the authorization URL and pastes the redirect back) as soon
   * as it is shown, else only after the restart.
   */
  boolean approveBeforeKill() {
    return switch (stage) {
      case LOGIN -> ordinal() >= TOKEN_POLL.ordinal();
      case CODE_LOGIN -> ordinal() >= RESPONSE_STORED.ordinal();
      case REFRESH, DELETE_READY -> true;
      case DELETE_WAITING -> false;
    };
  }
}
