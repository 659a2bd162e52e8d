// A Spark Streaming (DStreams) driver that honours the emr-streaming-rollover contract, with
// the driver library (driver/ in this repository). See examples/driver/README.md.
package example.dstreams

import io.github.emrrollover.driver.Rollover
import org.apache.spark.{SparkConf, SparkContext}
import org.apache.spark.streaming.{Seconds, StreamingContext}

object DStreamsRolloverExample {
  def main(args: Array[String]): Unit = {
    val checkpoint = args.lift(0).getOrElse("/tmp/rollover-example/dstreams-checkpoint")
    val sc = new SparkContext(new SparkConf().setAppName("dstreams-rollover-example"))

    // Before getOrCreate: a standby driver must not read the checkpoint until "run".
    val rollover = Rollover.start(sc)
    if (rollover.retired) {
      sc.stop()
      return
    }

    val ssc = StreamingContext.getOrCreate(checkpoint, () => createContext(sc, checkpoint))
    // Starts ssc, runs until the marker is deleted, then stop(stopSparkContext = true,
    // stopGracefully = true) on this thread, and writes .stopped.
    rollover.awaitStop(ssc)
  }

  /** Placeholder stream: replace with yours. Everything here is rebuilt from the checkpoint. */
  private def createContext(sc: SparkContext, checkpoint: String): StreamingContext = {
    val ssc = new StreamingContext(sc, Seconds(10))
    ssc.checkpoint(checkpoint)
    ssc.socketTextStream("localhost", 9999)
      .flatMap(_.split("\\s+"))
      .map(word => (word, 1L))
      .reduceByKey(_ + _)
      .print()
    ssc
  }
}
