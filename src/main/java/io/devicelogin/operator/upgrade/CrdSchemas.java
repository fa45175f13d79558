package io.devicelogin.operator.upgrade;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.List;

/** What the installed CRDs lack compared with the ones this operator was built with (see {@link InstalledCrds}). */
@FunctionalInterface
public interface CrdSchemas {

  /** The field paths of {@code kind}'s schema the installed CRD lacks; empty when it is current or can't be read. */
  List<String> missingFields(Class<? extends HasMetadata> kind);
}
