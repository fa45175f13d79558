/**
 * A scripted fake OpenID Connect provider for integration tests: start a {@link
 * io.devicelogin.operator.testidp.FakeIdp}, point the code under test at its issuer, and script
 * each device authorization grant through its {@link io.devicelogin.operator.testidp.Login}.
 */
package io.devicelogin.operator.testidp;
