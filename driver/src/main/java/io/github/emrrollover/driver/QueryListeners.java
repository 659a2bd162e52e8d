package io.github.emrrollover.driver;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryManager;

/**
 * Keeps the progress tracker registered with each session's StreamingQueryManager it needs
 * (queries report to their own session's manager), and takes it off again on close.
 */
final class QueryListeners {
  private final QueryProgressTracker tracker;
  private final List<StreamingQueryManager> managers = new ArrayList<>();
  private boolean closed;

  QueryListeners(QueryProgressTracker tracker) {
    this.tracker = tracker;
  }

  synchronized void register(SparkSession spark) {
    if (closed) return;
    StreamingQueryManager manager = spark.streams();
    for (StreamingQueryManager known : managers) if (known == manager) return;
    manager.addListener(tracker);
    managers.add(manager);
  }

  /** Makes the tracker report this query; registers it with the query's session if needed. */
  QueryProgressTracker follow(StreamingQuery query) {
    register(query.sparkSession());
    tracker.follow(query.id());
    return tracker;
  }

  synchronized void close() {
    closed = true;
    tracker.close();
    for (StreamingQueryManager manager : managers) {
      try {
        manager.removeListener(tracker);
      } catch (RuntimeException stoppedAlready) {
        // the session is gone: so is the listener
      }
    }
    managers.clear();
  }
}
