package io.github.emrrollover.driver;

/**
 * The driver must not start, or cannot go on, under the rollover contract. Unchecked, so Scala
 * and Java callers alike can let it end {@code main}: the YARN application then ends FAILED,
 * which is what the action and the people reading its summary need to see.
 */
public class RolloverException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public RolloverException(String message) {
    super(message);
  }

  public RolloverException(String message, Throwable cause) {
    super(message, cause);
  }
}
