package io.github.emrrollover.sample;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import io.github.emrrollover.driver.Rollover;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.Trigger;

/**
 * The sample application of the local stack's real-Spark mode: a Structured Streaming query
 * from the rate source (deterministic: the values of seconds [a, b) are exactly [a * rate,
 * b * rate), and the seconds are offsets kept in the checkpoint) to a JSON file sink, each row
 * stamped with this jar's version. Every deployment uses the same checkpoint and sink, so the
 * sink's rows show which version processed which values: exactly once each, v1 then v2.
 *
 * <p>Arguments: {@code --state <uri>} (checkpoint at {@code <uri>/checkpoint}, rows at {@code
 * <uri>/output}), {@code --rows-per-second <n>} (default 10), {@code --trigger-ms <n>}
 * (default 2000). The version is the jar's {@code rollover-sample-version.txt}: the stack writes
 * v1 and v2 jars from one build by changing only that entry.
 */
public final class RateToJsonApp {
  private RateToJsonApp() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> options = options(args);
    String state = options.get("--state");
    if (state == null) throw new IllegalArgumentException("usage: --state <uri> [...]");
    long triggerMs = Long.parseLong(options.getOrDefault("--trigger-ms", "2000"));
    SparkSession spark = SparkSession.builder().appName("rollover-sample").getOrCreate();
    // The library reports the trigger interval in .progress: the action's heartbeat bound.
    if (!spark.conf().contains("spark.rollover.triggerInterval")) {
      spark.conf().set("spark.rollover.triggerInterval", triggerMs + "ms");
    }
    Rollover rollover = Rollover.start(spark);
    if (rollover.retired()) {
      spark.stop();
      return;
    }
    StreamingQuery query =
        spark
            .readStream()
            .format("rate")
            .option("rowsPerSecond", options.getOrDefault("--rows-per-second", "10"))
            .option("numPartitions", 2)
            .load()
            .select(col("value"), lit(version()).as("version"))
            .writeStream()
            .queryName("rate-to-json")
            .format("json")
            .option("path", state + "/output")
            .option("checkpointLocation", state + "/checkpoint")
            .trigger(Trigger.ProcessingTime(triggerMs))
            .start();
    rollover.awaitStop(query);
    spark.stop();
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) options.put(args[i], args[i + 1]);
    return options;
  }

  private static String version() throws IOException {
    try (InputStream in =
        RateToJsonApp.class.getResourceAsStream("/rollover-sample-version.txt")) {
      return in == null ? "unknown" : new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
    }
  }
}
