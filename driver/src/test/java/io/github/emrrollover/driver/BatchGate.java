package io.github.emrrollover.driver;

import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.TaskContext;

/**
 * Holds Structured Streaming batches inside their tasks while closed, so a test knows for sure
 * that a batch is in flight when it deletes the marker. Works because local mode runs tasks in
 * this JVM: the static state is shared. A held task ends when Spark kills it (query.stop()).
 */
final class BatchGate {
  private static volatile boolean closed;
  private static final AtomicInteger held = new AtomicInteger();

  static void close() {
    closed = true;
  }

  static void open() {
    closed = false;
  }

  static int heldTasks() {
    return held.get();
  }

  /** The identity, called on every row through a UDF. */
  static Long pass(Long value) {
    if (!closed) return value;
    held.incrementAndGet();
    try {
      while (closed) {
        TaskContext task = TaskContext.get();
        if (task != null && task.isInterrupted()) throw new IllegalStateException("task killed");
        Thread.sleep(20);
      }
      return value;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("task interrupted", e);
    } finally {
      held.decrementAndGet();
    }
  }

  private BatchGate() {}
}
