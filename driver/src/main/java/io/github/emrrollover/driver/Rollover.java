package io.github.emrrollover.driver;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryException;
import org.apache.spark.streaming.StreamingContext;
import org.apache.spark.streaming.StreamingContextState;
import org.apache.spark.streaming.api.java.JavaStreamingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * The driver's side of the emr-streaming-rollover contract, in a few lines of {@code main}.
 *
 * <pre>{@code
 * // Structured Streaming (Scala; Java reads the same)
 * val rollover = Rollover.start(spark)    // refuses a missing marker; waits out a standby
 * if (rollover.retired) return            // the rollover retired this standby driver
 * val query = df.writeStream.option("checkpointLocation", ...).start()
 * rollover.awaitStop(query)               // runs until the marker is deleted, then drains and stops
 *
 * // DStreams
 * val rollover = Rollover.start(sc)       // before getOrCreate reads the checkpoint
 * if (rollover.retired) return
 * val ssc = StreamingContext.getOrCreate(checkpointDir, () => createContext(sc))
 * rollover.awaitStop(ssc)                 // starts ssc if needed; stops it gracefully
 * }</pre>
 *
 * <p>The marker's URI comes from {@code spark.rollover.marker} (or the {@code ROLLOVER_MARKER}
 * environment variable), which the action passes to spark-submit. While the marker exists the
 * driver runs; a daemon thread checks it every {@code spark.rollover.pollInterval}, and only a
 * definite "does not exist" asks it to stop (errors are logged and retried). The driver reports
 * next to the marker: {@code .progress} after committed batches, {@code .ready} in standby,
 * {@code .stopped} once stopped. Report writes are best effort: they never fail the stream.
 *
 * <p>Never call {@code System.exit} after a rollover stop: return from {@code main}, so the YARN
 * application ends SUCCEEDED and the EMR step COMPLETED.
 */
public final class Rollover implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Rollover.class);

  private final RolloverSettings settings;
  private final SparkContext sc;
  private final MarkerStore store;
  private final BoundedIo io;
  private final MarkerWatcher watcher;
  private final ProgressPublisher publisher;
  private final ReportContext context;
  private final boolean retired;
  private final AtomicBoolean stopping = new AtomicBoolean();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final QueryListeners queryListeners;
  private final StopReporter stopReporter;
  private volatile String api;
  private volatile StructuredStop structuredStop;

  private Rollover(
      RolloverSettings settings,
      SparkContext sc,
      SparkSession spark,
      MarkerStore store,
      BoundedIo io,
      Startup.Cleared cleared,
      BatchReport inheritedFirstBatch) {
    this.settings = settings;
    this.sc = sc;
    this.store = store;
    this.io = io;
    this.retired = cleared.retired();
    this.api = spark != null ? "structured-streaming" : "dstreams";
    this.context =
        new ReportContext(
            cleared.body().deploymentId(), sc.applicationId(), Instant.now(),
            settings.triggerIntervalMs, inheritedFirstBatch);
    this.watcher = new MarkerWatcher(store, settings.pollIntervalMs, settings.ioTimeoutMs);
    this.publisher = new ProgressPublisher(store, settings.progressIntervalMs);
    this.queryListeners = new QueryListeners(new QueryProgressTracker(context, publisher));
    this.stopReporter = new StopReporter(store, io, publisher, context);
    if (retired) {
      watcher.markGone();
    } else {
      watcher.start();
      if (spark != null) queryListeners.register(spark);
    }
  }

  /**
   * Starts the contract for a Structured Streaming application: call it before any query starts.
   * Reads the settings from {@code spark.conf}.
   *
   * @throws MarkerMissingException when the marker does not exist (do not start the query)
   * @throws RolloverException when the marker cannot be read within
   *     {@code spark.rollover.startupTimeout}, or a standby lasted past
   *     {@code spark.rollover.standbyTimeout}, or no marker is configured
   * @throws InterruptedException when the calling thread is interrupted while it waits
   */
  public static Rollover start(SparkSession spark) throws InterruptedException {
    Map<String, String> conf = new HashMap<>();
    scala.collection.Iterator<Tuple2<String, String>> all = spark.conf().getAll().iterator();
    while (all.hasNext()) {
      Tuple2<String, String> entry = all.next();
      conf.put(entry._1(), entry._2());
    }
    return begin(spark.sparkContext(), spark, RolloverSettings.from(conf, System.getenv()));
  }

  /**
   * Starts the contract for a DStreams application: call it after the SparkContext exists and
   * before {@code StreamingContext.getOrCreate} reads the checkpoint. Reads the settings from
   * the SparkConf. Throws as {@link #start(SparkSession)} does.
   */
  public static Rollover start(SparkContext sc) throws InterruptedException {
    Map<String, String> conf = new HashMap<>();
    SparkConf sparkConf = sc.getConf();
    for (Tuple2<String, String> entry : sparkConf.getAll()) conf.put(entry._1(), entry._2());
    return begin(sc, null, RolloverSettings.from(conf, System.getenv()));
  }

  /** {@link #start(SparkContext)} for Java's {@code JavaSparkContext}. */
  public static Rollover start(JavaSparkContext jsc) throws InterruptedException {
    return start(jsc.sc());
  }

  static Rollover begin(SparkContext sc, SparkSession spark, RolloverSettings settings)
      throws InterruptedException {
    MarkerStore store = MarkerStore.open(settings.markerUri, sc.hadoopConfiguration());
    BoundedIo io = new BoundedIo("rollover-io", settings.ioTimeoutMs);
    Startup.Cleared cleared;
    BatchReport inheritedFirstBatch = null;
    try {
      cleared = new Startup(store, io, settings).clear(sc);
      if (!cleared.retired()) {
        inheritedFirstBatch =
            EarlierAttempt.firstBatch(store, io, cleared.body().deploymentId(), sc.applicationId());
      }
    } catch (RuntimeException | InterruptedException e) {
      io.close();
      throw e;
    }
    Rollover rollover = new Rollover(settings, sc, spark, store, io, cleared, inheritedFirstBatch);
    if (rollover.retired) {
      rollover.stopReporter.retired(rollover.api);
      rollover.close();
    } else {
      LOG.info("rollover marker {} present: this driver may run", settings.markerUri);
    }
    return rollover;
  }

  /**
   * True when this driver was started in standby and the rollover retired it (deleted its
   * marker) before it was allowed to run: return from {@code main} without starting anything.
   */
  public boolean retired() {
    return retired;
  }

  /** True once the marker has been seen gone: the driver is asked to stop. */
  public boolean stopRequested() {
    return watcher.gone();
  }

  /** The marker this driver watches. */
  public String markerUri() {
    return store.uri();
  }

  /**
   * Blocks until the marker is deleted, then lets the batch in flight commit (at most
   * {@code spark.rollover.drainTimeout}), stops the query, writes {@code .stopped} and returns.
   * Does not stop the SparkSession: return from {@code main}.
   *
   * @throws StreamingQueryException when the query fails (before or during the stop)
   * @throws RolloverException when the query ends by itself while the marker still exists
   */
  public void awaitStop(StreamingQuery query) throws StreamingQueryException, InterruptedException {
    beginStop();
    api = "structured-streaming";
    QueryProgressTracker tracker = queryListeners.follow(query);
    if (retired) {
      try {
        query.stop();
      } catch (java.util.concurrent.TimeoutException e) {
        LOG.error("query {} did not stop: {}", query.id(), e.toString());
      }
      throw retiredMisuse();
    }
    try {
      while (!watcher.awaitGone(500, TimeUnit.MILLISECONDS)) {
        if (query.awaitTermination(1)) {
          throw new RolloverException(
              "query " + query.id() + " ended while rollover marker " + store.uri()
                  + " still exists: it was stopped by something other than a rollover");
        }
      }
    } catch (Throwable e) { // rethrown as is: StreamingQueryException, interrupt, error
      close();
      throw e;
    }
    long drainDeadline = watcher.goneAtNanos() + TimeUnit.MILLISECONDS.toNanos(settings.drainTimeoutMs);
    CheckpointLog checkpoint = CheckpointLog.of(query, sc.hadoopConfiguration(), io);
    structuredStop = new StructuredStop(query, tracker, checkpoint);
    StructuredStop.Outcome outcome = structuredStop.stop(drainDeadline);
    boolean failed = query.exception().isDefined();
    writeStopped(outcome.batchId(), outcome.sources(), outcome.graceful() && !failed);
    close();
    if (failed) throw query.exception().get();
  }

  /**
   * Starts the StreamingContext if it is not started yet, blocks until the marker is deleted,
   * then stops it gracefully with its SparkContext (bounded by
   * {@code spark.rollover.drainTimeout}), writes {@code .stopped} and returns.
   *
   * @throws RolloverException when the context stops by itself while the marker still exists
   */
  public void awaitStop(StreamingContext ssc) throws InterruptedException {
    beginStop();
    api = "dstreams";
    DStreamProgressTracker tracker =
        new DStreamProgressTracker(context, publisher, batchInterval(ssc));
    if (retired) {
      ssc.stop(true, false);
      throw retiredMisuse();
    }
    ssc.addStreamingListener(tracker);
    if (ssc.getState() == StreamingContextState.INITIALIZED) ssc.start();
    try {
      while (!watcher.awaitGone(500, TimeUnit.MILLISECONDS)) {
        if (ssc.awaitTerminationOrTimeout(1)) {
          throw new RolloverException(
              "the StreamingContext stopped while rollover marker " + store.uri()
                  + " still exists: it was stopped by something other than a rollover");
        }
      }
    } catch (Throwable e) { // rethrown as is: the stream's error, or an interrupt
      tracker.close();
      close();
      throw e;
    }
    long drainDeadline = watcher.goneAtNanos() + TimeUnit.MILLISECONDS.toNanos(settings.drainTimeoutMs);
    boolean graceful = DStreamStop.stop(ssc, drainDeadline);
    tracker.close();
    BatchReport last = tracker.last();
    List<SourceReport> sources =
        last == null
            ? List.of()
            : last.sources().stream()
                .map(s -> new SourceReport(s.description(), s.startOffset(), s.endOffset(), null))
                .toList();
    writeStopped(last == null ? null : last.batchId(), sources, graceful);
    close();
  }

  /** {@link #awaitStop(StreamingContext)} for Java's {@code JavaStreamingContext}. */
  public void awaitStop(JavaStreamingContext ssc) throws InterruptedException {
    awaitStop(ssc.ssc());
  }

  /**
   * Stops watching and reporting, without writing {@code .stopped}. {@code awaitStop} does this
   * itself; call it only when {@code main} gives up before {@code awaitStop}.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) return;
    watcher.close();
    queryListeners.close();
    publisher.close();
    io.close();
  }

  private void beginStop() {
    if (!stopping.compareAndSet(false, true)) {
      throw new IllegalStateException("awaitStop may be called once per Rollover");
    }
  }

  private IllegalStateException retiredMisuse() {
    close();
    return new IllegalStateException(
        "this driver was retired in standby (Rollover.retired() is true): return from main"
            + " without starting anything; stopped what was started");
  }

  private Long batchInterval(StreamingContext ssc) {
    try {
      // An internal member: the only place the batch interval lives once getOrCreate recovered.
      return ssc.graph().batchDuration().milliseconds();
    } catch (LinkageError | RuntimeException e) {
      return settings.triggerIntervalMs;
    }
  }

  private void writeStopped(Long batchId, List<SourceReport> sources, boolean graceful)
      throws InterruptedException {
    long drainMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - watcher.goneAtNanos());
    stopReporter.stopped(api, batchId, sources, graceful, drainMs);
  }

  // For tests in this package.
  Long drainWaitingFor() {
    StructuredStop stop = structuredStop;
    return stop == null ? null : stop.waitingFor();
  }

}
