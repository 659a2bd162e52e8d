/**
 * The driver side of emr-streaming-rollover: {@link io.github.emrrollover.driver.Rollover} is
 * the whole API. A Spark Streaming application calls {@code Rollover.start} before it touches
 * its checkpoint and {@code awaitStop} once its query or StreamingContext runs; the library then
 * honours the contract with the action (refuse a missing marker, wait out a standby, report
 * progress, drain and stop when the marker is deleted, acknowledge with {@code .stopped}).
 *
 * <p>Everything else in this package is internal. The documents written next to the marker are
 * fixed by the contract test vectors of the project ({@code src/contract/vectors}).
 */
package io.github.emrrollover.driver;
