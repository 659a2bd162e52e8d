package io.github.emrrollover.driver;

/**
 * The marker does not exist when the driver starts: the URI is wrong, or this is a YARN
 * re-attempt of a driver that a rollover already stopped. Either way the driver must not touch
 * its checkpoint, so {@link Rollover#start} throws this instead of returning.
 */
public final class MarkerMissingException extends RolloverException {
  private static final long serialVersionUID = 1L;

  private final String markerUri;

  MarkerMissingException(String markerUri) {
    super(
        "rollover marker "
            + markerUri
            + " does not exist: this deployment was already stopped (a YARN re-attempt of a"
            + " driver that was rolled over), or spark.rollover.marker names the wrong object."
            + " Not starting.");
    this.markerUri = markerUri;
  }

  /** The URI that was checked. */
  public String markerUri() {
    return markerUri;
  }
}
