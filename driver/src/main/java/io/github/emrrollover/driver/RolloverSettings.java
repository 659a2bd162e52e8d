package io.github.emrrollover.driver;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.network.util.JavaUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code spark.rollover.*} settings, read once when the driver starts. Durations take Spark's
 * forms ({@code 500ms}, {@code 5s}, {@code 10min}, {@code 1h}); a bare number is milliseconds.
 */
final class RolloverSettings {
  private static final Logger LOG = LoggerFactory.getLogger(RolloverSettings.class);

  static final String MARKER = "spark.rollover.marker";
  /** The action also puts the marker in the application master's environment. */
  static final String MARKER_ENV = "ROLLOVER_MARKER";

  static final String POLL_INTERVAL = "spark.rollover.pollInterval";
  static final String PROGRESS_INTERVAL = "spark.rollover.progressInterval";
  static final String DRAIN_TIMEOUT = "spark.rollover.drainTimeout";
  static final String STANDBY_TIMEOUT = "spark.rollover.standbyTimeout";
  static final String STANDBY_POLL_INTERVAL = "spark.rollover.standbyPollInterval";
  static final String STARTUP_TIMEOUT = "spark.rollover.startupTimeout";
  static final String IO_TIMEOUT = "spark.rollover.ioTimeout";
  static final String TRIGGER_INTERVAL = "spark.rollover.triggerInterval";

  private static final Set<String> KNOWN =
      Set.of(
          MARKER,
          POLL_INTERVAL,
          PROGRESS_INTERVAL,
          DRAIN_TIMEOUT,
          STANDBY_TIMEOUT,
          STANDBY_POLL_INTERVAL,
          STARTUP_TIMEOUT,
          IO_TIMEOUT,
          TRIGGER_INTERVAL);

  /** Where the driver's marker is: {@code s3://}, {@code s3a://}, {@code file://}, any Hadoop FS. */
  final String markerUri;
  /** How often the watcher checks that the marker still exists. */
  final long pollIntervalMs;
  /** The least time between two {@code .progress} writes (the first is written at once). */
  final long progressIntervalMs;
  /** How long a stop waits for the batch in flight before it stops anyway. */
  final long drainTimeoutMs;
  /** How long a standby driver waits for {@code mode: run} before it gives up. */
  final long standbyTimeoutMs;
  /** How often a standby driver re-reads its marker; short, since it adds to the downtime. */
  final long standbyPollIntervalMs;
  /** How long start-up retries errors reading the marker before it refuses to start. */
  final long startupTimeoutMs;
  /** The bound on one marker read or report write made from the application's main thread. */
  final long ioTimeoutMs;
  /** The query's trigger interval, reported in {@code .progress}; null when not given. */
  final Long triggerIntervalMs;

  private RolloverSettings(Map<String, String> conf, Map<String, String> env) {
    String marker = conf.get(MARKER);
    if (marker == null || marker.isBlank()) marker = env.get(MARKER_ENV);
    if (marker == null || marker.isBlank()) {
      throw new RolloverException(
          "no rollover marker: pass --conf "
              + MARKER
              + "=s3://BUCKET/KEY (the emr-streaming-rollover action does, and sets "
              + MARKER_ENV
              + " in the application master's environment)");
    }
    markerUri = marker.trim();
    pollIntervalMs = duration(conf, POLL_INTERVAL, "5s", 1);
    progressIntervalMs = duration(conf, PROGRESS_INTERVAL, "5s", 0);
    drainTimeoutMs = duration(conf, DRAIN_TIMEOUT, "5min", 0);
    standbyTimeoutMs = duration(conf, STANDBY_TIMEOUT, "1h", 1);
    standbyPollIntervalMs = duration(conf, STANDBY_POLL_INTERVAL, "1s", 1);
    startupTimeoutMs = duration(conf, STARTUP_TIMEOUT, "60s", 0);
    ioTimeoutMs = duration(conf, IO_TIMEOUT, "60s", 1);
    triggerIntervalMs =
        conf.containsKey(TRIGGER_INTERVAL) ? duration(conf, TRIGGER_INTERVAL, null, 0) : null;
  }

  /**
   * @param conf every setting the driver has (only {@code spark.rollover.*} are read)
   * @param env the process environment, for {@value #MARKER_ENV}
   */
  static RolloverSettings from(Map<String, String> conf, Map<String, String> env) {
    Set<String> unknown = new TreeSet<>();
    for (String key : conf.keySet()) {
      if (key.startsWith("spark.rollover.") && !KNOWN.contains(key)) unknown.add(key);
    }
    // A misspelt key would otherwise be silently ignored, and its default used.
    if (!unknown.isEmpty()) LOG.warn("ignoring unknown settings {}; known: {}", unknown, KNOWN);
    return new RolloverSettings(conf, env);
  }

  private static long duration(Map<String, String> conf, String key, String byDefault, long min) {
    String text = conf.getOrDefault(key, byDefault).trim();
    long ms;
    try {
      ms = JavaUtils.timeStringAsMs(text);
    } catch (NumberFormatException e) {
      throw new RolloverException(
          key + "=" + text + " is not a duration (examples: 500ms, 5s, 10min, 1h)", e);
    }
    if (ms < min) throw new RolloverException(key + "=" + text + " must be at least " + min + "ms");
    return ms;
  }
}
