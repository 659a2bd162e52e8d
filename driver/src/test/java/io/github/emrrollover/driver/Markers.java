package io.github.emrrollover.driver;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Markers and reports on the local disk, as the action would write and read them on S3. */
final class Markers {
  static Path write(Path marker, String deploymentId, String mode) {
    String body =
        "{\"version\":1,\"app\":\"tests\",\"deploymentId\":\"" + deploymentId + "\""
            + (mode == null ? "" : ",\"mode\":\"" + mode + "\"") + "}";
    try {
      Files.createDirectories(marker.getParent());
      // Replace atomically, as an S3 PUT does: the driver never reads half a body.
      Path temp = Files.createTempFile(marker.getParent(), ".marker", ".tmp");
      Files.writeString(temp, body, StandardCharsets.UTF_8);
      Files.move(temp, marker, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
          java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      return marker;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String uri(Path marker) {
    return marker.toUri().toString();
  }

  static void delete(Path marker) {
    try {
      Files.delete(marker);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The report, or null while it is missing or half written (a local write is not atomic). */
  static JsonNode report(Path marker, String suffix) {
    Path file = marker.resolveSibling(marker.getFileName() + suffix);
    try {
      return Json.parse(Files.readAllBytes(file));
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      return null;
    }
  }

  static ProgressReport progress(Path marker) {
    JsonNode json = report(marker, ProgressReport.SUFFIX);
    return json == null ? null : ProgressReport.parse(json);
  }

  static StoppedReport stopped(Path marker) {
    JsonNode json = report(marker, StoppedReport.SUFFIX);
    return json == null ? null : StoppedReport.parse(json);
  }

  private Markers() {}
}
