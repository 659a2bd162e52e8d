package io.github.emrrollover.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The standby strategy: a new driver starts Spark next to the running one, says {@code .ready},
 * and touches nothing of the checkpoint until its marker says {@code run}; a standby whose
 * marker is deleted returns retired without starting anything. The standby markers are on the
 * counting {@code flaky://} scheme (no faults) so the test knows the driver kept polling.
 */
class StandbyTest {
  @TempDir Path dir;

  @BeforeEach
  void registerCountingScheme() {
    FlakyFileSystem.register(TestSpark.session().sparkContext().hadoopConfiguration());
  }

  @AfterEach
  void openGate() {
    FlakyFileSystem.reset();
  }

  @Test
  void aStandbyDriverTouchesNoCheckpointUntilRunThenTakesOverWhereTheOldOneStopped()
      throws Exception {
    Path output = dir.resolve("output");
    Path checkpoint = dir.resolve("checkpoint");
    Path markerA = Markers.write(dir.resolve("markers/a"), "deploy-a", "run");
    StructuredDriver a =
        StructuredDriver.launch("a", TestSpark.driver(Markers.uri(markerA), Map.of()),
            RateToFiles.into(output, checkpoint));
    Await.until("A commits batches with rows", () -> {
      ProgressReport p = Markers.progress(markerA);
      return p != null && p.last().batchId() >= 2;
    });

    Path markerB = Markers.write(dir.resolve("markers/b"), "deploy-b", "standby");
    StructuredDriver b =
        StructuredDriver.launch("b", TestSpark.driver(FlakyFileSystem.uri(markerB), Map.of()),
            RateToFiles.into(output, checkpoint));
    ReadyReport ready =
        Await.value(".ready from B", () -> {
          var json = Markers.report(markerB, ReadyReport.SUFFIX);
          return json == null ? null : ReadyReport.parse(json);
        });
    VectorSchema.assertConforms("ready", Markers.report(markerB, ReadyReport.SUFFIX));
    assertEquals("deploy-b", ready.deploymentId());
    assertEquals(b.session.sparkContext().applicationId(), ready.applicationId());
    assertEquals(b.session.version(), ready.sparkVersion());
    assertEquals(0, b.session.streams().active().length, "B started no query");

    // The old driver stops; the checkpoint is then still, and B keeps standing by.
    Markers.delete(markerA);
    a.join();
    StoppedReport stoppedA = Markers.stopped(markerA);
    List<String> before = CheckpointFiles.listing(checkpoint);
    int reads = FlakyFileSystem.opens();
    Await.until("B reads its marker three more times", () -> FlakyFileSystem.opens() >= reads + 3);
    assertEquals(before, CheckpointFiles.listing(checkpoint), "B touched the checkpoint");
    assertEquals(0, b.session.streams().active().length, "B started a query in standby");
    assertFalse(b.mainReturned());
    assertNull(Markers.progress(markerB), "B ran no batch in standby");

    // The action switches B to run: it takes over exactly where A stopped.
    Markers.write(markerB, "deploy-b", "run");
    assertFalse(b.rollover().retired());
    ProgressReport progressB = Await.value("B commits a batch", () -> Markers.progress(markerB));
    assertEquals(stoppedA.batchId() + 1, progressB.first().batchId());
    assertEquals(stoppedA.sources().get(0).endOffset(),
        progressB.first().sources().get(0).startOffset());
    assertEquals("deploy-b", progressB.deploymentId());
    Markers.delete(markerB);
    b.join();
    assertTrue(Markers.stopped(markerB).graceful());
  }

  @Test
  void aStandbyDriverWhoseMarkerIsDeletedReturnsRetiredWithoutStartingAnything()
      throws Exception {
    Path checkpoint = dir.resolve("checkpoint");
    Path marker = Markers.write(dir.resolve("markers/c"), "deploy-c", "standby");
    StructuredDriver c =
        StructuredDriver.launch("c", TestSpark.driver(FlakyFileSystem.uri(marker), Map.of()),
            RateToFiles.into(dir.resolve("output"), checkpoint));
    Await.until(".ready from C", () -> Markers.report(marker, ReadyReport.SUFFIX) != null);
    Markers.delete(marker);
    c.join();
    assertTrue(c.rollover().retired());
    assertEquals(0, c.session.streams().active().length);
    assertFalse(checkpoint.toFile().exists(), "no checkpoint was created");
    StoppedReport stopped = Markers.stopped(marker);
    assertTrue(stopped.retired());
    assertNull(stopped.batchId());
    assertEquals(List.of(), stopped.sources());
    assertEquals("deploy-c", stopped.deploymentId());
    VectorSchema.assertConforms("stopped", Markers.report(marker, StoppedReport.SUFFIX));
  }

  @Test
  void aStandbyThatIsNeverSwitchedGivesUpAtItsBound() {
    Path marker = Markers.write(dir.resolve("markers/d"), "deploy-d", "standby");
    var session =
        TestSpark.driver(Markers.uri(marker), Map.of(RolloverSettings.STANDBY_TIMEOUT, "1s"));
    RolloverException gaveUp =
        org.junit.jupiter.api.Assertions.assertThrows(RolloverException.class,
            () -> Rollover.start(session));
    assertTrue(gaveUp.getMessage().contains("spark.rollover.standbyTimeout"), gaveUp.getMessage());
    assertTrue(gaveUp.getMessage().contains(Markers.uri(marker)), gaveUp.getMessage());
  }
}
