package io.github.emrrollover.driver;

import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What happens before the driver may touch its checkpoint: the marker must exist, and a standby
 * driver waits until the action switches its marker to {@code mode: run}. Runs on the
 * application's main thread; every storage call and every wait is bounded.
 */
final class Startup {
  private static final Logger LOG = LoggerFactory.getLogger(Startup.class);
  private static final long MAX_BACKOFF_MS = 10_000;
  private static final int LOG_EVERY_N_FAILURES = 30;

  /** The marker's body once the driver may run, or {@code retired} when it must not. */
  record Cleared(MarkerBody body, boolean retired) {}

  private final MarkerStore store;
  private final BoundedIo io;
  private final RolloverSettings settings;

  Startup(MarkerStore store, BoundedIo io, RolloverSettings settings) {
    this.store = store;
    this.io = io;
    this.settings = settings;
  }

  Cleared clear(SparkContext sc) throws InterruptedException {
    MarkerBody body = readAtStartup();
    if (!body.standby()) return new Cleared(body, false);
    LOG.info("rollover marker {} says standby: Spark is up; waiting for mode run before touching"
        + " the checkpoint", store.uri());
    writeReady(new ReadyReport(body.deploymentId(), sc.applicationId(), Instant.now(), sc.version()));
    return awaitRun(body);
  }

  /**
   * Reads the marker, retrying errors up to {@code spark.rollover.startupTimeout}. S3 is strongly
   * consistent and the action writes the marker before it submits the step, so "missing" is
   * final at once.
   */
  private MarkerBody readAtStartup() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(settings.startupTimeoutMs);
    long backoffMs = 1_000;
    for (int attempt = 1; ; attempt++) {
      byte[] body;
      try {
        body = io.call(store::readBody);
      } catch (InterruptedException e) {
        throw e;
      } catch (Exception e) {
        long leftMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (leftMs <= 0) {
          throw new RolloverException(
              "cannot read rollover marker " + store.uri() + " (" + attempt + " attempts over "
                  + settings.startupTimeoutMs + "ms, spark.rollover.startupTimeout): " + e
                  + accessHint(e) + ". Not starting.",
              e);
        }
        LOG.warn("cannot read rollover marker {} yet (attempt {}), will retry: {}", store.uri(),
            attempt, e.toString());
        Thread.sleep(Math.min(backoffMs, leftMs));
        backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
        continue;
      }
      if (body == null) throw new MarkerMissingException(store.uri());
      return MarkerBody.parse(body);
    }
  }

  private static String accessHint(Exception e) {
    String text = String.valueOf(e);
    if (!text.contains("403") && !text.contains("AccessDenied") && !text.contains("Access Denied")) {
      return "";
    }
    return " (S3 answers 403, not 404, for a missing object when the driver's role lacks"
        + " s3:ListBucket: grant it on the marker prefix)";
  }

  private void writeReady(ReadyReport ready) throws InterruptedException {
    try {
      io.call(
          () -> {
            store.writeReport(ReadyReport.SUFFIX, Json.bytes(ready.toJson()));
            return null;
          });
      LOG.info("wrote {}", store.reportUri(ReadyReport.SUFFIX));
    } catch (InterruptedException e) {
      throw e;
    } catch (Exception e) {
      // Best effort: the action then times out waiting for it and retires this driver.
      LOG.warn("cannot write {}: {}", store.reportUri(ReadyReport.SUFFIX), e.toString());
    }
  }

  /** Polls the marker's body until {@code mode: run}, its deletion, or the standby bound. */
  private Cleared awaitRun(MarkerBody standby) throws InterruptedException {
    long started = System.nanoTime();
    long deadline = started + TimeUnit.MILLISECONDS.toNanos(settings.standbyTimeoutMs);
    long failuresInARow = 0;
    while (true) {
      Thread.sleep(settings.standbyPollIntervalMs);
      try {
        byte[] body = io.call(store::readBody);
        failuresInARow = 0;
        if (body == null) {
          LOG.info("rollover marker {} deleted while standing by: retired without running",
              store.uri());
          return new Cleared(standby, true);
        }
        MarkerBody parsed = MarkerBody.parse(body);
        if (!parsed.standby()) {
          LOG.info("rollover marker {} says run after {}ms of standby: starting", store.uri(),
              TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
          return new Cleared(parsed, false);
        }
      } catch (InterruptedException e) {
        throw e;
      } catch (Exception e) {
        failuresInARow++;
        if (failuresInARow == 1 || failuresInARow % LOG_EVERY_N_FAILURES == 0) {
          LOG.warn("cannot read rollover marker {} while standing by ({} in a row), will retry: {}",
              store.uri(), failuresInARow, e.toString());
        }
      }
      if (System.nanoTime() >= deadline) {
        throw new RolloverException(
            "rollover marker " + store.uri() + " still says standby after "
                + settings.standbyTimeoutMs + "ms (spark.rollover.standbyTimeout): the rollover"
                + " that started this driver did not switch it to run. Not starting.");
      }
    }
  }
}
