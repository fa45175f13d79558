package io.devicelogin.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientImpl;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadPoolExecutor;

/**
 * The operator's Kubernetes client, with a fixed number of threads. fabric8's defaults give the JDK HTTP client and
 * the client's task executor unbounded cached pools, which grow with the requests in flight (more than 100 threads
 * with a thousand logins pending). The operator's calls block its own reconcile threads, so these pools only complete
 * responses and deliver informer events — short tasks that a few threads keep up with.
 */
public final class KubernetesClients {

  /** Threads completing HTTP exchanges (the JDK HTTP client's executor). */
  public static final int HTTP_THREADS = 4;

  /** Threads running the client's asynchronous tasks (response decoding, informer event handlers). */
  public static final int TASK_THREADS = 4;

  private KubernetesClients() {}

  /** The client as {@code Main} runs it: kubeconfig or in-cluster configuration, bounded pools. */
  public static KubernetesClient create() {
    KubernetesClientBuilder builder = new KubernetesClientBuilder();
    bounded(builder);
    return builder.build();
  }

  /** Gives {@code builder} the bounded pools (the HTTP pool is shared by every HTTP client it derives). */
  public static void bounded(KubernetesClientBuilder builder) {
    builder.withHttpClientFactory(new BoundedJdkHttpClientFactory())
        .withTaskExecutorSupplier(new KubernetesClientBuilder.ExecutorSupplier() {
          @Override
          public Executor get() {
            return ThreadPools.fixed("kubernetes-client-task-", TASK_THREADS);
          }

          @Override
          public void onClose(Executor executor) {
            ((ThreadPoolExecutor) executor).shutdownNow();
          }
        });
  }

  /**
   * One executor for all HTTP clients of one Kubernetes client; fabric8 cannot tell a factory which of its clients
   * closes, so the idle threads end by themselves instead of being shut down.
   */
  private static final class BoundedJdkHttpClientFactory extends JdkHttpClientFactory {

    private final ThreadPoolExecutor executor = ThreadPools.fixed("kubernetes-client-http-", HTTP_THREADS);

    @Override
    protected java.net.http.HttpClient.Builder createNewHttpClientBuilder() {
      return java.net.http.HttpClient.newBuilder().executor(executor);
    }

    @Override
    protected void closeHttpClient(JdkHttpClientImpl client) {
      // the shared executor outlives any one HTTP client
    }
  }
}
