package io.github.emrrollover.driver;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The test's own reading of a Structured Streaming checkpoint on local disk (not the library's
 * CheckpointLog), to check the library's reports against the files the next driver starts from.
 */
final class CheckpointFiles {
  /** The highest batch id in {@code commits/} or {@code offsets/}, or -1. */
  static long latest(Path checkpoint, String log) {
    try (Stream<Path> files = Files.list(checkpoint.resolve(log))) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(n -> !n.isEmpty() && n.chars().allMatch(Character::isDigit))
          .mapToLong(Long::parseLong)
          .max()
          .orElse(-1);
    } catch (NoSuchFileException e) {
      return -1;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static long latestCommitted(Path checkpoint) {
    return latest(checkpoint, "commits");
  }

  static long latestPlanned(Path checkpoint) {
    return latest(checkpoint, "offsets");
  }

  /** The end offset of the first source of a batch, as a JSON value. */
  static com.fasterxml.jackson.databind.JsonNode endOffset(Path checkpoint, long batchId) {
    try {
      List<String> lines = Files.readAllLines(checkpoint.resolve("offsets").resolve(Long.toString(batchId)));
      // line 0: version, line 1: metadata, then one line per source
      return Json.offset(lines.get(2));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every file of the checkpoint with its size and modification time, for "untouched" checks. */
  static List<String> listing(Path checkpoint) {
    try (Stream<Path> files = Files.walk(checkpoint)) {
      return files
          .sorted()
          .map(
              p -> {
                try {
                  return checkpoint.relativize(p) + " " + Files.size(p) + " "
                      + Files.getLastModifiedTime(p).toMillis();
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              })
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private CheckpointFiles() {}
}
