package io.github.emrrollover.driver;

import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.types.DataTypes;

/**
 * The deterministic stream of the Structured Streaming tests: the rate source (batch offsets are
 * seconds since the query's first start, kept in the checkpoint; the values of seconds
 * [a, b) are exactly [a * rate, b * rate)) into a parquet file sink with a checkpoint, with
 * the default trigger, through {@link BatchGate}.
 */
final class RateToFiles {
  static final int ROWS_PER_SECOND = 20;

  static StructuredDriver.QueryStarter into(Path output, Path checkpoint) {
    return session -> start(session, output, checkpoint);
  }

  static StreamingQuery start(SparkSession session, Path output, Path checkpoint)
      throws Exception {
    session.udf().register("gate", (UDF1<Long, Long>) BatchGate::pass, DataTypes.LongType);
    return session
        .readStream()
        .format("rate")
        .option("rowsPerSecond", ROWS_PER_SECOND)
        .option("numPartitions", 2)
        .load()
        .selectExpr("gate(value) AS value")
        .writeStream()
        .format("parquet")
        .option("path", output.toString())
        .option("checkpointLocation", checkpoint.toString())
        .start();
  }

  private RateToFiles() {}
}
