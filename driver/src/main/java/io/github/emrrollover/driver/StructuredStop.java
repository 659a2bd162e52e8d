package io.github.emrrollover.driver;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryProgress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops a Structured Streaming query for a rollover: lets the batch in flight commit (bounded),
 * stops the query, and reads what the checkpoint holds as committed.
 *
 * <p>"In flight" is read from the checkpoint: a batch is planned ({@code offsets/N}) but not
 * committed ({@code commits/N}). {@code status.isTriggerActive} cannot tell: with the default
 * trigger it is almost never false. Only that batch is waited for; the next one, which Spark may
 * plan at once, is interrupted by {@code stop()} and re-run from the checkpoint by the next
 * driver, which is exactly-once for a checkpointed sink and shows as neither a gap nor an
 * overlap, since {@code .stopped} reports the last commit.
 */
final class StructuredStop {
  private static final Logger LOG = LoggerFactory.getLogger(StructuredStop.class);
  /** How long to wait for query.stop() after the drain (Spark's own bound is off by default). */
  static final long STOP_WAIT_MS = 60_000;
  private static final long CHECKPOINT_POLL_MS = 1_000;

  private final StreamingQuery query;
  private final QueryProgressTracker tracker;
  private final CheckpointLog checkpoint;
  private volatile Long waitingFor;

  StructuredStop(StreamingQuery query, QueryProgressTracker tracker, CheckpointLog checkpoint) {
    this.query = query;
    this.tracker = tracker;
    this.checkpoint = checkpoint;
  }

  /** What happened, for {@code .stopped}. */
  record Outcome(Long batchId, List<SourceReport> sources, boolean graceful) {}

  Outcome stop(long drainDeadlineNanos) throws InterruptedException {
    boolean drained = drain(drainDeadlineNanos);
    boolean stopped = stopQuery();
    Outcome committed = committed();
    return new Outcome(committed.batchId(), committed.sources(), drained && stopped);
  }

  /** The batch the drain waits for, once it waits (for tests and logs). */
  Long waitingFor() {
    return waitingFor;
  }

  /** @return false when the bound was hit with the batch still in flight */
  private boolean drain(long deadlineNanos) throws InterruptedException {
    Long inFlight = batchInFlight();
    if (inFlight == null) {
      LOG.info("no batch in flight: stopping the query now");
      return true;
    }
    LOG.info("waiting for batch {} to commit before stopping the query", inFlight);
    waitingFor = inFlight;
    long commitsAtStart = tracker.commits();
    long nextCheckpointRead = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CHECKPOINT_POLL_MS);
    while (query.isActive()) {
      long leftMs = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
      if (leftMs <= 0) {
        LOG.warn("batch {} still running at spark.rollover.drainTimeout: stopping anyway; the next"
            + " driver re-runs it from the checkpoint", inFlight < 0 ? "(unknown)" : inFlight);
        return false;
      }
      // Events usually tell first; the checkpoint is the backstop (events can lag or be dropped).
      boolean seen =
          inFlight >= 0
              ? tracker.awaitCommitted(inFlight, Math.min(leftMs, CHECKPOINT_POLL_MS))
              : awaitAnyCommit(commitsAtStart, Math.min(leftMs, CHECKPOINT_POLL_MS));
      if (seen) return true;
      if (inFlight >= 0 && System.nanoTime() >= nextCheckpointRead) {
        nextCheckpointRead = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CHECKPOINT_POLL_MS);
        OptionalLong committed = readLatestCommitted();
        if (committed.isPresent() && committed.getAsLong() >= inFlight) return true;
      }
    }
    return true; // the query ended by itself (an error is rethrown by the caller)
  }

  /**
   * The batch planned but not committed; null when none; -1 when the checkpoint cannot be read and
   * the query's status says a trigger is running (then any next commit ends the drain).
   */
  private Long batchInFlight() {
    if (checkpoint != null) {
      try {
        OptionalLong planned = checkpoint.latestPlanned();
        OptionalLong committed = checkpoint.latestCommitted();
        if (planned.isEmpty()) return null;
        if (committed.isPresent() && committed.getAsLong() >= planned.getAsLong()) return null;
        return planned.getAsLong();
      } catch (IOException e) {
        LOG.warn("cannot read checkpoint {} to find the batch in flight: {}", checkpoint.root(),
            e.toString());
      }
    }
    return query.status().isTriggerActive() ? -1L : null;
  }

  private boolean awaitAnyCommit(long commitsAtStart, long timeoutMs) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (tracker.commits() <= commitsAtStart) {
      if (System.nanoTime() >= deadline) return false;
      Thread.sleep(50);
    }
    return true;
  }

  private OptionalLong readLatestCommitted() {
    try {
      return checkpoint.latestCommitted();
    } catch (IOException e) {
      return OptionalLong.empty();
    }
  }

  /**
   * {@code query.stop()} on a helper thread, waited for with a bound: Spark's own bound
   * ({@code spark.sql.streaming.stopTimeout}) is off by default, and a stream thread stuck in
   * storage would keep {@code main} from ever returning.
   */
  private boolean stopQuery() throws InterruptedException {
    Throwable[] failure = new Throwable[1];
    Thread stopper =
        new Thread(
            () -> {
              try {
                query.stop();
              } catch (Throwable t) { // TimeoutException when stopTimeout is set, among others
                failure[0] = t;
              }
            },
            "rollover-query-stop");
    stopper.setDaemon(true);
    stopper.start();
    stopper.join(STOP_WAIT_MS);
    if (stopper.isAlive()) {
      LOG.error("query {} did not stop within {}ms; reporting what the checkpoint holds now",
          query.id(), STOP_WAIT_MS);
      return false;
    }
    if (failure[0] != null) {
      LOG.error("stopping query {} failed: {}", query.id(), failure[0].toString());
      return false;
    }
    return true;
  }

  /** The last committed batch and its offsets: from the checkpoint, else from the query. */
  private Outcome committed() {
    List<String> descriptions = sourceDescriptions();
    if (checkpoint != null) {
      try {
        OptionalLong committed = checkpoint.latestCommitted();
        if (committed.isEmpty()) return new Outcome(null, List.of(), true);
        long batchId = committed.getAsLong();
        List<String> end = checkpoint.offsets(batchId);
        List<String> start = batchId > 0 ? checkpoint.offsets(batchId - 1) : null;
        if (end != null) return new Outcome(batchId, sources(descriptions, start, end), true);
        LOG.warn("checkpoint {} has commit {} but not its offsets", checkpoint.root(), batchId);
      } catch (IOException e) {
        LOG.warn("cannot read checkpoint {}: reporting the query's last progress instead: {}",
            checkpoint.root(), e.toString());
      }
    }
    // Synchronous with the stream thread (unlike events): complete once stop() returned, except
    // for a commit that stop() interrupted before Spark recorded its progress.
    StreamingQueryProgress last = null;
    for (StreamingQueryProgress p : query.recentProgress()) {
      if (p.numInputRows() > 0 || p.durationMs().containsKey("addBatch")) last = p;
    }
    if (last == null) return new Outcome(null, List.of(), true);
    List<SourceReport> sources = new ArrayList<>();
    for (SourceReport s : QueryProgressTracker.batch(last).sources()) {
      sources.add(new SourceReport(s.description(), s.startOffset(), s.endOffset(), null));
    }
    return new Outcome(last.batchId(), List.copyOf(sources), true);
  }

  private List<String> sourceDescriptions() {
    List<String> descriptions = tracker.sourceDescriptions();
    if (!descriptions.isEmpty()) return descriptions;
    StreamingQueryProgress last = query.lastProgress();
    if (last != null) for (var s : last.sources()) descriptions.add(s.description());
    return descriptions;
  }

  private static List<SourceReport> sources(
      List<String> descriptions, List<String> start, List<String> end) {
    List<SourceReport> sources = new ArrayList<>();
    for (int i = 0; i < end.size(); i++) {
      // Progress lists sources.distinct; the offset log lists every source: match by position
      // only when the counts agree.
      String description =
          descriptions.size() == end.size() ? descriptions.get(i) : "source-" + i;
      String startText = start != null && start.size() == end.size() ? start.get(i) : null;
      sources.add(
          new SourceReport(description, Json.offset(startText), Json.offset(end.get(i)), null));
    }
    return List.copyOf(sources);
  }
}
