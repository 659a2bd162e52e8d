package io.github.emrrollover.driver;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.streaming.scheduler.BatchInfo;
import org.apache.spark.streaming.scheduler.OutputOperationInfo;
import org.apache.spark.streaming.scheduler.StreamInputInfo;
import org.apache.spark.streaming.scheduler.StreamingListener;
import org.apache.spark.streaming.scheduler.StreamingListenerBatchCompleted;
import scala.Option;
import scala.Tuple2;

/**
 * Follows a StreamingContext's completed batches and publishes {@code .progress}. A batch's id is
 * its batch time in milliseconds; each input stream is a source ({@code input-<id>}), with offsets
 * when its metadata has Kafka-style ranges. A batch whose output failed is not counted.
 */
final class DStreamProgressTracker implements StreamingListener {
  private final ReportContext context;
  private final ProgressPublisher publisher;
  private final Long batchIntervalMs;

  // Guarded by this.
  private BatchReport first;
  private BatchReport last;
  private boolean closed;

  DStreamProgressTracker(ReportContext context, ProgressPublisher publisher, Long batchIntervalMs) {
    this.context = context;
    this.publisher = publisher;
    this.batchIntervalMs = batchIntervalMs;
  }

  synchronized BatchReport last() {
    return last;
  }

  synchronized void close() {
    closed = true;
  }

  @Override
  public void onBatchCompleted(StreamingListenerBatchCompleted event) {
    BatchInfo info = event.batchInfo();
    if (failed(info)) return;
    ProgressReport report;
    synchronized (this) {
      if (closed) return;
      BatchReport batch = batch(info, batchIntervalMs);
      if (first == null) first = batch;
      last = batch;
      report =
          new ProgressReport(
              "dstreams",
              context.deploymentId(),
              context.applicationId(),
              null,
              null,
              context.startedAt(),
              last,
              context.firstBatch(first),
              batchIntervalMs);
    }
    publisher.publish(report);
  }

  private static boolean failed(BatchInfo info) {
    scala.collection.Iterator<OutputOperationInfo> ops = info.outputOperationInfos().valuesIterator();
    while (ops.hasNext()) if (ops.next().failureReason().isDefined()) return true;
    return false;
  }

  static BatchReport batch(BatchInfo info, Long batchIntervalMs) {
    List<SourceReport> sources = new ArrayList<>();
    scala.collection.Iterator<Tuple2<Object, StreamInputInfo>> inputs =
        info.streamIdToInputInfo().iterator();
    while (inputs.hasNext()) {
      StreamInputInfo input = inputs.next()._2();
      JsonNode[] offsets = InputInfoOffsets.of(input.metadata());
      sources.add(
          new SourceReport(
              "input-" + input.inputStreamId(), offsets[0], offsets[1], input.numRecords()));
    }
    sources.sort((a, b) -> a.description().compareTo(b.description()));
    long rows = info.numRecords();
    Long processingMs = optionalLong(info.processingDelay());
    Long endMs = optionalLong(info.processingEndTime());
    return new BatchReport(
        info.batchTime().milliseconds(),
        endMs == null ? Instant.now() : Instant.ofEpochMilli(endMs),
        List.copyOf(sources),
        rows,
        batchIntervalMs == null || batchIntervalMs == 0 ? Double.NaN : rows * 1000.0 / batchIntervalMs,
        processingMs == null ? Double.NaN : rows * 1000.0 / Math.max(1, processingMs),
        processingMs);
  }

  private static Long optionalLong(Option<Object> value) {
    return value.isDefined() ? ((Number) value.get()).longValue() : null;
  }
}
