package io.github.emrrollover.driver;

import java.io.IOException;
import java.net.URI;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;

/**
 * The local disk under the scheme {@code flaky://}, with switchable trouble: every call can fail
 * (as S3 does with a 403 or a 503), or hang until released (as a stuck connection does). It
 * counts reads of files, so a test can tell how often the driver looked at its marker.
 */
public class FlakyFileSystem extends RawLocalFileSystem {
  static final String SCHEME = "flaky";

  private static volatile boolean failing;
  private static final AtomicReference<CountDownLatch> hang = new AtomicReference<>();
  private static final AtomicInteger failures = new AtomicInteger();
  private static final AtomicInteger hungCalls = new AtomicInteger();
  private static final AtomicInteger opens = new AtomicInteger();

  /** Registers the scheme with the Hadoop configuration the driver reads its marker through. */
  static void register(Configuration conf) {
    conf.set("fs." + SCHEME + ".impl", FlakyFileSystem.class.getName());
    conf.setBoolean("fs." + SCHEME + ".impl.disable.cache", true);
  }

  static String uri(java.nio.file.Path local) {
    return SCHEME + "://" + local.toAbsolutePath();
  }

  static void fail(boolean on) {
    failing = on;
  }

  /** From now on every call blocks until {@link #release}. */
  static void hang() {
    hang.set(new CountDownLatch(1));
  }

  static void release() {
    CountDownLatch latch = hang.getAndSet(null);
    if (latch != null) latch.countDown();
  }

  static void reset() {
    failing = false;
    release();
  }

  static int failures() {
    return failures.get();
  }

  static int hungCalls() {
    return hungCalls.get();
  }

  static int opens() {
    return opens.get();
  }

  @Override
  public URI getUri() {
    return URI.create(SCHEME + ":///");
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }

  @Override
  public void initialize(URI uri, Configuration conf) throws IOException {
    super.initialize(getUri(), conf);
  }

  private static void trouble() throws IOException {
    CountDownLatch latch = hang.get();
    if (latch != null) {
      hungCalls.incrementAndGet();
      try {
        latch.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while hanging");
      } finally {
        hungCalls.decrementAndGet();
      }
    }
    if (failing) {
      failures.incrementAndGet();
      throw new IOException("simulated: Status Code: 403; Error Code: AccessDenied");
    }
  }

  @Override
  public FileStatus getFileStatus(Path path) throws IOException {
    trouble();
    return super.getFileStatus(path);
  }

  @Override
  public FSDataInputStream open(Path path, int bufferSize) throws IOException {
    opens.incrementAndGet();
    trouble();
    return super.open(path, bufferSize);
  }

  @Override
  public FSDataOutputStream create(Path path, FsPermission permission, boolean overwrite,
      int bufferSize, short replication, long blockSize, Progressable progress) throws IOException {
    trouble();
    return super.create(path, permission, overwrite, bufferSize, replication, blockSize, progress);
  }
}
