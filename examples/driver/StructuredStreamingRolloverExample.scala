// The driver side of emr-streaming-rollover for Structured Streaming.
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
package example.structured

import java.io.IOException
import java.net.URI
import java.nio.charset.StandardCharsets
import java.time.Instant
import java.util.concurrent.{CountDownLatch, Executors, ThreadFactory, TimeUnit}
import java.util.concurrent.atomic.AtomicInteger

import scala.util.control.NonFatal

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.{FileSystem, Path}
import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.streaming.{StreamingQuery, Trigger}
import org.slf4j.LoggerFactory

object StructuredStreamingRolloverExample {
  private val log = LoggerFactory.getLogger(getClass)

  /** How long to wait for the batch in flight; keep it below the action's `stop-timeout`. */
  private val DrainTimeoutMs = TimeUnit.MINUTES.toMillis(5)

  def main(args: Array[String]): Unit = {
    val spark = SparkSession.builder().appName("structured-streaming-rollover-example").getOrCreate()
    val sc = spark.sparkContext
    val markerUri = RolloverMarker.uriFrom(sc.getConf.getOption("spark.rollover.marker"))
    val watcher = new RolloverMarker(markerUri, sc.hadoopConfiguration, pollSeconds = 5)
    watcher.requireAtStartup()

    val query = startQuery(spark, args)
    watcher.start()

    // awaitTermination(ms) rethrows the StreamingQueryException that stopped the query, so a
    // failing job still ends FAILED (and the rollover's verify/rollback sees it).
    var terminated = false
    while (!terminated && !watcher.awaitGone(1, TimeUnit.SECONDS)) {
      terminated = query.awaitTermination(1)
    }
    if (terminated) {
      watcher.close()
      throw new IllegalStateException("the query stopped, but the rollover marker still exists")
    }

    log.info(s"rollover marker $markerUri is gone: waiting for the batch in flight, then stopping")
    stopBetweenBatches(query)
    query.exception.foreach(e => throw e) // the query failed while draining: end FAILED

    val progress = Option(query.lastProgress)
    watcher.writeStopped(RolloverMarker.json(
      "stoppedAt" -> RolloverMarker.quote(Instant.now().toString),
      "lastBatchTime" -> progress.map(p => RolloverMarker.quote(p.timestamp)).getOrElse("null"),
      "batchId" -> progress.map(_.batchId.toString).getOrElse("null"),
      // SourceProgress.json carries description, startOffset, endOffset, numInputRows
      "sources" -> progress.map(_.sources.map(_.json).mkString("[", ",", "]")).getOrElse("[]"),
      "queryId" -> RolloverMarker.quote(query.id.toString),
      "applicationId" -> RolloverMarker.quote(sc.applicationId)))
    watcher.close()
    spark.stop()
    log.info("stopped for rollover")
    // return normally: exit status 0, YARN SUCCEEDED, EMR step COMPLETED
  }

  /**
   * query.stop() interrupts a running micro-batch. Nothing is lost if it does (the batch's
   * offsets are in the checkpoint's offset log, and the next driver re-runs that batch), but
   * waiting until no trigger is active avoids the re-run. isTriggerActive can also turn true
   * again just after we read it; the checkpoint makes that race harmless.
   * With several queries, do this for each of spark.streams.active.
   */
  private def stopBetweenBatches(query: StreamingQuery): Unit = {
    val deadline = System.currentTimeMillis() + DrainTimeoutMs
    while (query.isActive && query.status.isTriggerActive &&
        System.currentTimeMillis() < deadline) {
      Thread.sleep(100)
    }
    if (query.status.isTriggerActive) {
      log.warn(s"batch still running after ${DrainTimeoutMs / 1000}s: " +
        "stopping anyway, the next driver re-runs it")
    }
    query.stop()
  }

  /** Placeholder query: replace with your source and sink. The checkpoint is what makes a
   *  rollover lossless: the new driver must use the same checkpointLocation. */
  private def startQuery(spark: SparkSession, args: Array[String]): StreamingQuery = {
    val output = args.headOption.getOrElse("/tmp/rollover-example/output")
    val checkpoint = if (args.length > 1) args(1) else "/tmp/rollover-example/checkpoint"
    spark.readStream
      .format("rate") // Kafka: .format("kafka").option("kafka.bootstrap.servers", ...)
      .option("rowsPerSecond", "10")
      .load()
      .writeStream
      .format("parquet") // the file sink is exactly-once with its checkpoint
      .option("path", output)
      .option("checkpointLocation", checkpoint)
      .trigger(Trigger.ProcessingTime("30 seconds"))
      .start()
  }
}

/**
 * Watches the rollover marker with Hadoop's FileSystem (EMRFS for s3:// on EMR: no extra
 * dependency). Only a definite "does not exist" counts as a stop request; an exception (S3
 * throttling, a network blip, an expired token) is logged and the next check retries.
 */
final class RolloverMarker(markerUri: String, hadoopConf: Configuration, pollSeconds: Long)
    extends AutoCloseable {
  private val log = LoggerFactory.getLogger(getClass)
  private val path = new Path(markerUri)
  private val fs = FileSystem.get(new URI(markerUri), hadoopConf)
  private val gone = new CountDownLatch(1)
  private val failuresInARow = new AtomicInteger(0)
  private val scheduler = Executors.newSingleThreadScheduledExecutor(new ThreadFactory {
    override def newThread(r: Runnable): Thread = {
      val t = new Thread(r, "rollover-marker-watcher")
      t.setDaemon(true) // never keeps the JVM alive
      t
    }
  })

  /**
   * Fails fast when the marker is missing at startup. The action writes it before it submits the
   * step, and S3 is strongly consistent, so no grace period is needed. Missing means a wrong URI,
   * or a YARN re-attempt of a driver that a rollover already stopped: either way this driver
   * must not start processing. Transient errors are retried a few times first.
   */
  def requireAtStartup(): Unit = {
    var attempt = 1
    while (true) {
      try {
        if (fs.exists(path)) return
        throw new IllegalStateException(
          s"rollover marker $markerUri does not exist: this deployment was already stopped, " +
            "or the URI is wrong. Not starting.")
      } catch {
        case e: IOException if attempt < 5 =>
          log.warn(s"cannot check rollover marker $markerUri yet (attempt $attempt): $e")
          Thread.sleep(2000L * attempt)
          attempt += 1
      }
    }
  }

  def start(): Unit =
    scheduler.scheduleWithFixedDelay(() => check(), pollSeconds, pollSeconds, TimeUnit.SECONDS)

  /** True once the marker has been seen missing. Irreversible: a stop, once begun, completes. */
  def awaitGone(timeout: Long, unit: TimeUnit): Boolean = gone.await(timeout, unit)

  // Must never throw: a ScheduledExecutorService silently cancels a task that throws.
  private def check(): Unit =
    try {
      if (fs.exists(path)) failuresInARow.set(0)
      else {
        gone.countDown()
        scheduler.shutdown()
      }
    } catch {
      case NonFatal(e) =>
        val n = failuresInARow.incrementAndGet()
        log.warn(s"cannot check rollover marker $markerUri ($n in a row), will retry: $e")
    }

  /** The optional acknowledgement: `<marker>.stopped`. Best effort: EMR remains the authority. */
  def writeStopped(json: String): Unit =
    try {
      val out = fs.create(new Path(markerUri + ".stopped"), true)
      try out.write(json.getBytes(StandardCharsets.UTF_8))
      finally out.close()
    } catch {
      case NonFatal(e) => log.warn(s"could not write $markerUri.stopped: $e")
    }

  override def close(): Unit = scheduler.shutdownNow()
}

object RolloverMarker {
  /** `spark.rollover.marker`, or the ROLLOVER_MARKER env var (set by the action for the AM). */
  def uriFrom(conf: Option[String]): String =
    conf
      .orElse(sys.env.get("ROLLOVER_MARKER"))
      .map(_.trim)
      .filter(_.nonEmpty)
      .getOrElse(throw new IllegalArgumentException(
        "no rollover marker: pass --conf spark.rollover.marker=s3://bucket/key " +
          "(the emr-streaming-rollover action does)"))

  /** A JSON object from already-encoded values. */
  def json(fields: (String, String)*): String =
    fields.map { case (k, v) => quote(k) + ":" + v }.mkString("{", ",", "}")

  def quote(s: String): String = "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\""
}
