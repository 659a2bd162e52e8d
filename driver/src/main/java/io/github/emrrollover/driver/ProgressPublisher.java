package io.github.emrrollover.driver;

import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes {@code <marker>.progress}, at most once per interval, on its own daemon thread: the
 * first committed batch at once (the action waits for it), then the latest batch when the
 * interval has passed. Never blocks the caller (Spark's listener bus) and never throws: a report
 * that cannot be written is logged, and the stream goes on.
 */
final class ProgressPublisher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ProgressPublisher.class);
  private static final int LOG_EVERY_N_FAILURES = 12;

  private final MarkerStore store;
  private final long intervalMs;
  private final ScheduledThreadPoolExecutor executor;

  // Guarded by this.
  private ProgressReport pending;
  private boolean writeScheduled;
  private boolean closed;
  private long lastWriteNanos;
  private boolean anyWriteStarted;
  private long writes;
  private long failuresInARow;
  private long failures;

  ProgressPublisher(MarkerStore store, long intervalMs) {
    this.store = store;
    this.intervalMs = intervalMs;
    this.executor =
        new ScheduledThreadPoolExecutor(
            1,
            task -> {
              Thread thread = new Thread(task, "rollover-progress-writer");
              thread.setDaemon(true);
              return thread;
            });
    // After close() no write may start: a .progress newer than .stopped would read as "alive".
    executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
  }

  /** Queues the report; a later one replaces it if it has not been written yet. */
  synchronized void publish(ProgressReport report) {
    if (closed) return;
    pending = report;
    if (writeScheduled) return;
    long delayMs =
        anyWriteStarted
            ? Math.max(0, intervalMs - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastWriteNanos))
            : 0;
    writeScheduled = true;
    executor.schedule(this::writePending, delayMs, TimeUnit.MILLISECONDS);
  }

  private void writePending() {
    ProgressReport report;
    synchronized (this) {
      writeScheduled = false;
      if (closed || pending == null) return;
      report = pending;
      pending = null;
      anyWriteStarted = true;
      lastWriteNanos = System.nanoTime();
    }
    try {
      store.writeReport(ProgressReport.SUFFIX, Json.bytes(report.toJson()));
      synchronized (this) {
        writes++;
        failuresInARow = 0;
      }
    } catch (Exception e) {
      long inARow;
      synchronized (this) {
        inARow = ++failuresInARow;
        failures++;
      }
      if (inARow == 1 || inARow % LOG_EVERY_N_FAILURES == 0) {
        LOG.warn("cannot write {} ({} failures in a row); the stream goes on: {}",
            store.reportUri(ProgressReport.SUFFIX), inARow, e.toString());
      }
    }
  }

  synchronized long writes() {
    return writes;
  }

  synchronized long failures() {
    return failures;
  }

  /**
   * Stops writing: nothing new starts after this; waits up to the bound for a write under way.
   *
   * @return false when a write was still under way at the bound
   */
  boolean close(long timeoutMs) throws InterruptedException {
    synchronized (this) {
      closed = true;
      pending = null;
    }
    executor.shutdown();
    return executor.awaitTermination(timeoutMs, TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    synchronized (this) {
      closed = true;
    }
    executor.shutdownNow();
  }
}
