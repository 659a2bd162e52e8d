package io.github.emrrollover.driver;

import java.time.Instant;

/** What every report of this driver carries, fixed once the driver is cleared to run. */
record ReportContext(
    String deploymentId, String applicationId, Instant startedAt, Long triggerIntervalMs) {}
