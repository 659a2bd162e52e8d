// A Structured Streaming driver that honours the emr-streaming-rollover contract, with the
// driver library (driver/ in this repository). See examples/driver/README.md.
package example.structured

import io.github.emrrollover.driver.Rollover
import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.streaming.Trigger

object StructuredStreamingRolloverExample {
  def main(args: Array[String]): Unit = {
    val output = args.lift(0).getOrElse("/tmp/rollover-example/output")
    val checkpoint = args.lift(1).getOrElse("/tmp/rollover-example/checkpoint")
    val spark = SparkSession.builder().appName("structured-streaming-rollover-example").getOrCreate()
    spark.conf.set("spark.rollover.triggerInterval", "10s") // reported in .progress

    // Refuses to start when the marker is missing; in standby, waits here for "run".
    val rollover = Rollover.start(spark)
    if (rollover.retired) { // a standby driver the rollover did not need: start nothing
      spark.stop()
      return
    }

    val query = spark.readStream
      .format("rate") // your source: Kafka, files, ...
      .option("rowsPerSecond", "10")
      .load()
      .writeStream
      .format("parquet") // the file sink is exactly-once with its checkpoint
      .option("path", output)
      .option("checkpointLocation", checkpoint) // the same in every deployment
      .trigger(Trigger.ProcessingTime("10 seconds"))
      .start()

    // Runs until the marker is deleted, lets the batch in flight commit, stops, writes .stopped.
    rollover.awaitStop(query)
    spark.stop()
    // Return normally; never System.exit (YARN would report FAILED and may try again).
  }
}
