package io.github.emrrollover.driver;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Waits on a condition with a generous bound instead of sleeping a guessed time: a loaded
 * machine makes a test slower, never wrong.
 */
final class Await {
  static final Duration GENEROUS = Duration.ofSeconds(90);

  static <T> T value(String what, Supplier<T> probe) {
    return value(what, GENEROUS, probe);
  }

  static <T> T value(String what, Duration bound, Supplier<T> probe) {
    long deadline = System.nanoTime() + bound.toNanos();
    while (true) {
      T value = probe.get();
      if (value != null) return value;
      if (System.nanoTime() > deadline) fail("gave up after " + bound + " waiting for " + what);
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        fail("interrupted waiting for " + what);
      }
    }
  }

  static void until(String what, BooleanSupplier condition) {
    value(what, GENEROUS, () -> condition.getAsBoolean() ? Boolean.TRUE : null);
  }

  private Await() {}
}
