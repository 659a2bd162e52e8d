package io.github.emrrollover.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.s3.AmazonS3;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The marker and the reports through Hadoop's FileSystem where they live in production: S3, here
 * through S3A (hadoop-aws, as on a non-EMR cluster; EMRFS keeps the same FileSystem contract)
 * against moto's S3 API, checked with the AWS SDK's own client; and the local disk
 * ({@code file://}). The same life each time: refused while the marker is missing, started once
 * it exists, {@code .progress} while running, stopped by its deletion, {@code .stopped} written.
 * The s3a test fails under CI=true without moto_server, and is skipped elsewhere.
 */
class MarkerLocationsTest {
  private static final String BUCKET = "rollover-tests";

  @TempDir Path dir;

  /** S3A pointed at moto, on the Hadoop configuration the driver reads its marker through. */
  private static void useMoto(MotoServer moto) {
    Configuration hadoop = TestSpark.session().sparkContext().hadoopConfiguration();
    hadoop.set("fs.s3a.endpoint", moto.endpoint);
    hadoop.set("fs.s3a.endpoint.region", "us-east-1");
    hadoop.set("fs.s3a.path.style.access", "true");
    hadoop.set("fs.s3a.connection.ssl.enabled", "false");
    hadoop.set("fs.s3a.aws.credentials.provider",
        "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
    hadoop.set("fs.s3a.access.key", "testing");
    hadoop.set("fs.s3a.secret.key", "testing");
    hadoop.set("fs.s3a.attempts.maximum", "2");
    hadoop.set("fs.s3a.retry.limit", "2");
    // A new S3A instance for this server, not one cached for an earlier one.
    hadoop.setBoolean("fs.s3a.impl.disable.cache", true);
  }

  /** Where the test puts and reads objects, whatever the scheme. */
  interface Location {
    String uri();

    void put(String body) throws Exception;

    void delete() throws Exception;

    JsonNode report(String suffix) throws Exception;
  }

  @Test
  void aMarkerOnS3ThroughS3a() throws Exception {
    try (MotoServer moto = MotoServer.start()) { // fails under CI=true without moto_server
      AmazonS3 s3 = moto.client();
      s3.createBucket(BUCKET);
      useMoto(moto);
      onS3(s3);
    }
  }

  private void onS3(AmazonS3 s3) throws Exception {
    String key = "rollover/app/markers/deploy-s3";
    lifeOfADriver(new Location() {
      public String uri() { return "s3a://" + BUCKET + "/" + key; }
      public void put(String body) { s3.putObject(BUCKET, key, body); }
      public void delete() { s3.deleteObject(BUCKET, key); }
      public JsonNode report(String suffix) throws Exception {
        if (!s3.doesObjectExist(BUCKET, key + suffix)) return null;
        return Json.parse(s3.getObjectAsString(BUCKET, key + suffix).getBytes(StandardCharsets.UTF_8));
      }
    });
  }

  @Test
  void aMarkerOnTheLocalDisk() throws Exception {
    Path marker = dir.resolve("markers/deploy-file");
    Files.createDirectories(marker.getParent());
    lifeOfADriver(new Location() {
      public String uri() { return Markers.uri(marker); }
      public void put(String body) throws Exception { Files.writeString(marker, body); }
      public void delete() { Markers.delete(marker); }
      public JsonNode report(String suffix) { return Markers.report(marker, suffix); }
    });
  }

  private void lifeOfADriver(Location marker) throws Exception {
    SparkSession refusedSession = TestSpark.driver(marker.uri(), Map.of());
    MarkerMissingException refused =
        assertThrows(MarkerMissingException.class, () -> Rollover.start(refusedSession));
    assertTrue(refused.getMessage().contains(marker.uri()));

    marker.put("{\"version\":1,\"deploymentId\":\"deploy-loc\",\"mode\":\"run\"}");
    StructuredDriver driver =
        StructuredDriver.launch("location", TestSpark.driver(marker.uri(), Map.of()),
            RateToFiles.into(dir.resolve("output"), dir.resolve("checkpoint")));
    JsonNode progress = Await.value(".progress", () -> {
      try {
        return marker.report(ProgressReport.SUFFIX);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    VectorSchema.assertConforms("progress", progress);
    assertEquals("deploy-loc", progress.get("deploymentId").asText());
    assertNull(marker.report(StoppedReport.SUFFIX));

    marker.delete();
    driver.join();
    JsonNode stopped = marker.report(StoppedReport.SUFFIX);
    VectorSchema.assertConforms("stopped", stopped);
    assertTrue(stopped.get("graceful").asBoolean());
    assertEquals(
        CheckpointFiles.latestCommitted(dir.resolve("checkpoint")), stopped.get("batchId").asLong());
  }
}
