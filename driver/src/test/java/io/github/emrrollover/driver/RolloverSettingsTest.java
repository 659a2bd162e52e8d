package io.github.emrrollover.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The {@code spark.rollover.*} settings: defaults as documented, units, and errors that name the key. */
class RolloverSettingsTest {
  private static final Map<String, String> NO_ENV = Map.of();
  private static final Map<String, String> MARKER = Map.of(RolloverSettings.MARKER, "s3://b/k");

  @Test
  void defaultsAreTheDocumentedOnes() {
    RolloverSettings s = RolloverSettings.from(MARKER, NO_ENV);
    assertEquals("s3://b/k", s.markerUri);
    assertEquals(5_000, s.pollIntervalMs);
    assertEquals(5_000, s.progressIntervalMs);
    assertEquals(300_000, s.drainTimeoutMs);
    assertEquals(3_600_000, s.standbyTimeoutMs);
    assertEquals(1_000, s.standbyPollIntervalMs);
    assertEquals(60_000, s.startupTimeoutMs);
    assertEquals(60_000, s.ioTimeoutMs);
    assertNull(s.triggerIntervalMs);
  }

  @Test
  void durationsTakeSparksUnitsAndABareNumberIsMilliseconds() {
    RolloverSettings s =
        RolloverSettings.from(
            Map.of(RolloverSettings.MARKER, "s3://b/k",
                RolloverSettings.POLL_INTERVAL, "250ms",
                RolloverSettings.DRAIN_TIMEOUT, "2min",
                RolloverSettings.STANDBY_TIMEOUT, "2h",
                RolloverSettings.PROGRESS_INTERVAL, "1500",
                RolloverSettings.TRIGGER_INTERVAL, "10s"),
            NO_ENV);
    assertEquals(250, s.pollIntervalMs);
    assertEquals(120_000, s.drainTimeoutMs);
    assertEquals(7_200_000, s.standbyTimeoutMs);
    assertEquals(1_500, s.progressIntervalMs);
    assertEquals(10_000L, s.triggerIntervalMs);
  }

  @Test
  void theMarkerComesFromTheEnvironmentWhenNotInTheConf() {
    RolloverSettings s =
        RolloverSettings.from(Map.of(), Map.of(RolloverSettings.MARKER_ENV, " s3://b/from-env "));
    assertEquals("s3://b/from-env", s.markerUri);
    assertEquals("s3://b/conf",
        RolloverSettings.from(Map.of(RolloverSettings.MARKER, "s3://b/conf"),
            Map.of(RolloverSettings.MARKER_ENV, "s3://b/env")).markerUri);
  }

  @Test
  void noMarkerRefusesToStartAndSaysHowToPassOne() {
    RolloverException e =
        assertThrows(RolloverException.class, () -> RolloverSettings.from(Map.of(), NO_ENV));
    assertTrue(e.getMessage().contains("--conf spark.rollover.marker="), e.getMessage());
    assertTrue(e.getMessage().contains("ROLLOVER_MARKER"), e.getMessage());
  }

  @Test
  void aBadDurationNamesTheKeyAndTheAcceptedForms() {
    RolloverException e =
        assertThrows(RolloverException.class,
            () -> RolloverSettings.from(
                Map.of(RolloverSettings.MARKER, "s3://b/k", RolloverSettings.POLL_INTERVAL, "soon"),
                NO_ENV));
    assertTrue(e.getMessage().startsWith("spark.rollover.pollInterval=soon"), e.getMessage());
    assertTrue(e.getMessage().contains("5s"), e.getMessage());
    RolloverException zero =
        assertThrows(RolloverException.class,
            () -> RolloverSettings.from(
                Map.of(RolloverSettings.MARKER, "s3://b/k", RolloverSettings.POLL_INTERVAL, "0s"),
                NO_ENV));
    assertTrue(zero.getMessage().contains("at least"), zero.getMessage());
  }
}
