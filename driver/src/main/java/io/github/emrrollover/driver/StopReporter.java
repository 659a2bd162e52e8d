package io.github.emrrollover.driver;

import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes {@code <marker>.stopped}, the last report of a driver: after {@code .progress} has been
 * closed (a {@code .progress} newer than {@code .stopped} would read as "still alive"), with a
 * bounded call (the application's main thread must get to return). Best effort: EMR's step state
 * stays the authority on "stopped".
 */
final class StopReporter {
  private static final Logger LOG = LoggerFactory.getLogger(StopReporter.class);
  /** How long a stop waits for a {@code .progress} write under way before {@code .stopped}. */
  static final long PROGRESS_FLUSH_MS = 10_000;

  private final MarkerStore store;
  private final BoundedIo io;
  private final ProgressPublisher publisher;
  private final ReportContext context;

  StopReporter(MarkerStore store, BoundedIo io, ProgressPublisher publisher, ReportContext context) {
    this.store = store;
    this.io = io;
    this.publisher = publisher;
    this.context = context;
  }

  void stopped(String api, Long batchId, List<SourceReport> sources, boolean graceful,
      long drainMs) throws InterruptedException {
    if (!publisher.close(PROGRESS_FLUSH_MS)) {
      LOG.warn("a {} write was still under way when the driver stopped", ProgressReport.SUFFIX);
    }
    write(new StoppedReport(api, context.deploymentId(), context.applicationId(), Instant.now(),
        batchId, sources, drainMs, graceful, false));
  }

  /** A standby driver retired before it ran: nothing was drained, no batch is its own. */
  void retired(String api) {
    publisher.close();
    write(new StoppedReport(api, context.deploymentId(), context.applicationId(), Instant.now(),
        null, List.of(), null, true, true));
  }

  private void write(StoppedReport report) {
    String uri = store.reportUri(StoppedReport.SUFFIX);
    try {
      io.call(
          () -> {
            store.writeReport(StoppedReport.SUFFIX, Json.bytes(report.toJson()));
            return null;
          });
      if (report.retired()) LOG.info("retired in standby; wrote {}", uri);
      else LOG.info("stopped for a rollover: last committed batch {}, graceful {}; wrote {}",
          report.batchId(), report.graceful(), uri);
    } catch (Exception e) {
      if (e instanceof InterruptedException) Thread.currentThread().interrupt();
      LOG.warn("cannot write {}: {}", uri, e.toString());
    }
  }
}
