package io.github.emrrollover.driver;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** JSON and time formatting shared by every document of the contract. */
final class Json {
  /** Jackson ships with Spark; no dependency of our own. */
  static final ObjectMapper MAPPER =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  // Always three fraction digits, as JavaScript's toISOString() prints them: the action and the
  // vectors use this form, and ISO_INSTANT would drop ".000".
  private static final DateTimeFormatter ISO_MILLIS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private Json() {}

  static ObjectNode object() {
    return NODES.objectNode();
  }

  static String iso(Instant instant) {
    return ISO_MILLIS.format(instant);
  }

  static Instant instant(JsonNode node) {
    return node == null || !node.isTextual() ? null : Instant.parse(node.asText());
  }

  static JsonNode isoOrNull(Instant instant) {
    return instant == null ? NullNode.getInstance() : TextNode.valueOf(iso(instant));
  }

  /**
   * An offset as Spark prints it, as a JSON value: Spark's text parsed as JSON (a number for the
   * rate source, an object for Kafka or files), the text itself when it is not JSON, null when
   * unknown.
   */
  static JsonNode offset(String sparkText) {
    if (sparkText == null) return NullNode.getInstance();
    try {
      JsonNode parsed = MAPPER.readTree(sparkText);
      return parsed == null || parsed.isMissingNode() ? TextNode.valueOf(sparkText) : parsed;
    } catch (JsonProcessingException notJson) {
      return TextNode.valueOf(sparkText);
    }
  }

  /** A rate as a JSON number, or null: JSON has no NaN nor Infinity (Spark can divide by 0). */
  static JsonNode rate(double value) {
    return Double.isFinite(value) ? NODES.numberNode(value) : NullNode.getInstance();
  }

  static Long longOrNull(JsonNode node) {
    return node == null || !node.isIntegralNumber() ? null : node.asLong();
  }

  static double doubleOrNaN(JsonNode node) {
    return node == null || !node.isNumber() ? Double.NaN : node.asDouble();
  }

  static String textOrNull(JsonNode node) {
    return node == null || !node.isTextual() ? null : node.asText();
  }

  static JsonNode orNull(JsonNode node) {
    return node == null ? NullNode.getInstance() : node;
  }

  static byte[] bytes(JsonNode document) {
    try {
      return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(document);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialize " + document, e);
    }
  }

  /** @throws IOException when the body is not one JSON value (empty counts as not JSON) */
  static JsonNode parse(byte[] body) throws IOException {
    JsonNode json = MAPPER.readTree(new String(body, StandardCharsets.UTF_8));
    if (json == null || json.isMissingNode()) throw new IOException("empty body");
    return json;
  }
}
