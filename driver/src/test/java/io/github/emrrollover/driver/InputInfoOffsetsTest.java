package io.github.emrrollover.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;
import scala.collection.JavaConverters;
import scala.collection.immutable.Map;

/** DStreams offsets are read from input-info metadata by shape only, and unknown shapes give null. */
class InputInfoOffsetsTest {
  /** Kafka's OffsetRange has these accessors; this class has them for two partitions of two topics. */
  public static final class Range {
    private final String topic;
    private final int partition;
    private final long from;
    private final long until;

    Range(String topic, int partition, long from, long until) {
      this.topic = topic;
      this.partition = partition;
      this.from = from;
      this.until = until;
    }

    public String topic() { return topic; }

    public int partition() { return partition; }

    public long fromOffset() { return from; }

    public long untilOffset() { return until; }
  }

  private static Map<String, Object> metadata(Object offsets) {
    return new Map.Map1<>("offsets", offsets);
  }

  @Test
  void rangesBecomeStructuredStreamingStyleKafkaOffsets() {
    List<Range> ranges =
        List.of(new Range("orders", 0, 10, 20), new Range("orders", 1, 5, 7), new Range("refunds", 0, 0, 3));
    JsonNode[] offsets = InputInfoOffsets.of(metadata(JavaConverters.asScalaBuffer(ranges).toList()));
    assertEquals("{\"orders\":{\"0\":10,\"1\":5},\"refunds\":{\"0\":0}}", offsets[0].toString());
    assertEquals("{\"orders\":{\"0\":20,\"1\":7},\"refunds\":{\"0\":3}}", offsets[1].toString());
  }

  @Test
  void metadataWithoutRangesGivesUnknownOffsets() {
    for (Map<String, Object> m : List.<Map<String, Object>>of(
        new Map.Map1<>("Description", "receiver stream"),
        metadata("not a list"),
        metadata(JavaConverters.asScalaBuffer(List.<Object>of("no accessors")).toList()),
        metadata(JavaConverters.asScalaBuffer(List.of()).toList()))) {
      JsonNode[] offsets = InputInfoOffsets.of(m);
      assertTrue(offsets[0].isNull() && offsets[1].isNull(), m.toString());
    }
    assertTrue(InputInfoOffsets.of(null)[0].isNull());
  }
}
