package io.github.emrrollover.driver;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The shape of each kind of document, inferred from the contract vectors in
 * {@code src/contract/vectors} (the same files the TypeScript side parses): which fields every
 * example has, and which JSON types each field takes. A document the driver writes must have
 * every such field, with one of those types, and no field the vectors do not know except the
 * few this library adds (readers ignore unknown fields; the report lists them).
 */
final class VectorSchema {
  /** Fields this library writes that no vector shows yet. */
  static final Map<String, Set<String>> ADDED =
      Map.of("progress", Set.of("queryId"), "stopped", Set.of("retired"));

  /** Free-form JSON values: their inside is Spark's (offsets) or the action's business. */
  private static final Set<String> OPAQUE =
      Set.of("startOffset", "endOffset", "github", "someFieldFromTheFuture");

  /** Offsets are any JSON value (the README of the vectors): a number, an object, text, null. */
  private static final Set<String> ANY_TYPE = Set.of("startOffset", "endOffset");

  static Path directory() {
    String dir = System.getProperty("contract.vectors", "../src/contract/vectors");
    return Path.of(dir).toAbsolutePath().normalize();
  }

  static JsonNode manifest() {
    return read(directory().resolve("manifest.json"));
  }

  static JsonNode read(Path file) {
    try {
      return Json.parse(Files.readAllBytes(file));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every vector of a kind, parsed. */
  static List<JsonNode> vectors(String kind) {
    List<JsonNode> documents = new ArrayList<>();
    for (JsonNode entry : manifest().get("vectors")) {
      if (kind.equals(entry.get("kind").asText())) {
        documents.add(read(directory().resolve(entry.get("file").asText())));
      }
    }
    assertTrue(!documents.isEmpty(), "no vector of kind " + kind);
    return documents;
  }

  static void assertConforms(String kind, JsonNode document) {
    assertNotNull(document, "no " + kind + " document");
    Shape shape = new Shape();
    for (JsonNode vector : vectors(kind)) shape.learn("", vector);
    List<String> problems = new ArrayList<>();
    shape.check("", document, ADDED.getOrDefault(kind, Set.of()), problems);
    if (!problems.isEmpty()) fail(kind + " document " + document + " differs from the vectors: " + problems);
  }

  private static String type(JsonNode node) {
    return node.isNumber() ? "number" : node.getNodeType().name().toLowerCase();
  }

  /** Per object path ("", "firstBatch", "sources[]", ...): required fields and field types. */
  private static final class Shape {
    private final Map<String, Set<String>> required = new HashMap<>();
    private final Map<String, Set<String>> types = new HashMap<>();

    void learn(String path, JsonNode object) {
      Set<String> fields = new LinkedHashSet<>();
      object.fieldNames().forEachRemaining(fields::add);
      required.merge(path, fields, (a, b) -> { Set<String> both = new HashSet<>(a); both.retainAll(b); return both; });
      for (String field : fields) {
        JsonNode value = object.get(field);
        String fieldPath = path.isEmpty() ? field : path + "." + field;
        types.computeIfAbsent(fieldPath, k -> new HashSet<>()).add(type(value));
        if (OPAQUE.contains(field)) continue;
        if (value.isObject()) learn(fieldPath, value);
        if (value.isArray()) for (JsonNode element : value) if (element.isObject()) learn(fieldPath + "[]", element);
      }
    }

    void check(String path, JsonNode object, Set<String> added, List<String> problems) {
      for (String field : required.getOrDefault(path, Set.of())) {
        if (!object.has(field)) problems.add("missing " + (path.isEmpty() ? "" : path + ".") + field);
      }
      for (Iterator<String> it = object.fieldNames(); it.hasNext(); ) {
        String field = it.next();
        JsonNode value = object.get(field);
        String fieldPath = path.isEmpty() ? field : path + "." + field;
        Set<String> known = types.get(fieldPath);
        if (known == null) {
          if (!added.contains(fieldPath)) problems.add("unknown field " + fieldPath);
          continue;
        }
        if (!ANY_TYPE.contains(field) && !known.contains(type(value))) problems.add(fieldPath + " is " + type(value) + ", vectors have " + known);
        if (OPAQUE.contains(field)) continue;
        if (value.isObject()) check(fieldPath, value, added, problems);
        if (value.isArray()) for (JsonNode element : value) if (element.isObject()) check(fieldPath + "[]", element, added, problems);
      }
    }
  }

  private VectorSchema() {}
}
