package io.github.emrrollover.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which earlier {@code .progress} a starting driver takes its deployment's first batch from:
 * only its own deployment's, and a report it cannot read (or that hangs) never keeps it from
 * running.
 */
class EarlierAttemptTest {
  @TempDir Path dir;

  @AfterEach
  void healStorage() {
    FlakyFileSystem.reset();
  }

  private static final String FIRST_BATCH =
      "\"firstBatchId\":4,\"firstBatch\":{\"batchId\":4,"
          + "\"committedAt\":\"2026-12-01T12:00:00.000Z\",\"sources\":[{"
          + "\"description\":\"RateStreamV2[rowsPerSecond=20]\",\"startOffset\":3,"
          + "\"endOffset\":5,\"numInputRows\":40}]}";

  private static final String OF_D1 =
      "{\"version\":1,\"deploymentId\":\"d-1\",\"batchId\":9," + FIRST_BATCH + "}";

  private Path progress(String json) throws Exception {
    Path marker = dir.resolve("m");
    Files.writeString(dir.resolve("m.progress"), json, StandardCharsets.UTF_8);
    return marker;
  }

  private static BatchReport read(Path marker, String deploymentId, String applicationId)
      throws InterruptedException {
    MarkerStore store = MarkerStore.open(Markers.uri(marker), new Configuration());
    try (BoundedIo io = new BoundedIo("test-io", 10_000)) {
      return EarlierAttempt.firstBatch(store, io, deploymentId, applicationId);
    }
  }

  @Test
  void theSameDeploymentsFirstBatchIsKept() throws Exception {
    Path marker = progress(OF_D1);
    BatchReport first = read(marker, "d-1", "application_1_0001");
    assertEquals(4, first.batchId());
    assertEquals(3, first.sources().get(0).startOffset().asLong());
    assertEquals("RateStreamV2[rowsPerSecond=20]", first.sources().get(0).description());
  }

  @Test
  void anotherDeploymentsProgressIsIgnored() throws Exception {
    Path marker = progress(OF_D1.replace("d-1", "d-0"));
    assertNull(read(marker, "d-1", "application_1_0001"));
  }

  @Test
  void withoutADeploymentIdTheYarnApplicationDecides() throws Exception {
    Path marker =
        progress("{\"version\":1,\"applicationId\":\"application_1_0001\",\"batchId\":9,"
            + FIRST_BATCH + "}");
    assertEquals(4, read(marker, null, "application_1_0001").batchId());
    assertNull(read(marker, null, "application_1_0002"), "another application: another run");
    assertNull(read(marker, "d-1", "application_1_0001"), "one side has a deployment id");
  }

  @Test
  void missingUnreadableOrShapelessReportsAreNoFirstBatch() throws Exception {
    assertNull(read(dir.resolve("m"), "d-1", "a"), "no .progress yet");
    assertNull(read(progress("{\"deploymentId\":\"d-1\", not json"), "d-1", "a"));
    assertNull(read(progress("{\"deploymentId\":\"d-1\",\"firstBatchId\":4}"), "d-1", "a"));
    assertNull(read(progress("{\"deploymentId\":\"d-1\",\"firstBatch\":{\"batchId\":4,"
        + "\"committedAt\":\"yesterday\"}}"), "d-1", "a"));
  }

  @Test
  void aHungReadGivesUpAtTheIoBound() throws Exception {
    Path marker = progress(OF_D1);
    Configuration conf = new Configuration();
    FlakyFileSystem.register(conf);
    MarkerStore store = MarkerStore.open(FlakyFileSystem.uri(marker), conf);
    FlakyFileSystem.hang();
    try (BoundedIo io = new BoundedIo("test-io", 200)) {
      assertNull(EarlierAttempt.firstBatch(store, io, "d-1", "a"));
    }
    FlakyFileSystem.release();
    FlakyFileSystem.fail(true);
    try (BoundedIo io = new BoundedIo("test-io", 10_000)) {
      assertNull(EarlierAttempt.firstBatch(store, io, "d-1", "a"), "an error (403) is no batch");
    }
  }
}
