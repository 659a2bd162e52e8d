package io.github.emrrollover.driver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;

/**
 * {@code <marker>.progress}: the last committed batch, and the first one this driver ran. See
 * {@code src/contract/vectors/progress-*.json} for examples.
 *
 * @param api {@code structured-streaming} or {@code dstreams}
 * @param deploymentId from the marker's body, or null
 * @param queryName the query's name, or null (Structured Streaming only)
 * @param queryId the query's id, or null (Structured Streaming only)
 * @param startedAt when this driver was cleared to process (after standby, if any)
 * @param triggerIntervalMs the batch interval when known, or null
 */
record ProgressReport(
    String api,
    String deploymentId,
    String applicationId,
    String queryName,
    String queryId,
    Instant startedAt,
    BatchReport last,
    BatchReport first,
    Long triggerIntervalMs) {

  static final String SUFFIX = ".progress";

  ObjectNode toJson() {
    ObjectNode json = Json.object();
    json.put("version", 1);
    json.put("api", api);
    if (deploymentId != null) json.put("deploymentId", deploymentId);
    json.put("applicationId", applicationId);
    if (queryName != null) json.put("queryName", queryName);
    if (queryId != null) json.put("queryId", queryId);
    json.set("startedAt", Json.isoOrNull(startedAt));
    json.put("batchId", last.batchId());
    json.set("committedAt", Json.isoOrNull(last.committedAt()));
    json.put("firstBatchId", first.batchId());
    json.set("firstBatch", first.toFirstBatchJson());
    json.set("sources", SourceReport.toJson(last.sources()));
    json.put("numInputRows", last.numInputRows());
    json.set("inputRowsPerSecond", Json.rate(last.inputRowsPerSecond()));
    json.set("processedRowsPerSecond", Json.rate(last.processedRowsPerSecond()));
    if (last.batchDurationMs() != null) json.put("batchDurationMs", last.batchDurationMs());
    if (triggerIntervalMs != null) json.put("triggerIntervalMs", triggerIntervalMs);
    return json;
  }

  static ProgressReport parse(JsonNode json) {
    BatchReport last =
        new BatchReport(
            json.path("batchId").asLong(),
            Json.instant(json.get("committedAt")),
            SourceReport.parseAll(json.get("sources")),
            json.path("numInputRows").asLong(),
            Json.doubleOrNaN(json.get("inputRowsPerSecond")),
            Json.doubleOrNaN(json.get("processedRowsPerSecond")),
            Json.longOrNull(json.get("batchDurationMs")));
    BatchReport first = BatchReport.parseFirstBatch(json.get("firstBatch"));
    if (first == null) {
      // Older documents carry only firstBatchId (the vectors' DStreams example).
      long firstId = json.path("firstBatchId").asLong(last.batchId());
      first = new BatchReport(firstId, null, List.of(), 0, Double.NaN, Double.NaN, null);
    }
    return new ProgressReport(
        Json.textOrNull(json.get("api")),
        Json.textOrNull(json.get("deploymentId")),
        Json.textOrNull(json.get("applicationId")),
        Json.textOrNull(json.get("queryName")),
        Json.textOrNull(json.get("queryId")),
        Json.instant(json.get("startedAt")),
        last,
        first,
        Json.longOrNull(json.get("triggerIntervalMs")));
  }
}
