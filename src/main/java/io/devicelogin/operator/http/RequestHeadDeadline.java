package io.devicelogin.operator.http;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * Closes a connection whose request head keeps trickling in (slowloris). Jetty's idle timeout counts time without
 * traffic, so a client sending a byte every few seconds keeps a connection forever; Jetty has no limit on how long
 * a request head may take. Every {@link #LOOK_EVERY} this looks at the connection's counters: when bytes came in
 * since the last request head was complete, no new head was completed since the previous look and no response is
 * pending, the client is sending an unfinished head (or junk before one). Such looks in a row for the whole deadline
 * close the connection, so a head that takes longer than the deadline (plus one look) is cut; one that is complete in
 * time resets the count. While the connection limit is reached, one such look is enough: connections that dribble
 * heads to fill the limit are cut within a look or two, and a waiting probe gets in within about a second.
 */
final class RequestHeadDeadline implements Connection.Listener {

  /** How often each connection is looked at. */
  static final Duration LOOK_EVERY = Duration.ofMillis(500);

  private final Scheduler scheduler;
  private final int looksToCut;
  private final BooleanSupplier atLimit;

  RequestHeadDeadline(Scheduler scheduler, Duration deadline, BooleanSupplier atLimit) {
    this.scheduler = scheduler;
    this.looksToCut = (int) Math.max(1, deadline.toMillis() / LOOK_EVERY.toMillis());
    this.atLimit = atLimit;
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
      scheduler.schedule(this, LOOK_EVERY.toMillis(), TimeUnit.MILLISECONDS);
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
      if (strikes >= looksToCut || strikes >= 1 && atLimit.getAsBoolean()) {
        connection.getEndPoint().close();
      } else {
        schedule();
      }
    }
  }
}
