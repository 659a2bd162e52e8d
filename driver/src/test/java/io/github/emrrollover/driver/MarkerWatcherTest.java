package io.github.emrrollover.driver;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A stop, once seen, is final: a marker written back later does not undo it. */
class MarkerWatcherTest {
  @TempDir Path dir;

  @Test
  void aMarkerSeenGoneStaysGoneEvenIfItComesBack() throws Exception {
    Path marker = Markers.write(dir.resolve("m"), "deploy-w", "run");
    MarkerStore store = MarkerStore.open(Markers.uri(marker), new Configuration());
    try (MarkerWatcher watcher = new MarkerWatcher(store, 20, 5_000)) {
      watcher.start();
      Await.until("two checks", () -> watcher.checks() >= 2);
      assertFalse(watcher.gone());
      Markers.delete(marker);
      Await.until("the deletion seen", watcher::gone);
      Markers.write(marker, "deploy-w", "run"); // the action writes it back after a failed stop
      Await.until("the watcher to stop checking", () -> !watcher.checking());
      assertTrue(watcher.gone(), "nothing is left that could undo the stop");
    }
  }
}
