package io.github.emrrollover.driver;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;

/**
 * One simulated Structured Streaming driver: a thread doing what an application's main does
 * with the library (start, maybe retire, start the query, awaitStop), in its own session.
 */
final class StructuredDriver {
  interface QueryStarter {
    StreamingQuery start(SparkSession session) throws Exception;
  }

  final SparkSession session;
  private final CompletableFuture<Rollover> rollover = new CompletableFuture<>();
  private final CompletableFuture<StreamingQuery> query = new CompletableFuture<>();
  private final Thread main;
  private volatile Throwable failure;

  private StructuredDriver(String name, SparkSession session, QueryStarter starter) {
    this.session = session;
    this.main =
        new Thread(
            () -> {
              try {
                Rollover r = Rollover.start(session);
                rollover.complete(r);
                if (r.retired()) return;
                StreamingQuery q = starter.start(session);
                query.complete(q);
                r.awaitStop(q);
              } catch (Throwable t) {
                failure = t;
                rollover.completeExceptionally(t);
                query.completeExceptionally(t);
              }
            },
            "driver-" + name);
  }

  static StructuredDriver launch(String name, SparkSession session, QueryStarter starter) {
    StructuredDriver driver = new StructuredDriver(name, session, starter);
    driver.main.start();
    return driver;
  }

  /** Returns once Rollover.start returned (after the standby, if any). */
  Rollover rollover() {
    return get(rollover, "Rollover.start to return");
  }

  StreamingQuery query() {
    return get(query, "the query to start");
  }

  boolean mainReturned() {
    return !main.isAlive();
  }

  /** Waits for main to return, and fails the test with what main threw, if anything. */
  void join() throws InterruptedException {
    main.join(Await.GENEROUS.toMillis());
    assertFalse(main.isAlive(), main.getName() + " did not return from main");
    if (failure != null) throw new AssertionError(main.getName() + " failed", failure);
  }

  Throwable joinFailure() throws InterruptedException {
    main.join(Await.GENEROUS.toMillis());
    assertFalse(main.isAlive(), main.getName() + " did not return from main");
    return failure;
  }

  private static <T> T get(CompletableFuture<T> future, String what) {
    try {
      return future.get(Await.GENEROUS.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      fail("waiting for " + what, e);
      return null;
    }
  }
}
