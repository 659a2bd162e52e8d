package io.github.emrrollover.driver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import scala.Option;

/**
 * Offsets of a DStreams input from its {@code StreamInputInfo} metadata, without a dependency on
 * any connector: a Kafka direct stream puts its {@code OffsetRange}s under {@code "offsets"}, and
 * any element with {@code topic()}, {@code partition()}, {@code fromOffset()} and
 * {@code untilOffset()} is read the same way. The result has the shape of Structured Streaming's
 * Kafka offsets, {@code {"topic": {"0": 42}}}, so the action compares both alike.
 */
final class InputInfoOffsets {
  /** {@code [startOffset, endOffset]}, both JSON null when the metadata holds no such ranges. */
  static JsonNode[] of(scala.collection.Map<String, Object> metadata) {
    JsonNode[] unknown = {NullNode.getInstance(), NullNode.getInstance()};
    if (metadata == null) return unknown;
    Option<Object> ranges = metadata.get("offsets");
    if (ranges.isEmpty()) return unknown;
    List<Object> elements = elements(ranges.get());
    if (elements == null || elements.isEmpty()) return unknown;
    ObjectNode start = Json.object();
    ObjectNode end = Json.object();
    try {
      for (Object range : elements) {
        String topic = String.valueOf(call(range, "topic"));
        String partition = String.valueOf(call(range, "partition"));
        start.with(topic).put(partition, ((Number) call(range, "fromOffset")).longValue());
        end.with(topic).put(partition, ((Number) call(range, "untilOffset")).longValue());
      }
    } catch (ReflectiveOperationException | RuntimeException notARange) {
      return unknown;
    }
    return new JsonNode[] {start, end};
  }

  private static List<Object> elements(Object value) {
    List<Object> elements = new ArrayList<>();
    if (value instanceof scala.collection.Iterable) {
      scala.collection.Iterator<?> it = ((scala.collection.Iterable<?>) value).iterator();
      while (it.hasNext()) elements.add(it.next());
    } else if (value instanceof Iterable) {
      for (Object element : (Iterable<?>) value) elements.add(element);
    } else if (value instanceof Object[]) {
      for (Object element : (Object[]) value) elements.add(element);
    } else {
      return null;
    }
    return elements;
  }

  private static Object call(Object target, String method) throws ReflectiveOperationException {
    Method m = target.getClass().getMethod(method);
    return m.invoke(target);
  }

  private InputInfoOffsets() {}
}
