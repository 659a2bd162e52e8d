package io.github.emrrollover.driver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;

/** {@code <marker>.ready}: a standby driver has Spark up and waits for {@code mode: run}. */
record ReadyReport(
    String deploymentId, String applicationId, Instant readyAt, String sparkVersion) {

  static final String SUFFIX = ".ready";

  ObjectNode toJson() {
    ObjectNode json = Json.object();
    json.put("version", 1);
    if (deploymentId != null) json.put("deploymentId", deploymentId);
    json.put("applicationId", applicationId);
    json.set("readyAt", Json.isoOrNull(readyAt));
    json.put("sparkVersion", sparkVersion);
    return json;
  }

  static ReadyReport parse(JsonNode json) {
    return new ReadyReport(
        Json.textOrNull(json.get("deploymentId")),
        Json.textOrNull(json.get("applicationId")),
        Json.instant(json.get("readyAt")),
        Json.textOrNull(json.get("sparkVersion")));
  }
}
