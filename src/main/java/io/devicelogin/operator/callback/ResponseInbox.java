package io.devicelogin.operator.callback;

import io.devicelogin.operator.idp.RedirectResponse;

/**
 * Where an IdP's redirect, however it reached the operator (callback request, paste form, local relay), is handed
 * over. The HTTP side exchanges nothing: the inbox stores the response with the login its {@code state} names, and the
 * reconciler (on the leader) exchanges the code. Any replica can deliver.
 */
public interface ResponseInbox {

  /** Stores {@code response} with its login, or refuses it; never throws for bad input (only {@link Receipt}). */
  Receipt deliver(RedirectResponse response);
}
