// A Structured Streaming driver in Java that honours the emr-streaming-rollover contract, with
// the driver library (driver/ in this repository). See examples/driver/README.md.
package example.java;

import io.github.emrrollover.driver.Rollover;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.Trigger;

public final class JavaRolloverExample {
  public static void main(String[] args) throws Exception {
    String output = args.length > 0 ? args[0] : "/tmp/rollover-example/output";
    String checkpoint = args.length > 1 ? args[1] : "/tmp/rollover-example/checkpoint";
    SparkSession spark = SparkSession.builder().appName("java-rollover-example").getOrCreate();

    // Refuses to start when the marker is missing; in standby, waits here for "run".
    Rollover rollover = Rollover.start(spark);
    if (rollover.retired()) { // a standby driver the rollover did not need: start nothing
      spark.stop();
      return;
    }

    StreamingQuery query =
        spark
            .readStream()
            .format("rate") // your source: Kafka, files, ...
            .option("rowsPerSecond", "10")
            .load()
            .writeStream()
            .format("parquet") // the file sink is exactly-once with its checkpoint
            .option("path", output)
            .option("checkpointLocation", checkpoint) // the same in every deployment
            .trigger(Trigger.ProcessingTime("10 seconds"))
            .start();

    // Runs until the marker is deleted, lets the batch in flight commit, stops, writes .stopped.
    rollover.awaitStop(query);
    spark.stop();
    // Return normally; never System.exit (YARN would report FAILED and may try again).
  }

  private JavaRolloverExample() {}
}
