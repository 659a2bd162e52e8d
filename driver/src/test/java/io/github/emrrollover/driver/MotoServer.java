package io.github.emrrollover.driver;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;

/**
 * A real S3 API on 127.0.0.1: moto_server (the project's S3 emulator, as in the action's tests)
 * as a child process on a free port.
 */
final class MotoServer implements AutoCloseable {
  static final String INSTALL =
      "npm test (it creates the project venv .venv with test/python/requirements.txt), or"
          + " pip install 'moto[server]==5.2.1'";

  private final Process process;
  private final Path log;
  final String endpoint;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private MotoServer(Process process, Path log, String endpoint) {
    this.process = process;
    this.log = log;
    this.endpoint = endpoint;
  }

  /**
   * Starts moto_server: the one {@code ROLLOVER_MOTO_SERVER} names ({@code npm test} passes the
   * project venv's), else the project venv's ({@code ../.venv}), else one on PATH. Without it,
   * fails under CI=true (CI must run this test) and skips elsewhere, saying what to install.
   */
  static MotoServer start() throws Exception {
    String executable = find();
    if (executable == null) {
      String reason = "no moto_server (ROLLOVER_MOTO_SERVER, ../.venv, PATH): " + INSTALL;
      if ("true".equals(System.getenv("CI"))) fail(reason + " (CI=true: this test may not be skipped)");
      Assumptions.abort(reason);
    }
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    Path log = Files.createTempFile("moto-server", ".log");
    Process process =
        new ProcessBuilder(executable, "-H", "127.0.0.1", "-p", Integer.toString(port))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    MotoServer moto = new MotoServer(process, log, "http://127.0.0.1:" + port);
    moto.awaitUp();
    return moto;
  }

  private static String find() {
    String named = System.getenv("ROLLOVER_MOTO_SERVER");
    if (named != null && !named.isEmpty()) return named;
    String venv = System.getProperty("rollover.venv");
    if (venv != null) {
      File candidate = new File(venv, "bin/moto_server");
      if (candidate.isFile() && candidate.canExecute()) return candidate.getAbsolutePath();
    }
    return onPath("moto_server");
  }

  private static String onPath(String name) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      File candidate = new File(dir, name);
      if (candidate.isFile() && candidate.canExecute()) return candidate.getAbsolutePath();
    }
    return null;
  }

  private void awaitUp() throws IOException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) fail("moto_server exited: " + Files.readString(log));
      try {
        http.send(HttpRequest.newBuilder(URI.create(endpoint + "/")).GET().build(),
            HttpResponse.BodyHandlers.discarding());
        return;
      } catch (IOException notYet) {
        sleep();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
    }
    fail("moto_server did not answer within 60s: " + Files.readString(log));
  }

  private static void sleep() {
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** An S3 client of its own (the SDK's, not S3A), to check what the driver wrote. */
  com.amazonaws.services.s3.AmazonS3 client() {
    return com.amazonaws.services.s3.AmazonS3ClientBuilder.standard()
        .withEndpointConfiguration(
            new com.amazonaws.client.builder.AwsClientBuilder.EndpointConfiguration(endpoint, "us-east-1"))
        .withPathStyleAccessEnabled(true)
        .withCredentials(new com.amazonaws.auth.AWSStaticCredentialsProvider(
            new com.amazonaws.auth.BasicAWSCredentials("testing", "testing")))
        .build();
  }

  @Override
  public void close() throws Exception {
    process.destroy();
    if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) process.destroyForcibly();
    Files.deleteIfExists(log);
  }
}
