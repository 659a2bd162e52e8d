package io.github.emrrollover.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The contract vectors (src/contract/vectors, shared with the action's tests): every vector of
 * the manifest parses with the driver's readers and has the values its manifest entry expects;
 * every document the driver writes has the vectors' fields and types and reads back the same.
 */
class ContractVectorsTest {
  private static final Instant T0 = Instant.parse("2026-12-01T12:00:00.000Z");

  @TestFactory
  Stream<DynamicTest> everyVectorOfTheManifestMeetsItsExpectations() {
    JsonNode manifest = VectorSchema.manifest();
    assertEquals(1, manifest.get("version").asInt());
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode entry : manifest.get("vectors")) {
      String file = entry.get("file").asText();
      tests.add(DynamicTest.dynamicTest(file, () -> check(entry)));
    }
    assertTrue(tests.size() >= 12, "the manifest lists " + tests.size() + " vectors");
    return tests.stream();
  }

  private static void check(JsonNode entry) throws Exception {
    String file = entry.get("file").asText();
    byte[] body = java.nio.file.Files.readAllBytes(VectorSchema.directory().resolve(file));
    String kind = entry.get("kind").asText();
    JsonNode expect = entry.get("expect");
    Map<String, JsonNode> actual =
        switch (kind) {
          case "marker" -> marker(MarkerBody.parse(body));
          case "ready" -> ready(ReadyReport.parse(Json.parse(body)));
          case "progress" -> progress(ProgressReport.parse(Json.parse(body)));
          case "stopped" -> stopped(StoppedReport.parse(Json.parse(body)));
          default -> throw new AssertionError("unknown kind " + kind + " in the manifest");
        };
    for (Iterator<String> it = expect.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      assertTrue(actual.containsKey(field), file + ": the driver does not read " + field);
      assertTrue(sameValue(expect.get(field), actual.get(field)),
          file + ": " + field + " expected " + expect.get(field) + " but read " + actual.get(field));
    }
  }

  /** JSON equality, numbers by value (1207 is 1207 whether Jackson holds an int or a long). */
  private static boolean sameValue(JsonNode expected, JsonNode actual) {
    if (expected.isNumber() && actual.isNumber()) {
      return expected.decimalValue().compareTo(actual.decimalValue()) == 0;
    }
    return expected.equals(actual);
  }

  private static Map<String, JsonNode> marker(MarkerBody m) {
    return Map.of(
        "mode", text(m.mode()),
        "deploymentId", text(m.deploymentId()),
        "stepId", text(m.stepId()));
  }

  private static Map<String, JsonNode> ready(ReadyReport r) {
    return Map.of("applicationId", text(r.applicationId()), "readyAt", Json.isoOrNull(r.readyAt()));
  }

  private static Map<String, JsonNode> progress(ProgressReport p) {
    return Map.of(
        "batchId", Json.NODES.numberNode(p.last().batchId()),
        "firstBatchId", Json.NODES.numberNode(p.first().batchId()),
        "committedAt", Json.isoOrNull(p.last().committedAt()),
        "sources", Json.NODES.numberNode(p.last().sources().size()),
        "firstSources", Json.NODES.numberNode(p.first().sources().size()),
        "triggerIntervalMs", number(p.triggerIntervalMs()));
  }

  private static Map<String, JsonNode> stopped(StoppedReport s) {
    return Map.of(
        "batchId", number(s.batchId()),
        "stoppedAt", Json.isoOrNull(s.stoppedAt()),
        "sources", Json.NODES.numberNode(s.sources().size()));
  }

  @Test
  void markerBodiesThatAreNotVersionOneObjectsMeanRun() {
    for (String body : new String[] {"", "not json", "[]", "42", "{\"version\":2,\"mode\":\"standby\"}",
        "{\"version\":\"1\",\"mode\":\"standby\"}", "{\"mode\":\"standby\"}"}) {
      MarkerBody parsed = MarkerBody.parse(body.getBytes(StandardCharsets.UTF_8));
      assertFalse(parsed.standby(), body);
      assertNull(parsed.deploymentId(), body);
    }
    assertFalse(MarkerBody.parse(null).standby());
    assertFalse(MarkerBody.parse(bytes("{\"version\":1,\"mode\":\"drain\"}")).standby(),
        "a mode this driver does not know is not standby");
    assertTrue(MarkerBody.parse(bytes("{\"version\":1,\"mode\":\"standby\"}")).standby());
  }

  @Test
  void progressWrittenForStructuredStreamingConformsAndReadsBack() {
    SourceReport kafka =
        new SourceReport("KafkaV2[Subscribe[orders]]", Json.offset("{\"orders\":{\"0\":5}}"),
            Json.offset("{\"orders\":{\"0\":9}}"), 4L);
    BatchReport first = new BatchReport(7, T0, List.of(kafka), 4, 2.0, Double.NaN, 120L);
    BatchReport last = new BatchReport(9, T0.plusSeconds(20), List.of(kafka), 4, 0.5, 8.25, 480L);
    ProgressReport report =
        new ProgressReport("structured-streaming", "deploy-1", "application_1_0001", "orders",
            "5b0c0a8e-0000-4000-8000-000000000000", T0.minusSeconds(5), last, first, 10_000L);
    JsonNode json = report.toJson();
    VectorSchema.assertConforms("progress", json);
    ProgressReport read = ProgressReport.parse(json);
    assertEquals(json, read.toJson(), "write, read, write gives the same document");
    assertEquals(9, read.last().batchId());
    assertEquals(7, read.first().batchId());
    assertEquals(kafka.startOffset(), read.first().sources().get(0).startOffset());
    assertEquals(T0.plusSeconds(20), read.last().committedAt());
    assertEquals(8.25, read.last().processedRowsPerSecond());
    assertTrue(json.get("processedRowsPerSecond").isNumber());
    assertTrue(json.get("firstBatch").get("sources").get(0).get("startOffset").isObject());
  }

  @Test
  void progressWrittenForDStreamsConformsAndWritesNoNaN() {
    SourceReport input = new SourceReport("input-0", Json.offset(null), Json.offset(null), 120L);
    BatchReport batch = new BatchReport(1764590460000L, T0, List.of(input), 120, Double.NaN,
        Double.POSITIVE_INFINITY, 2400L);
    ProgressReport report =
        new ProgressReport("dstreams", null, "application_1_0002", null, null, T0, batch, batch,
            10_000L);
    JsonNode json = report.toJson();
    VectorSchema.assertConforms("progress", json);
    assertTrue(json.get("inputRowsPerSecond").isNull(), "JSON has no NaN");
    assertTrue(json.get("processedRowsPerSecond").isNull(), "JSON has no Infinity");
    assertFalse(json.has("deploymentId"), "unknown, so left out");
    assertEquals(json, ProgressReport.parse(json).toJson());
  }

  @Test
  void stoppedAndReadyWrittenConformAndReadBack() {
    SourceReport rate = new SourceReport("RateStreamV2[...]", Json.offset("40"), Json.offset("50"), null);
    StoppedReport stopped = new StoppedReport("structured-streaming", "deploy-1", "app", T0, 4L,
        List.of(rate), 3883L, true, false);
    StoppedReport none = new StoppedReport("dstreams", null, "app", T0, null, List.of(), 10L, false, false);
    StoppedReport retired = new StoppedReport("structured-streaming", "deploy-2", "app", T0, null,
        List.of(), null, true, true);
    for (StoppedReport report : List.of(stopped, none, retired)) {
      JsonNode json = report.toJson();
      VectorSchema.assertConforms("stopped", json);
      assertEquals(report, StoppedReport.parse(json));
    }
    assertTrue(stopped.toJson().get("sources").get(0).get("endOffset").isNumber());
    assertFalse(stopped.toJson().get("sources").get(0).has("numInputRows"));
    assertTrue(none.toJson().get("batchId").isNull(), "no batch: null, not absent");

    ReadyReport ready = new ReadyReport("deploy-2", "application_1_0003", T0, "3.5.7");
    VectorSchema.assertConforms("ready", ready.toJson());
    assertEquals(ready, ReadyReport.parse(ready.toJson()));
  }

  @Test
  void offsetsAreSparksTextAsJsonValues() {
    assertTrue(Json.offset("40").isIntegralNumber());
    assertTrue(Json.offset("{\"logOffset\":8}").isObject());
    assertEquals("not json at all", Json.offset("not json at all").asText());
    assertTrue(Json.offset("12 and more").isTextual(), "trailing text is not a number");
    assertTrue(Json.offset(null).isNull());
  }

  @Test
  void timesHaveThreeFractionDigitsAsTheActionWrites() {
    assertEquals("2026-12-01T12:10:00.000Z", Json.iso(Instant.parse("2026-12-01T12:10:00Z")));
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static JsonNode text(String value) {
    return value == null ? Json.NODES.nullNode() : Json.NODES.textNode(value);
  }

  private static JsonNode number(Long value) {
    return value == null ? Json.NODES.nullNode() : Json.NODES.numberNode(value);
  }
}
