package io.github.emrrollover.driver;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.streaming.StreamingContext;
import org.apache.spark.streaming.Time;
import org.apache.spark.streaming.dstream.InputDStream;
import org.apache.spark.streaming.scheduler.StreamInputInfo;
import scala.Option;
import scala.collection.immutable.Map;
import scala.reflect.ClassTag$;

/**
 * A DStream shaped like Kafka's direct stream, without Kafka: each batch reads the next {@code n}
 * "offsets" of one partition (the values themselves) and reports them to Spark as a direct
 * stream does, {@code "offsets" -> List(OffsetRange)}, so the library's reflective reading of
 * offset ranges is exercised through Spark's real input-info path.
 */
final class FakeDirectStream extends InputDStream<Integer> {
  private static final long serialVersionUID = 1L;
  static final String TOPIC = "events";

  /** Has the accessors of Kafka's OffsetRange, and nothing else of it. */
  public static final class Range {
    private final long from;
    private final long until;

    Range(long from, long until) {
      this.from = from;
      this.until = until;
    }

    public String topic() {
      return TOPIC;
    }

    public int partition() {
      return 0;
    }

    public long fromOffset() {
      return from;
    }

    public long untilOffset() {
      return until;
    }
  }

  private final int perBatch;
  private long next;

  FakeDirectStream(StreamingContext ssc, int perBatch) {
    super(ssc, ClassTag$.MODULE$.apply(Integer.class));
    this.perBatch = perBatch;
  }

  @Override
  public void start() {}

  @Override
  public void stop() {}

  @Override
  public Option<RDD<Integer>> compute(Time validTime) {
    List<Integer> values = new ArrayList<>();
    for (long v = next; v < next + perBatch; v++) values.add((int) v);
    Range range = new Range(next, next + perBatch);
    next += perBatch;
    List<Range> ranges = List.of(range);
    Map<String, Object> metadata =
        new Map.Map1<>("offsets", scala.collection.JavaConverters.asScalaBuffer(ranges).toList());
    // What every input DStream does to appear in BatchInfo.streamIdToInputInfo.
    ssc().scheduler().inputInfoTracker()
        .reportInfo(validTime, new StreamInputInfo(id(), perBatch, metadata));
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(ssc().sparkContext());
    return Option.apply(sc.parallelize(values, 1).rdd());
  }
}
