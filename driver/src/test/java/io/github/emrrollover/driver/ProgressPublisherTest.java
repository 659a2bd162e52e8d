package io.github.emrrollover.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code .progress} is rate-limited but never stale for long, and nothing is written after close. */
class ProgressPublisherTest {
  @TempDir Path dir;

  private static ProgressReport batch(long id) {
    BatchReport b = new BatchReport(id, Instant.EPOCH, List.of(), 0, 0, 0, 1L);
    return new ProgressReport("dstreams", null, "app", null, null, Instant.EPOCH, b, b, null);
  }

  @Test
  void theFirstBatchIsWrittenAtOnceThenTheLatestOncePerInterval() throws Exception {
    Path marker = dir.resolve("m");
    MarkerStore store = MarkerStore.open(Markers.uri(marker), new Configuration());
    // An interval far longer than the test: only the first write can happen "at once".
    try (ProgressPublisher publisher = new ProgressPublisher(store, 3_600_000)) {
      publisher.publish(batch(1));
      Await.until("the first write", () -> publisher.writes() == 1);
      assertEquals(1, Markers.progress(marker).last().batchId());
      for (long id = 2; id <= 50; id++) publisher.publish(batch(id));
      assertEquals(1, publisher.writes(), "later batches wait for the interval");
      assertEquals(1, Markers.progress(marker).last().batchId());
    }
  }

  @Test
  void afterTheIntervalTheLatestBatchIsWrittenNotEveryOne() throws Exception {
    Path marker = dir.resolve("m");
    MarkerStore store = MarkerStore.open(Markers.uri(marker), new Configuration());
    try (ProgressPublisher publisher = new ProgressPublisher(store, 300)) {
      publisher.publish(batch(1));
      Await.until("the first write", () -> publisher.writes() == 1);
      for (long id = 2; id <= 50; id++) publisher.publish(batch(id));
      Await.until("the trailing write", () -> publisher.writes() == 2);
      assertEquals(50, Markers.progress(marker).last().batchId(), "the latest, coalesced");
    }
  }

  @Test
  void nothingIsWrittenAfterClose() throws Exception {
    Path marker = dir.resolve("m");
    MarkerStore store = MarkerStore.open(Markers.uri(marker), new Configuration());
    ProgressPublisher publisher = new ProgressPublisher(store, 3_600_000);
    publisher.publish(batch(1));
    Await.until("the first write", () -> publisher.writes() == 1);
    publisher.publish(batch(2)); // scheduled for in an hour
    assertTrue(publisher.close(10_000));
    publisher.publish(batch(3)); // a listener called after the stop
    assertEquals(1, publisher.writes());
    assertEquals(1, Markers.progress(marker).last().batchId());
  }

  @Test
  void aFailingWriteIsLoggedNotThrownAndTheNextOneTriesAgain() throws Exception {
    Path missingParent = dir.resolve("file-not-dir");
    java.nio.file.Files.writeString(missingParent, "x"); // a file where a directory should be
    MarkerStore store =
        MarkerStore.open(Markers.uri(missingParent.resolve("m")), new Configuration());
    try (ProgressPublisher publisher = new ProgressPublisher(store, 0)) {
      publisher.publish(batch(1)); // never throws, though the write fails
      Await.until("a failed write", () -> publisher.failures() == 1);
      publisher.publish(batch(2));
      Await.until("another try", () -> publisher.failures() == 2);
      assertEquals(0, publisher.writes());
      assertNull(Markers.progress(missingParent.resolve("m")));
    }
  }
}
