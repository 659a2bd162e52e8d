package io.github.emrrollover.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.streaming.Durations;
import org.apache.spark.streaming.api.java.JavaStreamingContext;
import org.apache.spark.streaming.scheduler.StreamingListener;
import org.apache.spark.streaming.scheduler.StreamingListenerBatchCompleted;
import org.apache.spark.streaming.scheduler.StreamingListenerBatchStarted;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DStreams: the stop is graceful. Batches are slower than the batch interval, so a backlog of
 * generated batches waits when the marker is deleted; every batch that started completes, and
 * the output holds every record of every batch, once. The input reports Kafka-style offset
 * ranges, which {@code .stopped} and {@code .progress} carry. Real Spark Streaming in local mode, with
 * its own SparkContext (the library stops it, as it must on a cluster).
 */
class DStreamsGracefulStopTest {
  private static final long BATCH_MS = 200;
  private static final int RECORDS_PER_BATCH = 10;
  private static final ConcurrentLinkedQueue<Integer> OUTPUT = new ConcurrentLinkedQueue<>();

  @TempDir Path dir;

  @BeforeAll
  static void freeTheSharedContext() {
    TestSpark.stopAll(); // one SparkContext per JVM; the next test class gets a new one
  }

  @Test
  void everyBatchThatStartedCompletesAndItsRecordsAreInTheOutput() throws Exception {
    Path marker = Markers.write(dir.resolve("markers/d"), "deploy-d", "run");
    JavaSparkContext sc = new JavaSparkContext(conf(marker).set(RolloverSettings.DRAIN_TIMEOUT, "2min"));
    Rollover rollover = Rollover.start(sc);
    assertFalse(rollover.retired());

    JavaStreamingContext ssc = new JavaStreamingContext(sc, Durations.milliseconds(BATCH_MS));
    new org.apache.spark.streaming.api.java.JavaInputDStream<>(
            new FakeDirectStream(ssc.ssc(), RECORDS_PER_BATCH),
            scala.reflect.ClassTag$.MODULE$.apply(Integer.class))
        .foreachRDD(rdd -> {
          OUTPUT.addAll(rdd.collect());
          Thread.sleep(BATCH_MS + 100); // slower than the interval: a backlog builds up
        });
    BatchLog batches = new BatchLog(rollover);
    ssc.addStreamingListener(batches);

    Thread deleter =
        new Thread(() -> {
          Await.until("five completed batches", () -> batches.completed.size() >= 5);
          Markers.delete(marker);
        });
    deleter.start();
    rollover.awaitStop(ssc); // starts the context, runs until the marker is gone, stops
    deleter.join();

    assertTrue(sc.sc().isStopped(), "the SparkContext is stopped with the StreamingContext");
    assertEquals(batches.started, batches.completed, "every batch that started completed");
    assertEquals(Set.of(), batches.failed);
    assertTrue(batches.completedAfterStopRequest.get() > 0,
        "the backlog at the stop request was processed, not dropped");
    Set<Integer> expected = new TreeSet<>();
    for (int i = 0; i < batches.completed.size() * RECORDS_PER_BATCH; i++) expected.add(i);
    List<Integer> output = new ArrayList<>(OUTPUT);
    assertEquals(expected.size(), output.size(), "each record once");
    assertEquals(expected, new TreeSet<>(output), "no record of a completed batch missing");

    StoppedReport stopped = Markers.stopped(marker);
    assertTrue(stopped.graceful());
    assertEquals("dstreams", stopped.api());
    assertEquals(batches.completed.last(), stopped.batchId(), "batch id is the batch time");
    assertEquals(1, stopped.sources().size());
    SourceReport source = stopped.sources().get(0);
    assertEquals("input-0", source.description());
    long records = batches.completed.size() * (long) RECORDS_PER_BATCH;
    assertEquals(Json.offset("{\"events\":{\"0\":" + records + "}}"), source.endOffset(),
        "the last batch's offset range, read from Spark's input info");
    VectorSchema.assertConforms("stopped", Markers.report(marker, StoppedReport.SUFFIX));

    ProgressReport progress = Markers.progress(marker);
    VectorSchema.assertConforms("progress", Markers.report(marker, ProgressReport.SUFFIX));
    assertEquals("dstreams", progress.api());
    assertEquals(BATCH_MS, progress.triggerIntervalMs());
    assertEquals(batches.completed.first(), progress.first().batchId());
    assertEquals(RECORDS_PER_BATCH, progress.last().numInputRows());
    assertTrue(progress.last().batchId() <= stopped.batchId());
    assertEquals(Json.offset("{\"events\":{\"0\":0}}"),
        progress.first().sources().get(0).startOffset(), "the first batch starts at offset 0");
  }

  @Test
  void aDrainPastItsBoundStopsTheSparkContextAndSaysNotGraceful() throws Exception {
    Path marker = Markers.write(dir.resolve("markers/e"), "deploy-e", "run");
    JavaSparkContext sc = new JavaSparkContext(conf(marker).set(RolloverSettings.DRAIN_TIMEOUT, "1s"));
    Rollover rollover = Rollover.start(sc);
    JavaStreamingContext ssc = new JavaStreamingContext(sc, Durations.milliseconds(BATCH_MS));
    new org.apache.spark.streaming.api.java.JavaInputDStream<>(
            new FakeDirectStream(ssc.ssc(), RECORDS_PER_BATCH),
            scala.reflect.ClassTag$.MODULE$.apply(Integer.class))
        .map(v -> BatchGate.pass((long) v)) // a task that does not end until the gate opens
        .foreachRDD(rdd -> {
          rdd.count();
        });
    BatchLog batches = new BatchLog(rollover);
    ssc.addStreamingListener(batches);
    Thread deleter =
        new Thread(() -> {
          Await.until("three completed batches", () -> batches.completed.size() >= 3);
          BatchGate.close();
          Await.until("a held task", () -> BatchGate.heldTasks() > 0);
          Markers.delete(marker);
        });
    deleter.start();
    try {
      rollover.awaitStop(ssc); // returns although a batch never ends
    } finally {
      BatchGate.open();
    }
    deleter.join();

    assertTrue(sc.sc().isStopped());
    StoppedReport stopped = Markers.stopped(marker);
    assertFalse(stopped.graceful(), "the drain bound was hit");
    assertEquals(batches.completed.last(), stopped.batchId(), "the last batch that succeeded");
    assertTrue(batches.started.size() > batches.completed.size(), "the held batch never completed");
  }

  private static SparkConf conf(Path marker) {
    return new SparkConf()
        .setMaster("local[2]")
        .setAppName("dstreams-graceful-stop")
        .set("spark.ui.enabled", "false")
        .set("spark.driver.host", "127.0.0.1")
        .set("spark.driver.bindAddress", "127.0.0.1")
        .set(RolloverSettings.MARKER, Markers.uri(marker))
        .set(RolloverSettings.POLL_INTERVAL, "100ms")
        .set(RolloverSettings.PROGRESS_INTERVAL, "100ms");
  }

  /** The test's own view of the batches, independent of the library's listener. */
  private static final class BatchLog implements StreamingListener {
    final Set<Long> started = new ConcurrentSkipListSet<>();
    final ConcurrentSkipListSet<Long> completed = new ConcurrentSkipListSet<>();
    final Set<Long> failed = new ConcurrentSkipListSet<>();
    final AtomicInteger completedAfterStopRequest = new AtomicInteger();
    private final AtomicReference<Rollover> rollover;

    BatchLog(Rollover rollover) {
      this.rollover = new AtomicReference<>(rollover);
    }

    @Override
    public void onBatchStarted(StreamingListenerBatchStarted event) {
      started.add(event.batchInfo().batchTime().milliseconds());
    }

    @Override
    public void onBatchCompleted(StreamingListenerBatchCompleted event) {
      long time = event.batchInfo().batchTime().milliseconds();
      var ops = event.batchInfo().outputOperationInfos().valuesIterator();
      while (ops.hasNext()) {
        if (ops.next().failureReason().isDefined()) {
          failed.add(time); // Spark calls a batch whose job failed "completed" too
          return;
        }
      }
      completed.add(time);
      if (rollover.get().stopRequested()) completedAfterStopRequest.incrementAndGet();
    }
  }
}
