package io.github.emrrollover.driver;

import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * One local SparkContext for the whole run (starting one costs seconds). Each simulated driver
 * gets its own session on it: its own conf (so its own marker) and its own query manager, as a
 * separate driver would have. The DStreams test stops the context (the library does, as it must
 * on a cluster); the next caller gets a new one.
 */
final class TestSpark {
  static synchronized SparkSession session() {
    SparkSession existing = SparkSession.getDefaultSession().getOrElse(() -> null);
    if (existing != null && !existing.sparkContext().isStopped()) return existing;
    return SparkSession.builder()
        .master("local[2]")
        .appName("emr-rollover-driver-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate();
  }

  /** A session that stands for one driver: the marker and fast intervals in its conf. */
  static SparkSession driver(String markerUri, Map<String, String> settings) {
    SparkSession session = session().newSession();
    session.conf().set(RolloverSettings.MARKER, markerUri);
    session.conf().set(RolloverSettings.POLL_INTERVAL, "100ms");
    session.conf().set(RolloverSettings.PROGRESS_INTERVAL, "200ms");
    session.conf().set(RolloverSettings.STANDBY_POLL_INTERVAL, "100ms");
    settings.forEach(session.conf()::set);
    return session;
  }

  static void stopAll() {
    SparkSession.getDefaultSession().foreach(s -> {
      s.stop();
      return null;
    });
    SparkSession.clearDefaultSession();
    SparkSession.clearActiveSession();
  }

  private TestSpark() {}
}
