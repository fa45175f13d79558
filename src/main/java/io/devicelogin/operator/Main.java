package io.devicelogin.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code java -jar devicelogin-operator.jar}: runs against the current kubeconfig or the in-cluster config. */
public final class Main {

  private static final Logger LOG = LoggerFactory.getLogger(Main.class);

  private Main() {}

  public static void main(String[] args) {
    OperatorSettings settings;
    try {
      settings = OperatorSettings.fromEnvironment(System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("devicelogin-operator: " + e.getMessage());
      System.exit(2);
      return;
    }
    KubernetesClient client = new KubernetesClientBuilder().build();
    DeviceLoginOperator operator = DeviceLoginOperator.create(client, settings);
    try {
      operator.start();
    } catch (StartupCheck.StartupException e) {
      System.err.println("devicelogin-operator: " + e.getMessage());
      System.exit(1);
      return;
    } catch (java.io.IOException e) {
      System.err.println("devicelogin-operator: cannot serve HTTP on port " + settings.httpPort() + ": "
          + e.getMessage() + " (set HTTP_PORT)");
      System.exit(1);
      return;
    } catch (RuntimeException e) {
      System.err.println("devicelogin-operator: could not start: " + e.getMessage());
      System.exit(1);
      return;
    }
    LOG.info("devicelogin-operator started against {} (namespaces: {}, HTTP port {})", client.getMasterUrl(),
        settings.watchNamespaces().isEmpty() ? "all" : settings.watchNamespaces(), operator.httpPort());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      operator.close();
      client.close();
      stopped.countDown();
    }, "shutdown"));
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
