package io.github.emrrollover.driver;

import java.io.BufferedReader;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.execution.streaming.StreamExecution;
import org.apache.spark.sql.execution.streaming.StreamingQueryWrapper;
import org.apache.spark.sql.streaming.StreamingQuery;

/**
 * Reads a Structured Streaming query's checkpoint: {@code offsets/N} (written when batch N is
 * planned) and {@code commits/N} (written when it is done). The checkpoint is the authority on
 * where the next driver starts, so the drain and {@code .stopped} are judged from it, not from
 * progress events, which arrive asynchronously and can lag a commit. The on-disk format is the
 * one Spark keeps readable across versions; only finding the root uses an internal class.
 */
final class CheckpointLog {
  private final Path root;
  private final FileSystem fs;
  private final BoundedIo io;

  private CheckpointLog(Path root, FileSystem fs, BoundedIo io) {
    this.root = root;
    this.fs = fs;
    this.io = io;
  }

  /**
   * The query's checkpoint, or null when this Spark does not let us find it. Reads go through
   * {@code io}: the caller is the application's main thread, which must get to return.
   */
  static CheckpointLog of(StreamingQuery query, Configuration hadoopConf, BoundedIo io) {
    String location;
    try {
      StreamExecution execution =
          query instanceof StreamingQueryWrapper
              ? ((StreamingQueryWrapper) query).streamingQuery()
              : query instanceof StreamExecution ? (StreamExecution) query : null;
      if (execution == null) return null;
      location = execution.resolvedCheckpointRoot();
    } catch (LinkageError | RuntimeException internalApiChanged) {
      return null;
    }
    try {
      Path root = new Path(location);
      return new CheckpointLog(root, root.getFileSystem(hadoopConf), io);
    } catch (IOException | IllegalArgumentException e) {
      return null;
    }
  }

  String root() {
    return root.toString();
  }

  OptionalLong latestCommitted() throws IOException {
    return bounded(() -> latest("commits"));
  }

  OptionalLong latestPlanned() throws IOException {
    return bounded(() -> latest("offsets"));
  }

  /**
   * The end offsets of a batch, one per source in the query's source order, each as Spark
   * serialized it (null for a source without an offset); null when the batch is not in the log.
   */
  List<String> offsets(long batchId) throws IOException {
    return bounded(() -> readOffsets(batchId));
  }

  private List<String> readOffsets(long batchId) throws IOException {
    Path file = new Path(new Path(root, "offsets"), Long.toString(batchId));
    try (FSDataInputStream in = fs.open(file);
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      String version = reader.readLine();
      if (version == null || !version.startsWith("v")) {
        throw new IOException("not an offset log file: " + file);
      }
      reader.readLine(); // the batch's metadata (watermark, confs)
      List<String> offsets = new ArrayList<>();
      for (String line; (line = reader.readLine()) != null; ) {
        offsets.add("-".equals(line) ? null : line);
      }
      return offsets;
    } catch (FileNotFoundException missing) {
      return null;
    }
  }

  private <T> T bounded(java.util.concurrent.Callable<T> read) throws IOException {
    try {
      return io.call(read);
    } catch (IOException e) {
      throw e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted reading checkpoint " + root);
    } catch (Exception e) { // a timeout, or a runtime failure of the file system
      throw new IOException("reading checkpoint " + root + ": " + e, e);
    }
  }

  private OptionalLong latest(String log) throws IOException {
    FileStatus[] files;
    try {
      files = fs.listStatus(new Path(root, log));
    } catch (FileNotFoundException noBatchYet) {
      return OptionalLong.empty();
    }
    long latest = -1;
    for (FileStatus file : files) {
      String name = file.getPath().getName();
      // Batch files are bare numbers; skip .crc files and the temp files of a write under way.
      if (!name.isEmpty() && name.chars().allMatch(Character::isDigit)) {
        latest = Math.max(latest, Long.parseLong(name));
      }
    }
    return latest < 0 ? OptionalLong.empty() : OptionalLong.of(latest);
  }
}
