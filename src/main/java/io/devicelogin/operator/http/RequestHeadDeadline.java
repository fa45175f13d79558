package io.devicelogin.operator.http;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * Closes a connection whose request head keeps trickling in (slowloris). Jetty's idle timeout counts time without
 * traffic, so a client sending a byte every few seconds keeps a connection forever; Jetty has no limit on how long
 * a request head may take. Every {@code period} this looks at the connection's counters: when bytes came in since the
 * last request head was complete, no new head was completed since the previous look and no response is pending,
 * the client is sending an unfinished head (or junk before one). Two such looks in a row close the connection, so a
 * head that takes longer than one to two periods is cut; one that is complete in time resets the count.
 */
final class RequestHeadDeadline implements Connection.Listener {

  private final Scheduler scheduler;
  private final long periodMillis;

  RequestHeadDeadline(Scheduler scheduler, Duration period) {
    this.scheduler = scheduler;
    this.periodMillis = period.toMillis();
  }

  @Override
  public void onOpened(Connection connection) {
    new Watch(connection).schedule();
  }

  /** One connection's counters at the last look; touched by the scheduler thread only. */
  private final class Watch implements Runnable {

    private final Connection connection;
    private long heads;
    private long bytesAfterLastHead;
    private int strikes;

    Watch(Connection connection) {
      this.connection = connection;
    }

    void schedule() {
      scheduler.schedule(this, periodMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void run() {
      if (!connection.getEndPoint().isOpen()) {
        return;
      }
      long headsNow = connection.getMessagesIn();
      long bytesNow = connection.getBytesIn();
      if (headsNow != heads) {
        heads = headsNow;
        bytesAfterLastHead = bytesNow;
        strikes = 0;
      } else if (bytesNow > bytesAfterLastHead && connection.getMessagesOut() >= headsNow) {
        strikes++;
      } else {
        strikes = 0;
      }
      if (strikes >= 2) {
        connection.getEndPoint().close();
      } else {
        schedule();
      }
    }
  }
}
