// The real-Spark mode's "cluster": each YARN application attempt is a real spark-submit (pyspark
// 3.5.7 from the project venv) running the driver in local mode. What EMR gives an application
// and local Spark does not have is the emulator's job, done here:
//
// - YARN: `--master yarn` becomes `local[2]` and `--deploy-mode cluster` becomes `client` (local
//   mode has no cluster deploy mode); the step's arguments stay an array, nothing else changes.
// - EMRFS: EMR serves `s3://` with EMRFS; here `fs.s3.impl` is S3A against moto (endpoint,
//   path-style, test keys), so the step's `s3://` jar, marker and checkpoint URIs work as they
//   are. hadoop-aws 3.3.4 and aws-java-sdk-bundle 1.12.262 (Spark 3.5's Hadoop) come from Maven.
// - /etc/spark/conf: a spark-defaults.conf and a quieter log4j2.properties in SPARK_CONF_DIR.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseSparkSubmitArgs } from '../../src/contract/spark-submit.ts'
import { javaProblem } from '../support/java-env.ts'
import { ensurePythonEnv, pythonProblem, sparkHome } from '../support/python-env.ts'
import { buildSampleApp, type SampleApp } from './spark-app.ts'
import type { AttemptLauncher, LaunchRequest } from './yarn-launch.ts'

export interface SparkCluster {
  /** pyspark's directory in the venv: bin/spark-submit, jars/. */
  readonly sparkHome: string
  /** Holds spark-defaults.conf and log4j2.properties. */
  readonly confDir: string
}

/** What local spark-submit must run in place of YARN's master and deploy mode. */
export const LOCAL_MASTER = 'local[2]'

/**
 * The step's spark-submit arguments for local mode: the master and deploy mode replaced where
 * they stand (also as `--conf spark.master=` / `spark.submit.deployMode=`); every other option,
 * the jar and the application's arguments kept, in order (`--opt=value` as `--opt value`).
 */
export function localSparkArgs(args: readonly string[]): string[] {
  const parsed = parseSparkSubmitArgs(args)
  const local: Readonly<Record<string, string>> = {
    '--master': LOCAL_MASTER,
    'spark.master': LOCAL_MASTER,
    '--deploy-mode': 'client',
    'spark.submit.deployMode': 'client',
  }
  const options: string[] = []
  for (const [name, value] of parsed.options) {
    if (value === undefined) {
      options.push(name)
    } else if (name === '--conf' || name === '-c') {
      const key = value.slice(0, Math.max(0, value.indexOf('='))).trim()
      options.push(name, local[key] === undefined ? value : `${key}=${local[key]}`)
    } else {
      options.push(name, local[name] ?? value)
    }
  }
  // EMR's spark-defaults say yarn when the step does not: local mode must be said here.
  const master = parsed.options.some(([name]) => name === '--master')
    ? []
    : ['--master', LOCAL_MASTER]
  const rest = parsed.jar === undefined ? [] : [parsed.jar, ...parsed.appArgs]
  return [...master, ...options, ...rest]
}

/** Runs an attempt as spark-submit in its own process group (bash, then Java, same pid). */
export function sparkLauncher(cluster: SparkCluster): AttemptLauncher {
  return (request: LaunchRequest) => ({
    command: join(cluster.sparkHome, 'bin', 'spark-submit'),
    args: localSparkArgs(request.sparkArgs),
    env: {
      // Given, so that spark-submit's script does not ask a Python where pyspark is.
      SPARK_HOME: cluster.sparkHome,
      SPARK_CONF_DIR: cluster.confDir,
      SPARK_LOCAL_IP: '127.0.0.1',
    },
    processGroup: true,
  })
}

export interface SparkConfOptions {
  /** moto itself (not the action's fault proxy): what the drivers reach S3 through. */
  readonly s3Endpoint: string
  /** hadoop-aws and aws-java-sdk-bundle jars, `:`-separated. */
  readonly s3aClasspath: string
  /** Spark's scratch space (shuffle, downloaded jars), under the stack's temp dir. */
  readonly localDir: string
}

/** Writes the cluster's spark-defaults.conf and log4j2.properties into `confDir`. */
export async function writeSparkConf(confDir: string, options: SparkConfOptions): Promise<void> {
  await mkdir(confDir, { recursive: true })
  await mkdir(options.localDir, { recursive: true })
  const defaults: Record<string, string> = {
    // EMRFS's role: s3:// through S3A, against moto.
    'spark.hadoop.fs.s3.impl': 'org.apache.hadoop.fs.s3a.S3AFileSystem',
    'spark.hadoop.fs.s3a.endpoint': options.s3Endpoint,
    'spark.hadoop.fs.s3a.endpoint.region': 'us-east-1',
    'spark.hadoop.fs.s3a.path.style.access': 'true',
    'spark.hadoop.fs.s3a.connection.ssl.enabled': 'false',
    'spark.hadoop.fs.s3a.access.key': 'test',
    'spark.hadoop.fs.s3a.secret.key': 'test',
    'spark.hadoop.fs.s3a.aws.credentials.provider':
      'org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider',
    // S3A would otherwise delete "directory" objects above every file it writes.
    'spark.hadoop.fs.s3a.directory.marker.retention': 'keep',
    // Fail fast against a local moto instead of S3's minutes of retries.
    'spark.hadoop.fs.s3a.attempts.maximum': '3',
    'spark.hadoop.fs.s3a.retry.limit': '3',
    // On the launcher's classpath too: spark-submit itself downloads the s3:// jar.
    'spark.driver.extraClassPath': options.s3aClasspath,
    'spark.driver.memory': '1g',
    'spark.driver.host': '127.0.0.1',
    'spark.driver.bindAddress': '127.0.0.1',
    'spark.local.dir': options.localDir,
    'spark.ui.enabled': 'false',
    'spark.sql.shuffle.partitions': '2',
  }
  await writeFile(
    join(confDir, 'spark-defaults.conf'),
    Object.entries(defaults)
      .map(([key, value]) => `${key} ${value}\n`)
      .join(''),
  )
  await writeFile(join(confDir, 'log4j2.properties'), LOG4J2)
}

// WARN for Spark and Hadoop, INFO for the driver library (its stop and report lines are what a
// failing test needs). Two warnings that every batch repeats on S3A are turned down: FileContext
// is not offered for s3:// mapped to S3A (Spark falls back to the FileSystem API, as on EMRFS),
// and S3A's output stream statistics note on close.
const LOG4J2 = `rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n
logger.rollover.name = io.github.emrrollover
logger.rollover.level = info
logger.checkpoint.name = org.apache.spark.sql.execution.streaming.CheckpointFileManager
logger.checkpoint.level = error
logger.s3a.name = org.apache.hadoop.fs.s3a.S3AInstrumentation
logger.s3a.level = error
`

export interface RealSpark extends SparkCluster {
  readonly app: SampleApp
  readonly launcher: AttemptLauncher
}

/**
 * Everything the real-Spark mode needs on this machine, made on first use: Java 17 and Maven
 * (checked), pyspark in the project venv, the sample app built, the cluster's conf written.
 */
export async function startRealSpark(options: {
  readonly tmpDir: string
  readonly s3Endpoint: string
  readonly log: (line: string) => void
}): Promise<RealSpark> {
  const problem = javaProblem()
  if (problem) throw new Error(problem)
  await ensurePythonEnv('spark')
  const app = await buildSampleApp(options.log)
  const confDir = join(options.tmpDir, 'spark-conf')
  await writeSparkConf(confDir, {
    s3Endpoint: options.s3Endpoint,
    s3aClasspath: app.s3aClasspath,
    localDir: join(options.tmpDir, 'spark-local'),
  })
  const cluster = { sparkHome: sparkHome(), confDir }
  return { ...cluster, app, launcher: sparkLauncher(cluster) }
}

/** Why the real-Spark mode cannot run on this machine (Java 17, Maven, Python), or undefined. */
export function realSparkProblem(): string | undefined {
  return javaProblem() ?? pythonProblem()
}
