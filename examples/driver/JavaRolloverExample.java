// The driver side of emr-streaming-rollover for Structured Streaming, in Java (8 or later).
//
// Contract (see examples/driver/README.md):
//   * the action writes an S3 object, the "marker", before it submits this application, and
//     passes its URI as `--conf spark.rollover.marker=s3://...` (and as the env var
//     ROLLOVER_MARKER in the application master);
//   * this driver checks every few seconds that the marker still exists; when it is gone it
//     waits for the micro-batch in flight to finish, stops the query, writes
//     `<marker>.stopped`, and returns from main, so the YARN application ends SUCCEEDED and the
//     EMR step COMPLETED. The next driver resumes from the same checkpoint.
//
// Submit settings to pass in the action's `spark-submit-args` (they cannot be set from code:
// in cluster mode the application master already exists when main() runs):
//   --conf spark.yarn.maxAppAttempts=1
//       YARN must not start a second attempt of a driver that the rollover stopped or that
//       failed while stopping: that attempt would run next to the new deployment (two drivers
//       on one checkpoint) and keep the old EMR step RUNNING. A clean return from main is never
//       retried; a crash or System.exit is.
//   --conf spark.yarn.am.attemptFailuresValidityInterval=1h   (only if you keep attempts > 1)
//       If you want YARN to restart the driver after a crash in normal operation, keep
//       spark.yarn.maxAppAttempts=2 (or more) and set this interval, so that only failures
//       within the last hour count. The startup check below then protects the rollover: a new
//       attempt whose marker was already deleted exits before it processes anything.
//
// Never call System.exit in a YARN cluster-mode driver: the ApplicationMaster then reports the
// application as FAILED ("Shutdown hook called before final status was reported", exit 16),
// and it may be retried. Return from main instead.
package example;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.StringJoiner;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.SourceProgress;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryProgress;
import org.apache.spark.sql.streaming.Trigger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class JavaRolloverExample {
  private static final Logger LOG = LoggerFactory.getLogger(JavaRolloverExample.class);

  /** How long to wait for the batch in flight; keep it below the action's `stop-timeout`. */
  private static final long DRAIN_TIMEOUT_MS = TimeUnit.MINUTES.toMillis(5);

  public static void main(String[] args) throws Exception {
    SparkSession spark =
        SparkSession.builder().appName("java-rollover-example").getOrCreate();
    String markerUri =
        RolloverMarker.uriFrom(spark.sparkContext().getConf().get("spark.rollover.marker", null));
    RolloverMarker watcher =
        new RolloverMarker(markerUri, spark.sparkContext().hadoopConfiguration(), 5);
    watcher.requireAtStartup();

    StreamingQuery query = startQuery(spark, args);
    watcher.start();

    // awaitTermination(ms) rethrows the StreamingQueryException that stopped the query, so a
    // failing job still ends FAILED (and the rollover's verify/rollback sees it).
    boolean terminated = false;
    while (!terminated && !watcher.awaitGone(1, TimeUnit.SECONDS)) {
      terminated = query.awaitTermination(1);
    }
    if (terminated) {
      watcher.close();
      throw new IllegalStateException("the query stopped, but the rollover marker still exists");
    }

    LOG.info("rollover marker {} is gone: waiting for the batch in flight, then stopping",
        markerUri);
    stopBetweenBatches(query);
    if (query.exception().isDefined()) {
      throw query.exception().get(); // the query failed while draining: end FAILED
    }

    StreamingQueryProgress progress = query.lastProgress(); // null if no batch ever ran
    StringJoiner sources = new StringJoiner(",", "[", "]");
    if (progress != null) {
      for (SourceProgress source : progress.sources()) {
        sources.add(source.json()); // description, startOffset, endOffset, numInputRows
      }
    }
    watcher.writeStopped(
        "{\"stoppedAt\":" + quote(Instant.now().toString())
            + ",\"lastBatchTime\":" + (progress == null ? "null" : quote(progress.timestamp()))
            + ",\"batchId\":" + (progress == null ? "null" : Long.toString(progress.batchId()))
            + ",\"sources\":" + sources
            + ",\"queryId\":" + quote(query.id().toString())
            + ",\"applicationId\":" + quote(spark.sparkContext().applicationId())
            + "}");
    watcher.close();
    spark.stop();
    LOG.info("stopped for rollover");
    // return normally: exit status 0, YARN SUCCEEDED, EMR step COMPLETED
  }

  /**
   * query.stop() interrupts a running micro-batch. Nothing is lost if it does (the batch's
   * offsets are in the checkpoint's offset log, and the next driver re-runs that batch), but
   * waiting until no trigger is active avoids the re-run. isTriggerActive can also turn true
   * again just after we read it; the checkpoint makes that race harmless.
   * With several queries, do this for each of spark.streams().active().
   */
  private static void stopBetweenBatches(StreamingQuery query) throws Exception {
    long deadline = System.currentTimeMillis() + DRAIN_TIMEOUT_MS;
    while (query.isActive()
        && query.status().isTriggerActive()
        && System.currentTimeMillis() < deadline) {
      Thread.sleep(100);
    }
    if (query.status().isTriggerActive()) {
      LOG.warn("batch still running after {}s: stopping anyway, the next driver re-runs it",
          DRAIN_TIMEOUT_MS / 1000);
    }
    query.stop();
  }

  /**
   * Placeholder query: replace with your source and sink. The checkpoint is what makes a
   * rollover lossless: the new driver must use the same checkpointLocation.
   */
  private static StreamingQuery startQuery(SparkSession spark, String[] args) throws Exception {
    String output = args.length > 0 ? args[0] : "/tmp/rollover-example/output";
    String checkpoint = args.length > 1 ? args[1] : "/tmp/rollover-example/checkpoint";
    return spark.readStream()
        .format("rate") // Kafka: .format("kafka").option("kafka.bootstrap.servers", ...)
        .option("rowsPerSecond", "10")
        .load()
        .writeStream()
        .format("parquet") // the file sink is exactly-once with its checkpoint
        .option("path", output)
        .option("checkpointLocation", checkpoint)
        .trigger(Trigger.ProcessingTime("30 seconds"))
        .start();
  }

  static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  /**
   * Watches the rollover marker with Hadoop's FileSystem (EMRFS for s3:// on EMR: no extra
   * dependency). Only a definite "does not exist" counts as a stop request; an exception (S3
   * throttling, a network blip, an expired token) is logged and the next check retries.
   */
  static final class RolloverMarker implements AutoCloseable {
    private final String markerUri;
    private final Path path;
    private final FileSystem fs;
    private final long pollSeconds;
    private final CountDownLatch gone = new CountDownLatch(1);
    private final AtomicInteger failuresInARow = new AtomicInteger();
    private final ScheduledExecutorService scheduler =
        Executors.newSingleThreadScheduledExecutor(runnable -> {
          Thread thread = new Thread(runnable, "rollover-marker-watcher");
          thread.setDaemon(true); // never keeps the JVM alive
          return thread;
        });

    RolloverMarker(String markerUri, Configuration hadoopConf, long pollSeconds)
        throws IOException {
      this.markerUri = markerUri;
      this.path = new Path(markerUri);
      this.fs = FileSystem.get(URI.create(markerUri), hadoopConf);
      this.pollSeconds = pollSeconds;
    }

    /** `spark.rollover.marker`, or the ROLLOVER_MARKER env var (set by the action for the AM). */
    static String uriFrom(String conf) {
      String uri = conf != null ? conf : System.getenv("ROLLOVER_MARKER");
      if (uri == null || uri.trim().isEmpty()) {
        throw new IllegalArgumentException("no rollover marker: pass --conf "
            + "spark.rollover.marker=s3://bucket/key (the emr-streaming-rollover action does)");
      }
      return uri.trim();
    }

    /**
     * Fails fast when the marker is missing at startup. The action writes it before it submits
     * the step, and S3 is strongly consistent, so no grace period is needed. Missing means a
     * wrong URI, or a YARN re-attempt of a driver that a rollover already stopped: either way
     * this driver must not start processing. Transient errors are retried a few times first.
     */
    void requireAtStartup() throws IOException, InterruptedException {
      for (int attempt = 1; ; attempt++) {
        try {
          if (fs.exists(path)) {
            return;
          }
          throw new IllegalStateException("rollover marker " + markerUri + " does not exist: "
              + "this deployment was already stopped, or the URI is wrong. Not starting.");
        } catch (IOException e) {
          if (attempt >= 5) {
            throw e;
          }
          LOG.warn("cannot check rollover marker {} yet (attempt {}): {}", markerUri, attempt,
              e.toString());
          Thread.sleep(2000L * attempt);
        }
      }
    }

    void start() {
      scheduler.scheduleWithFixedDelay(this::check, pollSeconds, pollSeconds, TimeUnit.SECONDS);
    }

    /** True once the marker has been seen missing. Irreversible: a stop, once begun, completes. */
    boolean awaitGone(long timeout, TimeUnit unit) throws InterruptedException {
      return gone.await(timeout, unit);
    }

    // Must never throw: a ScheduledExecutorService silently cancels a task that throws.
    private void check() {
      try {
        if (fs.exists(path)) {
          failuresInARow.set(0);
        } else {
          gone.countDown();
          scheduler.shutdown();
        }
      } catch (Exception e) {
        LOG.warn("cannot check rollover marker {} ({} in a row), will retry: {}", markerUri,
            failuresInARow.incrementAndGet(), e.toString());
      }
    }

    /** The optional acknowledgement: `<marker>.stopped`. Best effort: EMR remains the authority. */
    void writeStopped(String json) {
      try (OutputStream out = fs.create(new Path(markerUri + ".stopped"), true)) {
        out.write(json.getBytes(StandardCharsets.UTF_8));
      } catch (Exception e) {
        LOG.warn("could not write {}.stopped: {}", markerUri, e.toString());
      }
    }

    @Override
    public void close() {
      scheduler.shutdownNow();
    }
  }
}
