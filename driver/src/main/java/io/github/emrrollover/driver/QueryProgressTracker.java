package io.github.emrrollover.driver;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.spark.sql.streaming.SourceProgress;
import org.apache.spark.sql.streaming.StreamingQueryListener;
import org.apache.spark.sql.streaming.StreamingQueryProgress;

/**
 * Follows one Structured Streaming query's committed batches and publishes {@code .progress}.
 * Spark posts a progress event only after a batch's commit is in the checkpoint (3.5:
 * {@code finishTrigger} runs after {@code markMicroBatchEnd}), so each event is a committed
 * batch. Events arrive on Spark's listener bus thread: this never blocks it.
 */
final class QueryProgressTracker extends StreamingQueryListener {
  private final ReportContext context;
  private final ProgressPublisher publisher;

  // Guarded by this.
  private UUID followed;
  private BatchReport first;
  private BatchReport last;
  private String queryName;
  private long commits;
  private boolean closed;

  QueryProgressTracker(ReportContext context, ProgressPublisher publisher) {
    this.context = context;
    this.publisher = publisher;
  }

  /** Reports this query from now on (by default: the first query that commits a batch). */
  synchronized void follow(UUID queryId) {
    if (queryId.equals(followed)) return;
    followed = queryId;
    first = null;
    last = null;
    commits = 0;
  }

  synchronized long commits() {
    return commits;
  }

  /** The last committed batch seen in events, or -1. */
  synchronized long lastCommittedBatchId() {
    return last == null ? -1 : last.batchId();
  }

  /** The descriptions of the followed query's sources, in Spark's order; empty if unknown. */
  synchronized List<String> sourceDescriptions() {
    List<String> descriptions = new ArrayList<>();
    if (last != null) for (SourceReport s : last.sources()) descriptions.add(s.description());
    return descriptions;
  }

  /** Waits until a batch with at least this id is seen committed, or the bound passes. */
  synchronized boolean awaitCommitted(long batchId, long timeoutMs) throws InterruptedException {
    long deadline = System.nanoTime() + timeoutMs * 1_000_000;
    while (lastCommittedBatchId() < batchId) {
      long left = (deadline - System.nanoTime()) / 1_000_000;
      if (left <= 0) return false;
      wait(left);
    }
    return true;
  }

  /** After this, late events (Spark delivers them after stop() too) change nothing. */
  synchronized void close() {
    closed = true;
    notifyAll();
  }

  @Override
  public void onQueryStarted(QueryStartedEvent event) {}

  @Override
  public void onQueryProgress(QueryProgressEvent event) {
    StreamingQueryProgress progress = event.progress();
    // Defensive: Spark before 3.5 also posted progress for triggers that ran no batch.
    if (progress.numInputRows() == 0 && !progress.durationMs().containsKey("addBatch")) return;
    ProgressReport report;
    synchronized (this) {
      if (closed) return;
      if (followed == null) followed = progress.id();
      if (!followed.equals(progress.id())) return;
      BatchReport batch = batch(progress);
      if (first == null) first = batch;
      last = batch;
      queryName = progress.name();
      commits++;
      notifyAll();
      report =
          new ProgressReport(
              "structured-streaming",
              context.deploymentId(),
              context.applicationId(),
              queryName,
              followed.toString(),
              context.startedAt(),
              last,
              context.firstBatch(first),
              context.triggerIntervalMs());
    }
    publisher.publish(report);
  }

  @Override
  public void onQueryTerminated(QueryTerminatedEvent event) {}

  static BatchReport batch(StreamingQueryProgress progress) {
    List<SourceReport> sources = new ArrayList<>();
    for (SourceProgress source : progress.sources()) {
      sources.add(
          new SourceReport(
              source.description(),
              Json.offset(source.startOffset()),
              Json.offset(source.endOffset()),
              source.numInputRows()));
    }
    return new BatchReport(
        progress.batchId(),
        committedAt(progress),
        List.copyOf(sources),
        progress.numInputRows(),
        progress.inputRowsPerSecond(),
        progress.processedRowsPerSecond(),
        progress.batchDuration());
  }

  /** The trigger's start plus its duration: the commit is its last step. */
  private static Instant committedAt(StreamingQueryProgress progress) {
    try {
      return Instant.parse(progress.timestamp()).plusMillis(progress.batchDuration());
    } catch (DateTimeParseException | NullPointerException e) {
      return Instant.now();
    }
  }
}
