package io.github.emrrollover.driver;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.spark.SparkConf;
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
  static final String GRACEFUL_STOP_TIMEOUT = "spark.streaming.gracefulStopTimeout";

  /** @return true when the stop completed gracefully within the bound */
  static boolean stop(StreamingContext ssc, long drainDeadlineNanos) throws InterruptedException {
    alignSparksBound(ssc, drainDeadlineNanos);
    CountDownLatch done = new CountDownLatch(1);
    AtomicBoolean forced = new AtomicBoolean();
    Thread watchdog =
        new Thread(
            () -> {
              try {
                long leftNanos = drainDeadlineNanos - System.nanoTime();
                if (done.await(Math.max(0, leftNanos), TimeUnit.NANOSECONDS)) return;
                LOG.error("graceful stop still running at spark.rollover.drainTimeout: stopping"
                    + " the SparkContext; the next driver re-runs unfinished batches from the"
                    + " checkpoint, if the application has one");
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

  /** Spark reads this setting when the stop begins, from the context's live SparkConf. */
  private static void alignSparksBound(StreamingContext ssc, long drainDeadlineNanos) {
    long leftMs = Math.max(0, TimeUnit.NANOSECONDS.toMillis(drainDeadlineNanos - System.nanoTime()));
    try {
      SparkConf live = ssc.conf(); // internal: getConf() would return a copy
      if (live.contains(GRACEFUL_STOP_TIMEOUT)) {
        long setMs = live.getTimeAsMs(GRACEFUL_STOP_TIMEOUT);
        if (setMs > leftMs) {
          LOG.warn("{}={}ms is longer than what is left of spark.rollover.drainTimeout ({}ms):"
              + " the SparkContext is stopped at the drain bound", GRACEFUL_STOP_TIMEOUT, setMs,
              leftMs);
        }
      } else {
        live.set(GRACEFUL_STOP_TIMEOUT, leftMs + "ms");
      }
    } catch (LinkageError | RuntimeException e) {
      LOG.debug("cannot align {} with the drain bound: {}", GRACEFUL_STOP_TIMEOUT, e.toString());
    }
  }

  private DStreamStop() {}
}
