package io.devicelogin.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code java -jar devicelogin-operator.jar}: runs against the current kubeconfig or the in-cluster config. */
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    // LOG_FORMAT picks logback's configuration, so it comes before anything creates a logger.
    try {
      LogFormat.fromEnvironment(System.getenv()).apply();
    } catch (IllegalArgumentException e) {
      System.err.println("devicelogin-operator: " + e.getMessage());
      System.exit(2);
      return;
    }
    Logger log = LoggerFactory.getLogger(Main.class);
    OperatorSettings settings;
    try {
      settings = OperatorSettings.fromEnvironment(System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("devicelogin-operator: " + e.getMessage());
      System.exit(2);
      return;
    }
    KubernetesClient client = KubernetesClients.create();
    DeviceLoginOperator operator = DeviceLoginOperator.create(client, settings).onLostLeadership(() -> {
      // Another instance may already be reconciling: stop at once; Kubernetes restarts the Pod as a follower.
      new Thread(() -> System.exit(1), "lost-leadership-exit").start();
    });
    try {
      operator.start();
    } catch (StartupCheck.StartupException e) {
      System.err.println("devicelogin-operator: " + e.getMessage());
      System.exit(1);
      return;
    } catch (java.io.IOException e) {
      System.err.println("devicelogin-operator: " + e.getMessage());
      System.exit(1);
      return;
    } catch (RuntimeException e) {
      System.err.println("devicelogin-operator: could not start: " + e.getMessage());
      System.exit(1);
      return;
    }
    log.info("devicelogin-operator started against {} (namespaces: {}, HTTP port {}, callback port {}, leader "
            + "election: {})",
        client.getMasterUrl(), settings.watchNamespaces().isEmpty() ? "all" : settings.watchNamespaces(),
        operator.httpPort(), operator.callbackPort() == OperatorSettings.CALLBACK_OFF ? "off" : operator.callbackPort(),
        settings.leaderElection().enabled()
            ? "on, Lease " + settings.leaderElection().leaseNamespace() + "/" + settings.leaderElection().leaseName()
            : "off");
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
