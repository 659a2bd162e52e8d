package io.github.emrrollover.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A YARN re-attempt is the same deployment (same marker, same deploymentId) in a new JVM: it
 * resumes from the checkpoint its first attempt advanced. The action checks the handoff by
 * comparing the previous deployment's {@code .stopped} with this deployment's {@code .progress}
 * {@code firstBatch}; if the re-attempt reported its own first batch there, that check would see
 * a gap where there is none. Real Spark, rate source, file sink, as the handoff test.
 */
class ReattemptProgressTest {
  @TempDir Path dir;

  /** A driver of the one stream of this test (one checkpoint, one sink), on this marker. */
  private StructuredDriver launch(String name, Path marker) {
    return StructuredDriver.launch(name, TestSpark.driver(Markers.uri(marker), Map.of()),
        RateToFiles.into(dir.resolve("output"), dir.resolve("checkpoint")));
  }

  @Test
  void aReattemptKeepsItsDeploymentsFirstBatchSoTheHandoffStaysContiguous() throws Exception {
    Path checkpoint = dir.resolve("checkpoint");

    // The previous deployment, stopped by a rollover.
    Path previous = Markers.write(dir.resolve("markers/previous"), "deploy-previous", "run");
    StructuredDriver old = launch("previous", previous);
    Await.until("the previous deployment commits", () -> Markers.progress(previous) != null);
    Markers.delete(previous);
    old.join();
    StoppedReport stopped = Markers.stopped(previous);

    // Attempt 1 of the new deployment commits batches, then ends without a rollover stop (as a
    // JVM that died would: no .stopped). YARN starts attempt 2 with the same marker.
    Path marker = Markers.write(dir.resolve("markers/next"), "deploy-next", "run");
    StructuredDriver attempt1 = launch("attempt-1", marker);
    ProgressReport reported1 =
        Await.value("attempt 1 commits two batches",
            () -> {
              ProgressReport p = Markers.progress(marker);
              return p != null && p.last().batchId() > p.first().batchId() ? p : null;
            });
    attempt1.query().stop();
    assertInstanceOf(RolloverException.class, attempt1.joinFailure());
    assertNull(Markers.stopped(marker), "attempt 1 did not stop for a rollover");
    long resumeAfter = CheckpointFiles.latestCommitted(checkpoint);
    assertTrue(resumeAfter > reported1.first().batchId(), "attempt 2 cannot start at batch 1's");

    StructuredDriver attempt2 = launch("attempt-2", marker);
    ProgressReport reported2 =
        Await.value("attempt 2 commits a batch",
            () -> {
              ProgressReport p = Markers.progress(marker);
              return p != null && p.last().batchId() > resumeAfter ? p : null;
            });

    // The deployment's first batch, not attempt 2's: and so it meets the previous .stopped.
    assertEquals(reported1.first().batchId(), reported2.first().batchId());
    assertEquals(reported1.first().sources(), reported2.first().sources());
    assertEquals(stopped.batchId() + 1, reported2.first().batchId(), "no batch id skipped");
    assertEquals(stopped.sources().get(0).endOffset(),
        reported2.first().sources().get(0).startOffset(), "offsets meet: no gap, no overlap");
    assertEquals("deploy-next", reported2.deploymentId());
    VectorSchema.assertConforms("progress", Markers.report(marker, ProgressReport.SUFFIX));

    Markers.delete(marker);
    attempt2.join();
    assertTrue(Markers.stopped(marker).batchId() > resumeAfter);
  }
}
