package io.github.emrrollover.driver;

import java.time.Instant;

/**
 * What every report of this driver carries, fixed once the driver is cleared to run.
 *
 * @param inheritedFirstBatch the deployment's first batch as an earlier YARN attempt of it
 *     reported it, or null: see {@link EarlierAttempt}
 */
record ReportContext(
    String deploymentId,
    String applicationId,
    Instant startedAt,
    Long triggerIntervalMs,
    BatchReport inheritedFirstBatch) {

  /** The batch {@code .progress} reports as {@code firstBatch}: the deployment's, not the JVM's. */
  BatchReport firstBatch(BatchReport ownFirst) {
    return inheritedFirstBatch != null ? inheritedFirstBatch : ownFirst;
  }
}
