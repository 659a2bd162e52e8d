package io.github.emrrollover.driver;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The marker and the reports next to it, through Hadoop's {@link FileSystem}: EMRFS for
 * {@code s3://} on EMR, S3A for {@code s3a://}, the local disk for {@code file://}. No S3 client
 * of our own, so no dependency beyond what every Spark cluster has.
 */
final class MarkerStore {
  /** Marker bodies are a few hundred bytes; anything this large is not one of ours. */
  private static final int MAX_BODY_BYTES = 1 << 20;

  private final String markerUri;
  private final Path marker;
  private final FileSystem fs;

  private MarkerStore(String markerUri, Path marker, FileSystem fs) {
    this.markerUri = markerUri;
    this.marker = marker;
    this.fs = fs;
  }

  static MarkerStore open(String markerUri, Configuration hadoopConf) {
    URI uri;
    try {
      uri = new URI(markerUri);
    } catch (URISyntaxException e) {
      throw new RolloverException("spark.rollover.marker=" + markerUri + " is not a URI", e);
    }
    try {
      FileSystem fs = FileSystem.get(uri, hadoopConf);
      // The checksummed local FS would put a .crc file next to every report.
      if (fs instanceof LocalFileSystem) fs = ((LocalFileSystem) fs).getRaw();
      return new MarkerStore(markerUri, new Path(uri), fs);
    } catch (IOException e) {
      throw new RolloverException(
          "cannot open the file system of rollover marker " + markerUri + ": " + e, e);
    }
  }

  String uri() {
    return markerUri;
  }

  String reportUri(String suffix) {
    return markerUri + suffix;
  }

  /**
   * False only for a definite "does not exist" ({@link FileNotFoundException}, which S3A and
   * EMRFS raise for a 404). Every other failure (403, throttling, a timeout) is thrown: it says
   * nothing about the marker, and must never be taken for a stop.
   */
  boolean exists() throws IOException {
    try {
      fs.getFileStatus(marker);
      return true;
    } catch (FileNotFoundException gone) {
      return false;
    }
  }

  /** The marker's body, or null when the marker does not exist (same rule as {@link #exists}). */
  byte[] readBody() throws IOException {
    return read(marker);
  }

  /** {@code <marker><suffix>}'s body, or null when it does not exist. */
  byte[] readReport(String suffix) throws IOException {
    return read(new Path(reportUri(suffix)));
  }

  private byte[] read(Path path) throws IOException {
    try (InputStream in = fs.open(path)) {
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      byte[] buffer = new byte[8192];
      for (int n; (n = in.read(buffer)) > 0; ) {
        body.write(buffer, 0, n);
        if (body.size() > MAX_BODY_BYTES) break;
      }
      return body.toByteArray();
    } catch (FileNotFoundException gone) {
      return null;
    }
  }

  /** Writes {@code <marker><suffix>} whole (one PUT on S3: readers never see a partial body). */
  void writeReport(String suffix, byte[] body) throws IOException {
    try (FSDataOutputStream out = fs.create(new Path(reportUri(suffix)), true)) {
      out.write(body);
    }
  }
}
