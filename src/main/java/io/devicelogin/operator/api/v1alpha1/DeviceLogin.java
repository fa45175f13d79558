package io.devicelogin.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** A request for one person's OIDC login via the device authorization grant (RFC 8628). */
@JsonDeserialize(using = DeviceLogin.Reader.class)
@Group(Constants.GROUP)
@Version(Constants.VERSION)
@ShortNames("dl")
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "User Code", jsonPath = ".status.userCode", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
    name = "Verification URI",
    jsonPath = ".status.verificationUri",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Secret", jsonPath = ".status.secretName", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
    name = "Authorization URL",
    jsonPath = ".status.authorizationUrl",
    type = AdditionalPrinterColumn.Type.STRING,
    priority = 1)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class DeviceLogin extends TolerantResource<DeviceLoginSpec, DeviceLoginStatus> implements Namespaced {

  /** The devicelogin.io/restart annotation's value, or null. */
  public String restartRequest() {
    return getMetadata().getAnnotations() == null
        ? null
        : getMetadata().getAnnotations().get(Constants.RESTART_ANNOTATION);
  }

  @Override
  protected DeviceLoginStatus initStatus() {
    return new DeviceLoginStatus();
  }

  @Override
  @JsonPropertyDescription("What login is wanted; changing it starts a fresh login.")
  public DeviceLoginSpec getSpec() {
    return super.getSpec();
  }

  @Override
  @JsonPropertyDescription("Where the login is: what the person must do, who logged in, where the tokens are. Never a token.")
  public DeviceLoginStatus getStatus() {
    return super.getStatus();
  }

  /** Reads a DeviceLogin part by part (see {@link TolerantResource}). */
  public static final class Reader extends TolerantResource.Reader<DeviceLogin, DeviceLoginSpec, DeviceLoginStatus> {
    public Reader() {
      super(DeviceLogin.class, DeviceLogin::new, DeviceLoginSpec.class, DeviceLoginStatus.class);
    }
  }
}
