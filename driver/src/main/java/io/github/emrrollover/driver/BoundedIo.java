package io.github.emrrollover.driver;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs a storage call on a daemon thread so that the thread that asked can give up after a
 * bound. A call that hangs (S3 that neither answers nor times out) keeps its thread; later calls
 * queue behind it and time out too, instead of piling up threads.
 */
final class BoundedIo implements AutoCloseable {
  private final ExecutorService executor;
  private final long timeoutMs;

  BoundedIo(String threadName, long timeoutMs) {
    this.timeoutMs = timeoutMs;
    this.executor =
        Executors.newSingleThreadExecutor(
            task -> {
              Thread thread = new Thread(task, threadName);
              thread.setDaemon(true); // never keeps the driver's JVM alive
              return thread;
            });
  }

  /**
   * @throws TimeoutException when the call has not returned within the bound
   * @throws Exception what the call threw
   */
  <T> T call(Callable<T> task) throws Exception {
    Future<T> future = executor.submit(task);
    try {
      return future.get(timeoutMs, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof Exception) throw (Exception) cause;
      throw e;
    } catch (TimeoutException e) {
      future.cancel(true);
      throw new TimeoutException("no answer within " + timeoutMs + "ms");
    } catch (InterruptedException e) {
      future.cancel(true);
      throw e;
    }
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
