package io.github.emrrollover.driver;

import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three drivers, one after another, on one checkpoint and one file sink, as three deployments
 * rolled over by the action. Real Spark (local mode), real rate source, real parquet sink; the
 * drivers share one JVM and SparkContext (separate sessions), which a cluster never does: this
 * proves the library's stop, drain and reports against Spark's checkpoint semantics, not YARN's.
 *
 * <ol>
 *   <li>A is asked to stop while a batch is held in flight: it waits, that batch commits, and
 *       {@code .stopped} names it.
 *   <li>B starts where A's {@code .stopped} says; it is asked to stop with a batch held past
 *       {@code drainTimeout}: it stops anyway, and {@code .stopped} names the batch before.
 *   <li>C re-runs B's interrupted batch from the checkpoint, with the same offsets.
 * </ol>
 *
 * The sink then holds every value of the rate source up to C's last offset exactly once.
 */
class StructuredStreamingHandoffTest {
  @TempDir Path dir;

  @AfterEach
  void openGate() {
    BatchGate.open();
  }

  @Test
  void everyRowExactlyOnceAcrossThreeDriversAndOffsetsMeetAtEachHandoff() throws Exception {
    Path output = dir.resolve("output");
    Path checkpoint = dir.resolve("checkpoint");

    // A: the batch in flight when the marker goes is waited for.
    Path markerA = Markers.write(dir.resolve("markers/a"), "deploy-a", "run");
    StructuredDriver a =
        StructuredDriver.launch("a", TestSpark.driver(Markers.uri(markerA), Map.of()),
            RateToFiles.into(output, checkpoint));
    Await.until("A commits two batches", () -> committedAtLeast(markerA, 1));
    long heldA = holdNextBatch(checkpoint);
    Markers.delete(markerA);
    Await.until("A's drain waits for the held batch",
        () -> Long.valueOf(heldA).equals(a.rollover().drainWaitingFor()));
    assertTrue(a.query().isActive(), "A must not stop the query while its batch is in flight");
    BatchGate.open();
    a.join();
    StoppedReport stoppedA = Markers.stopped(markerA);
    assertTrue(stoppedA.graceful());
    // The held batch committed: A waited for it (stop() would have killed its tasks). A later
    // batch may have committed too before stop() was called.
    assertTrue(stoppedA.batchId() >= heldA, "the batch in flight at the stop request committed");
    assertMatchesCheckpoint(stoppedA, checkpoint);
    assertEquals("deploy-a", stoppedA.deploymentId());
    assertFalse(stoppedA.retired());
    assertNotNull(stoppedA.drainMs());

    // B: starts exactly where A stopped; the drain bound is hit with a batch held.
    Path markerB = Markers.write(dir.resolve("markers/b"), "deploy-b", null);
    StructuredDriver b =
        StructuredDriver.launch("b",
            TestSpark.driver(Markers.uri(markerB), Map.of(RolloverSettings.DRAIN_TIMEOUT, "1s")),
            RateToFiles.into(output, checkpoint));
    ProgressReport progressB =
        Await.value("B commits two batches",
            () -> committedAtLeast(markerB, 1) ? Markers.progress(markerB) : null);
    assertHandoff(stoppedA, progressB);
    long heldB = holdNextBatch(checkpoint);
    Markers.delete(markerB);
    b.join();
    StoppedReport stoppedB = Markers.stopped(markerB);
    assertFalse(stoppedB.graceful(), "B hit its drain bound");
    assertEquals(heldB - 1, stoppedB.batchId(), "the interrupted batch is not B's");
    assertMatchesCheckpoint(stoppedB, checkpoint);
    assertEquals(heldB, CheckpointFiles.latestPlanned(checkpoint), "planned, never committed");
    BatchGate.open();

    // C: re-runs B's interrupted batch, with the offsets B planned for it.
    var plannedByB = CheckpointFiles.endOffset(checkpoint, heldB);
    Path markerC = Markers.write(dir.resolve("markers/c"), "deploy-c", "run");
    StructuredDriver c =
        StructuredDriver.launch("c", TestSpark.driver(Markers.uri(markerC), Map.of()),
            RateToFiles.into(output, checkpoint));
    ProgressReport progressC =
        Await.value("C commits a batch",
            () -> committedAtLeast(markerC, 0) ? Markers.progress(markerC) : null);
    assertHandoff(stoppedB, progressC);
    assertEquals(heldB, progressC.first().batchId(), "C re-runs the interrupted batch");
    assertEquals(plannedByB, progressC.first().sources().get(0).endOffset(),
        "the re-run covers exactly what B had planned");
    Markers.delete(markerC);
    c.join();
    StoppedReport stoppedC = Markers.stopped(markerC);
    assertMatchesCheckpoint(stoppedC, checkpoint);

    // Every value the rate source produced up to C's last committed offset, exactly once.
    Dataset<Row> sink = TestSpark.session().read().parquet(output.toString());
    long rows = sink.count();
    Row range = sink.agg(min("value"), max("value")).first();
    long lastSecond = stoppedC.sources().get(0).endOffset().asLong();
    assertEquals(lastSecond * RateToFiles.ROWS_PER_SECOND, rows, "no row lost, none repeated");
    assertEquals(rows, sink.select("value").distinct().count(), "no row twice");
    assertEquals(0L, range.getLong(0));
    assertEquals(rows - 1, range.getLong(1));

    for (Path marker : new Path[] {markerA, markerB, markerC}) {
      VectorSchema.assertConforms("stopped", Markers.report(marker, StoppedReport.SUFFIX));
      VectorSchema.assertConforms("progress", Markers.report(marker, ProgressReport.SUFFIX));
    }
  }

  /** The next driver's first batch starts where the last one's .stopped ended. */
  private static void assertHandoff(StoppedReport previous, ProgressReport next) {
    assertEquals(previous.batchId() + 1, next.first().batchId(), "no batch id skipped or repeated");
    assertEquals(previous.sources().size(), next.first().sources().size());
    assertEquals(previous.sources().get(0).endOffset(),
        next.first().sources().get(0).startOffset(), "offsets meet: neither a gap nor an overlap");
    assertEquals(previous.sources().get(0).description(),
        next.first().sources().get(0).description());
  }

  /** .stopped says what the checkpoint says: the batch and offsets the next driver starts from. */
  private static void assertMatchesCheckpoint(StoppedReport stopped, Path checkpoint) {
    long committed = CheckpointFiles.latestCommitted(checkpoint);
    assertEquals(committed, stopped.batchId());
    assertEquals(1, stopped.sources().size());
    assertEquals(CheckpointFiles.endOffset(checkpoint, committed),
        stopped.sources().get(0).endOffset());
  }

  /** Closes the gate and returns the id of the batch now held in its tasks. */
  private static long holdNextBatch(Path checkpoint) {
    BatchGate.close();
    Await.until("a batch to be held", () -> BatchGate.heldTasks() > 0);
    long planned = CheckpointFiles.latestPlanned(checkpoint);
    assertTrue(planned > CheckpointFiles.latestCommitted(checkpoint), "the held batch is in flight");
    return planned;
  }

  private static boolean committedAtLeast(Path marker, long batchesAfterFirst) {
    ProgressReport progress = Markers.progress(marker);
    return progress != null && progress.last().batchId() >= progress.first().batchId() + batchesAfterFirst;
  }
}
