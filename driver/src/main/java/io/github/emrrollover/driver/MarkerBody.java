package io.github.emrrollover.driver;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;

/**
 * What the driver reads in its marker's body. A body that is not a version-1 JSON object (an
 * application's own marker, an empty file) means {@code mode: run}, and so does an absent
 * {@code mode} (markers written before standby existed).
 */
record MarkerBody(boolean standby, String deploymentId, String stepId) {
  static final String MODE_RUN = "run";
  static final String MODE_STANDBY = "standby";

  static final MarkerBody FOREIGN = new MarkerBody(false, null, null);

  static MarkerBody parse(byte[] body) {
    JsonNode json;
    try {
      json = body == null || body.length == 0 ? null : Json.parse(body);
    } catch (IOException notJson) {
      return FOREIGN;
    }
    if (json == null || !json.isObject()) return FOREIGN;
    JsonNode version = json.get("version");
    if (version == null || !version.isIntegralNumber() || version.asLong() != 1) return FOREIGN;
    return new MarkerBody(
        MODE_STANDBY.equals(Json.textOrNull(json.get("mode"))),
        Json.textOrNull(json.get("deploymentId")),
        Json.textOrNull(json.get("stepId")));
  }

  String mode() {
    return standby ? MODE_STANDBY : MODE_RUN;
  }
}
