package io.github.emrrollover.driver;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.spark.streaming.StreamingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops a StreamingContext for a rollover: {@code stop(stopSparkContext = true, stopGracefully =
 * true)} on the calling thread (the application's main thread: never a listener or the watcher,
 * from which a stop can deadlock). A graceful stop stops receiving, then runs every batch already
 * generated. Spark bounds part of that ({@code spark.streaming.gracefulStopTimeout}, by default
 * ten batch intervals) but then waits up to an hour for queued jobs, so a watchdog stops the
 * SparkContext at {@code spark.rollover.drainTimeout}: its running jobs fail, and the stop
 * returns. Batches cut short that way are re-run from a checkpoint, if the application has one.
 */
final class DStreamStop {
  private static final Logger LOG = LoggerFactory.getLogger(DStreamStop.class);

  /** @return true when the stop completed gracefully within the bound */
  static boolean stop(StreamingContext ssc, long drainDeadlineNanos) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(1);
    AtomicBoolean forced = new AtomicBoolean();
    Thread watchdog =
        new Thread(
            () -> {
              try {
                long leftNanos = drainDeadlineNanos - System.nanoTime();
                if (done.await(Math.max(0, leftNanos), TimeUnit.NANOSECONDS)) return;
                LOG.error("graceful stop still running at spark.rollover.drainTimeout: stopping"
                    + " the SparkContext; unfinished batches are re-run from the checkpoint");
                forced.set(true);
                ssc.sparkContext().stop();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "rollover-drain-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
    boolean graceful = true;
    try {
      ssc.stop(true, true);
    } catch (Exception e) {
      LOG.error("graceful stop failed: {}", e.toString());
      graceful = false;
    } finally {
      done.countDown();
    }
    watchdog.join(TimeUnit.SECONDS.toMillis(30));
    return graceful && !forced.get();
  }

  private DStreamStop() {}
}
