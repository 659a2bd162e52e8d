package io.github.emrrollover.driver;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks every poll interval, on a daemon thread, that the marker still exists. Only a definite
 * "does not exist" counts: an error (403, throttling, a timeout) is logged and the next check
 * retries. Once seen gone the marker stays gone for this driver, even if it comes back: a stop,
 * once begun, completes.
 */
final class MarkerWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MarkerWatcher.class);
  /** With the default 5s interval: one line a minute while the marker cannot be read. */
  private static final int LOG_EVERY_N_FAILURES = 12;

  private final MarkerStore store;
  private final long pollIntervalMs;
  private final long ioTimeoutMs;
  private final CountDownLatch gone = new CountDownLatch(1);
  private final AtomicLong checks = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final ExecutorService probes;
  private final Thread thread;
  private volatile boolean closed;
  private volatile long goneAtNanos;

  MarkerWatcher(MarkerStore store, long pollIntervalMs, long ioTimeoutMs) {
    this.store = store;
    this.pollIntervalMs = pollIntervalMs;
    this.ioTimeoutMs = ioTimeoutMs;
    this.probes =
        Executors.newSingleThreadExecutor(
            task -> daemon(task, "rollover-marker-probe"));
    this.thread = daemon(this::run, "rollover-marker-watcher");
  }

  private static Thread daemon(Runnable task, String name) {
    Thread thread = new Thread(task, name);
    thread.setDaemon(true); // never keeps the driver's JVM alive
    return thread;
  }

  void start() {
    thread.start();
  }

  boolean gone() {
    return gone.getCount() == 0;
  }

  boolean awaitGone(long timeout, TimeUnit unit) throws InterruptedException {
    return gone.await(timeout, unit);
  }

  /** {@link System#nanoTime} when the marker was seen gone. */
  long goneAtNanos() {
    return goneAtNanos;
  }

  /** False once the watcher has seen the marker gone (it stops checking) or was closed. */
  boolean checking() {
    return thread.isAlive();
  }

  /** Checks answered so far, either way (for tests and logs). */
  long checks() {
    return checks.get();
  }

  /** For a retired standby driver: the marker was seen gone before the watcher started. */
  void markGone() {
    if (gone()) return;
    goneAtNanos = System.nanoTime();
    gone.countDown();
  }

  private void run() {
    long failuresInARow = 0;
    while (!closed && !gone()) {
      try {
        Thread.sleep(pollIntervalMs);
        boolean exists = probe();
        checks.incrementAndGet();
        if (failuresInARow > 0) {
          LOG.info("rollover marker {} readable again after {} failed checks", store.uri(),
              failuresInARow);
          failuresInARow = 0;
        }
        if (!exists) {
          LOG.info("rollover marker {} is gone: stopping for a rollover", store.uri());
          markGone();
        }
      } catch (InterruptedException e) {
        return; // closed
      } catch (Exception e) {
        checks.incrementAndGet();
        failures.incrementAndGet();
        failuresInARow++;
        if (failuresInARow == 1 || failuresInARow % LOG_EVERY_N_FAILURES == 0) {
          LOG.warn("cannot check rollover marker {} ({} failed checks in a row), will retry: {}",
              store.uri(), failuresInARow, e.toString());
        }
      }
    }
  }

  /**
   * One check on the probe thread. A call that hangs is waited for, not abandoned: starting
   * another beside it would only pile up threads on a stuck client; the log says it hangs.
   */
  private boolean probe() throws Exception {
    Future<Boolean> answer = probes.submit(store::exists);
    long waitedMs = 0;
    while (true) {
      try {
        return answer.get(ioTimeoutMs, TimeUnit.MILLISECONDS);
      } catch (TimeoutException stillWaiting) {
        waitedMs += ioTimeoutMs;
        LOG.warn("checking rollover marker {}: no answer for {}ms, still waiting", store.uri(),
            waitedMs);
      } catch (ExecutionException e) {
        Throwable cause = e.getCause();
        throw cause instanceof Exception ? (Exception) cause : e;
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
    probes.shutdownNow();
  }
}
