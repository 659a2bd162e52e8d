package io.github.emrrollover.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Only a deleted marker stops a driver. A marker that cannot be read (errors, a hung call) and
 * reports that cannot be written leave the stream running; a missing or unreadable marker at
 * start-up refuses to start, and says which marker and why.
 */
class MarkerErrorsTest {
  @TempDir Path dir;

  @BeforeEach
  void registerFlakyScheme() {
    FlakyFileSystem.register(TestSpark.session().sparkContext().hadoopConfiguration());
  }

  @AfterEach
  void healStorage() {
    FlakyFileSystem.reset();
  }

  @Test
  void errorsAndHangsReadingTheMarkerNeverStopTheDriverButItsDeletionDoes() throws Exception {
    Path marker = Markers.write(dir.resolve("markers/m"), "deploy-m", "run");
    Path checkpoint = dir.resolve("checkpoint");
    StructuredDriver driver =
        StructuredDriver.launch("flaky",
            TestSpark.driver(FlakyFileSystem.uri(marker), Map.of()),
            RateToFiles.into(dir.resolve("output"), checkpoint));
    Await.until("a first .progress", () -> Markers.progress(marker) != null);

    // Every check of the marker and every report write fails, as with a 403 or throttling.
    FlakyFileSystem.fail(true);
    int failuresBefore = FlakyFileSystem.failures();
    long committedBefore = CheckpointFiles.latestCommitted(checkpoint);
    Await.until("five failed calls and two more commits",
        () -> FlakyFileSystem.failures() >= failuresBefore + 5
            && CheckpointFiles.latestCommitted(checkpoint) >= committedBefore + 2);
    assertFalse(driver.rollover().stopRequested(), "an error is not a deletion");
    assertTrue(driver.query().isActive());

    // A call that hangs: the stream goes on; the watcher waits for it rather than piling up.
    FlakyFileSystem.fail(false);
    FlakyFileSystem.hang();
    long committedBeforeHang = CheckpointFiles.latestCommitted(checkpoint);
    Await.until("a hung marker check and two more commits",
        () -> FlakyFileSystem.hungCalls() > 0
            && CheckpointFiles.latestCommitted(checkpoint) >= committedBeforeHang + 2);
    assertFalse(driver.rollover().stopRequested());
    assertTrue(driver.query().isActive());

    // Deleted while the call hangs: seen as soon as storage answers.
    Markers.delete(marker);
    FlakyFileSystem.release();
    Await.until("the stop request", () -> driver.rollover().stopRequested());
    driver.join();
    StoppedReport stopped = Markers.stopped(marker);
    assertNotNull(stopped, ".stopped written once storage works again");
    assertEquals(CheckpointFiles.latestCommitted(checkpoint), stopped.batchId());
  }

  @Test
  void aMissingMarkerRefusesToStartAndNamesIt() {
    String uri = Markers.uri(dir.resolve("markers/never-written"));
    SparkSession session = TestSpark.driver(uri, Map.of());
    int listeners = session.streams().listListeners().length;
    MarkerMissingException refused =
        assertThrows(MarkerMissingException.class, () -> Rollover.start(session));
    assertTrue(refused.getMessage().contains(uri), refused.getMessage());
    assertTrue(refused.getMessage().contains("re-attempt"), refused.getMessage());
    assertEquals(uri, refused.markerUri());
    assertEquals(listeners, session.streams().listListeners().length, "nothing registered");
  }

  @Test
  void aMarkerUnreadableThroughoutStartupRefusesToStartWithTheCause() {
    Path marker = Markers.write(dir.resolve("markers/m"), "deploy-m", "run");
    SparkSession session =
        TestSpark.driver(FlakyFileSystem.uri(marker),
            Map.of(RolloverSettings.STARTUP_TIMEOUT, "1500ms"));
    FlakyFileSystem.fail(true);
    int failuresBefore = FlakyFileSystem.failures();
    RolloverException refused = assertThrows(RolloverException.class, () -> Rollover.start(session));
    assertFalse(refused instanceof MarkerMissingException, "an error is not a missing marker");
    assertTrue(refused.getMessage().contains(FlakyFileSystem.uri(marker)), refused.getMessage());
    assertTrue(refused.getMessage().contains("AccessDenied"), refused.getMessage());
    assertTrue(refused.getMessage().contains("s3:ListBucket"), refused.getMessage());
    assertInstanceOf(java.io.IOException.class, refused.getCause());
    assertTrue(FlakyFileSystem.failures() >= failuresBefore + 2, "it retried before refusing");
  }

  @Test
  void aMarkerReadableAgainWithinStartupStarts() throws Exception {
    Path marker = Markers.write(dir.resolve("markers/m"), "deploy-m", "run");
    SparkSession session = TestSpark.driver(FlakyFileSystem.uri(marker), Map.of());
    FlakyFileSystem.fail(true);
    int failuresBefore = FlakyFileSystem.failures();
    Thread heal =
        new Thread(() -> {
          Await.until("a failed start-up read", () -> FlakyFileSystem.failures() > failuresBefore);
          FlakyFileSystem.fail(false);
        });
    heal.start();
    try (Rollover rollover = Rollover.start(session)) {
      assertFalse(rollover.retired());
      assertFalse(rollover.stopRequested());
    }
    heal.join();
  }
}
