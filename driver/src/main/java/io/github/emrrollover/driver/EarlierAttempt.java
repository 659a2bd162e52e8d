package io.github.emrrollover.driver;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What an earlier attempt of this deployment left in {@code <marker>.progress}. A YARN
 * re-attempt is the same deployment (same marker, same deployment id) in a new JVM: it resumes
 * from the checkpoint its predecessor advanced, so its own first batch starts past the previous
 * deployment's final offsets. The action's handoff check compares those final offsets with
 * {@code firstBatch}; for it to see the deployment's real start, every {@code .progress} of the
 * deployment carries the first attempt's {@code firstBatch}.
 */
final class EarlierAttempt {
  private static final Logger LOG = LoggerFactory.getLogger(EarlierAttempt.class);

  private EarlierAttempt() {}

  /**
   * The first batch an earlier attempt of this deployment reported, or null: no {@code
   * .progress} yet (the first attempt, or one that committed nothing), one of another
   * deployment, or one that cannot be read. Never throws but for an interrupt: a report the
   * driver cannot read must not keep it from running (one bounded read, then it goes on).
   *
   * <p>The same deployment: the same {@code deploymentId}; for a marker without one (an
   * application's own marker), the same YARN application id, which a re-attempt keeps.
   */
  static BatchReport firstBatch(
      MarkerStore store, BoundedIo io, String deploymentId, String applicationId)
      throws InterruptedException {
    String uri = store.reportUri(ProgressReport.SUFFIX);
    JsonNode earlier;
    try {
      byte[] body = io.call(() -> store.readReport(ProgressReport.SUFFIX));
      if (body == null) return null;
      earlier = Json.parse(body);
    } catch (InterruptedException e) {
      throw e;
    } catch (Exception e) {
      LOG.warn("cannot read {} of an earlier attempt ({}); reporting this attempt's own first"
          + " batch, so the action's handoff check may see a gap", uri, e.toString());
      return null;
    }
    String earlierDeployment = Json.textOrNull(earlier.get("deploymentId"));
    boolean sameDeployment =
        deploymentId != null
            ? deploymentId.equals(earlierDeployment)
            : earlierDeployment == null
                && Objects.equals(applicationId, Json.textOrNull(earlier.get("applicationId")));
    if (!sameDeployment) {
      LOG.warn("{} is not this deployment's (deploymentId {}, applicationId {}): ignored", uri,
          earlierDeployment, Json.textOrNull(earlier.get("applicationId")));
      return null;
    }
    BatchReport first;
    try {
      first = BatchReport.parseFirstBatch(earlier.get("firstBatch"));
    } catch (RuntimeException e) { // a firstBatch of the wrong shape (committedAt not a time)
      LOG.warn("cannot read firstBatch of {}: {}; reporting this attempt's own", uri, e.toString());
      return null;
    }
    if (first == null) return null;
    LOG.info("an earlier attempt of this deployment reported its first batch {} in {}: kept as"
        + " this deployment's first batch", first.batchId(), uri);
    return first;
  }
}
