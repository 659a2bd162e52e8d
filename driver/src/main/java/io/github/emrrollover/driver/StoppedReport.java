package io.github.emrrollover.driver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;

/**
 * {@code <marker>.stopped}: written just before the driver returns from {@code main} after its
 * marker was deleted. {@code batchId} and the sources' {@code endOffset} are the last batch the
 * checkpoint holds as committed: exactly where the next driver starts.
 *
 * @param batchId the last committed batch, or null when there is none
 * @param drainMs from "marker gone" to "stopped", or null when nothing was drained
 * @param graceful false when the drain bound was hit (the next driver re-runs that batch) or the
 *     stop did not complete
 * @param retired true when a standby driver was retired before it ran anything
 */
record StoppedReport(
    String api,
    String deploymentId,
    String applicationId,
    Instant stoppedAt,
    Long batchId,
    List<SourceReport> sources,
    Long drainMs,
    boolean graceful,
    boolean retired) {

  static final String SUFFIX = ".stopped";

  ObjectNode toJson() {
    ObjectNode json = Json.object();
    json.put("version", 1);
    json.put("api", api);
    if (deploymentId != null) json.put("deploymentId", deploymentId);
    json.put("applicationId", applicationId);
    json.set("stoppedAt", Json.isoOrNull(stoppedAt));
    if (batchId == null) json.putNull("batchId");
    else json.put("batchId", batchId);
    json.set("sources", SourceReport.toJson(sources));
    if (drainMs != null) json.put("drainMs", drainMs);
    json.put("graceful", graceful);
    if (retired) json.put("retired", true);
    return json;
  }

  static StoppedReport parse(JsonNode json) {
    return new StoppedReport(
        Json.textOrNull(json.get("api")),
        Json.textOrNull(json.get("deploymentId")),
        Json.textOrNull(json.get("applicationId")),
        Json.instant(json.get("stoppedAt")),
        Json.longOrNull(json.get("batchId")),
        SourceReport.parseAll(json.get("sources")),
        Json.longOrNull(json.get("drainMs")),
        json.path("graceful").asBoolean(false),
        json.path("retired").asBoolean(false));
  }
}
