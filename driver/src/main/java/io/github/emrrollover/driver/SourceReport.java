package io.github.emrrollover.driver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * One source of a batch: {@code description} as Spark prints the source, {@code startOffset} and
 * {@code endOffset} as JSON values (see {@link Json#offset}), and {@code numInputRows}, which
 * {@code .stopped} leaves out (null here).
 */
record SourceReport(String description, JsonNode startOffset, JsonNode endOffset, Long numInputRows) {

  ObjectNode toJson() {
    ObjectNode json = Json.object();
    json.put("description", description);
    json.set("startOffset", Json.orNull(startOffset));
    json.set("endOffset", Json.orNull(endOffset));
    if (numInputRows != null) json.put("numInputRows", numInputRows);
    return json;
  }

  static SourceReport parse(JsonNode json) {
    return new SourceReport(
        Json.textOrNull(json.get("description")),
        Json.orNull(json.get("startOffset")),
        Json.orNull(json.get("endOffset")),
        Json.longOrNull(json.get("numInputRows")));
  }

  static ArrayNode toJson(List<SourceReport> sources) {
    ArrayNode array = Json.NODES.arrayNode();
    for (SourceReport source : sources) array.add(source.toJson());
    return array;
  }

  static List<SourceReport> parseAll(JsonNode array) {
    List<SourceReport> sources = new ArrayList<>();
    if (array != null && array.isArray()) for (JsonNode json : array) sources.add(parse(json));
    return List.copyOf(sources);
  }
}
