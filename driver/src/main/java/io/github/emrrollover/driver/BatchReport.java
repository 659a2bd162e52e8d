package io.github.emrrollover.driver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;

/**
 * A committed batch as the driver saw it. The first one a driver ran is kept whole in
 * {@code .progress} as {@code firstBatch}: its start offsets are what the action compares with
 * the previous driver's final offsets in {@code .stopped}.
 */
record BatchReport(
    long batchId,
    Instant committedAt,
    List<SourceReport> sources,
    long numInputRows,
    double inputRowsPerSecond,
    double processedRowsPerSecond,
    Long batchDurationMs) {

  /** The {@code firstBatch} object: only what the handoff check needs. */
  ObjectNode toFirstBatchJson() {
    ObjectNode json = Json.object();
    json.put("batchId", batchId);
    json.set("committedAt", Json.isoOrNull(committedAt));
    json.set("sources", SourceReport.toJson(sources));
    return json;
  }

  static BatchReport parseFirstBatch(JsonNode json) {
    if (json == null || !json.isObject()) return null;
    return new BatchReport(
        json.path("batchId").asLong(),
        Json.instant(json.get("committedAt")),
        SourceReport.parseAll(json.get("sources")),
        0,
        Double.NaN,
        Double.NaN,
        null);
  }
}
