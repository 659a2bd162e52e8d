// The whole local world for e2e tests, the demo and the bench: moto (S3) behind a fault proxy
// for the action, the EMR emulator with one cluster (and its YARN, ResourceManager and step
// logs), streams' sources in S3, test jars, apps, the action runner and the data-safety verdict.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { createMotoClient, startMoto, type MotoServer } from '../support/moto.ts'
import {
  parseS3Uri,
  type ActivityEvent,
  type DriverBehavior,
  type DriverConfig,
  type SourceConfig,
} from './contract.ts'
import { ensureFreshDist } from './dist-freshness.ts'
import { EmrEmulator, type EmulatorTimings, type Faults } from './emr-server.ts'
import type { ClusterSpec } from './emr-state.ts'
import type { Invariants } from './invariants.ts'
import { writeJar } from './jar.ts'
import { PROFILES, type StackProfile } from './profiles.ts'
import type { RmMode } from './resource-manager.ts'
import { runAction, type ActionRun, type RunActionOptions } from './run-action.ts'
import { S3FaultProxy, type S3FaultRule } from './s3-proxy.ts'
import { SAMPLE_MAIN_CLASS, stampJar } from './spark-app.ts'
import { startRealSpark, type RealSpark } from './spark-local.ts'
import { readSparkSink, type SparkSink } from './spark-verdict.ts'
import { stackApp, type StackApp, type StartAppOptions, type StartedApp } from './stack-apps.ts'

export type { StackApp, StartAppOptions, StartedApp } from './stack-apps.ts'
export type { StackProfile } from './profiles.ts'

export interface StackOptions {
  readonly appName?: string
  readonly clusterName?: string
  readonly stepConcurrencyLevel?: number
  /** More of the default cluster: `releaseLabel`, `runtimeRoles`, `logUri` (null: none). */
  readonly cluster?: Omit<ClusterSpec, 'name' | 'stepConcurrencyLevel'>
  readonly extraClusters?: readonly ClusterSpec[]
  /** `fast` (default) or `realistic` (profiles.ts): EMR, YARN and stream timings. */
  readonly profile?: StackProfile
  /** Every stream's defaults; the profile's unless given (fast: 50/s, batches of 10). */
  readonly source?: Partial<SourceConfig>
  readonly faults?: Partial<Faults>
  /** Over the profile's timings. */
  readonly timings?: Partial<EmulatorTimings>
  readonly seed?: number
  /**
   * Steps run real Spark (local mode, pyspark from the project venv) with the sample app of
   * test/spark-app instead of the simulated driver: makeJar stamps its versions, mainClass is its
   * class, sparkSink() reads what it wrote. See spark-local.ts for what the emulator maps.
   */
  readonly realSpark?: boolean
}

/** The jar's driver options (DriverConfig without version and behaviour), and where it goes. */
export type JarOptions = Omit<DriverConfig, 'version' | 'behavior'> & {
  /** Upload to s3://<bucket>/jars/ and return that URI instead of the local path. */
  readonly upload?: boolean
}

export interface Stack {
  /** What a child process of the action needs: AWS endpoints (S3: the proxy), credentials. */
  readonly env: Readonly<Record<string, string>>
  readonly profile: StackProfile
  readonly bucket: string
  readonly clusterId: string
  readonly clusterName: string
  readonly appName: string
  readonly mainClass: string
  /** s3://bucket/rollover: the action's marker-prefix. */
  readonly markerPrefix: string
  /** s3://bucket/streams/<app>: the default stream's state. */
  readonly statePrefix: string
  /** moto itself, as the drivers and the tests reach it. */
  readonly s3Endpoint: string
  /** The fault proxy in front of moto that the action's AWS_ENDPOINT_URL_S3 names. */
  readonly s3Proxy: S3FaultProxy
  readonly emrEndpoint: string
  /** The bucket EMR archives step logs in, and the clusters' LogUri (s3://<logBucket>/...). */
  readonly logBucket: string
  readonly logUri: string
  readonly emr: EmrEmulator
  readonly s3: S3Client
  readonly tmpDir: string
  readonly activityLog: string
  /** The real-Spark mode's Spark and sample app, when the stack runs in it. */
  readonly realSpark?: RealSpark
  /**
   * Local path of a new jar, or its s3:// URI with `upload`. In the real-Spark mode: the sample
   * app stamped with `version` (behaviours other than `ok` are the simulated driver's only).
   */
  makeJar(version: string, behavior?: DriverBehavior, options?: JarOptions): Promise<string>
  /** Another stream (own source, checkpoint, outputs); returns its state URI. */
  newStream(name: string, source?: Partial<SourceConfig>): Promise<string>
  /** The default app (appName on clusterId, under markerPrefix, streaming statePrefix). */
  readonly app: StackApp
  /**
   * Another app: its own stream (`streams/<stream>`, default the name) and markers, on the
   * default cluster unless `clusterId`; `markerPrefix` (a key, default `rollover`) puts the same
   * name under another prefix.
   */
  addApp(
    appName: string,
    options?: {
      markerPrefix?: string
      stream?: string
      clusterId?: string
      source?: Partial<SourceConfig>
    },
  ): Promise<StackApp>
  /** Working action inputs for the default app; add `jar` and timeouts. */
  inputs(overrides?: Readonly<Record<string, string>>): Record<string, string>
  /** Submits a driver of the default app directly (marker + step), as an earlier deploy. */
  startApp(jarUri: string, options?: StartAppOptions): Promise<StartedApp>
  /** A person cancelling a step in the EMR console: EMR's rules, not counted as an API call. */
  cancelFromConsole(stepId: string): Promise<{ Status: string; Reason?: string }>
  /** How the ResourceManager answers kill steps from now on (until reset). */
  setResourceManager(mode: RmMode): void
  /** An S3 fault for the action's requests only (until removed or reset). */
  failS3(rule: S3FaultRule): () => void
  readActivity(state?: string): Promise<ActivityEvent[]>
  /** The simulated drivers' data-safety verdict (their activity log); not for real Spark. */
  checkInvariants(options?: { state?: string }): Promise<Invariants>
  /** Real Spark: the rows the sample app committed to `<state>/output` (default stream). */
  sparkSink(state?: string): Promise<SparkSink>
  runAction(
    inputs: Readonly<Record<string, string>>,
    options?: RunActionOptions,
  ): Promise<ActionRun>
  /**
   * Between tests: no injected fault (EMR, RM, S3 proxy: hung requests are dropped), no live
   * driver left (YARN kills them: their steps end FAILED).
   */
  reset(): Promise<void>
  stop(): Promise<void>
}

const REGION = 'us-east-1'
const running = new Set<Stack>()
let signalHandlerInstalled = false

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  await ensureFreshDist()
  const tmpDir = await mkdtemp(join(tmpdir(), 'rollover-stack-'))
  const activityLog = join(tmpDir, 'activity.jsonl')
  await writeFile(activityLog, '')
  let moto: MotoServer | undefined
  let emr: EmrEmulator | undefined
  let proxy: S3FaultProxy | undefined
  const profile = options.profile ?? 'fast'
  try {
    moto = await startMoto()
    const realSpark = options.realSpark
      ? await startRealSpark({ tmpDir, s3Endpoint: moto.endpoint, log: console.log })
      : undefined
    proxy = await S3FaultProxy.start(moto.endpoint)
    const s3 = createMotoClient(moto.endpoint)
    const bucket = `rollover-e2e-${process.pid}-${Date.now().toString(36)}`
    await s3.send(new CreateBucketCommand({ Bucket: bucket }))
    // Where EMR archives step logs (each cluster's LogUri).
    const logBucket = `${bucket}-logs`
    await s3.send(new CreateBucketCommand({ Bucket: logBucket }))
    const credentials = {
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_S3: moto.endpoint,
    }
    const clusterName = options.clusterName ?? 'streaming-staging'
    emr = await EmrEmulator.start({
      region: REGION,
      clusters: [
        {
          ...options.cluster,
          name: clusterName,
          stepConcurrencyLevel: options.stepConcurrencyLevel ?? 1,
        },
        ...(options.extraClusters ?? []),
      ],
      appEnv: credentials,
      activityLog,
      launcher: realSpark?.launcher,
      faults: options.faults,
      timings: { ...PROFILES[profile].timings, ...options.timings },
      seed: options.seed,
      s3Endpoint: moto.endpoint,
      logUri: `s3://${logBucket}/elasticmapreduce/`,
    })
    const clusterId = [...emr.state.clusters.values()][0]?.id as string
    const appName = options.appName ?? 'clickstream'
    const stack = buildStack({
      moto,
      proxy,
      profile,
      sourceDefaults: { ...PROFILES[profile].source, ...options.source },
      emr,
      s3,
      bucket,
      clusterId,
      clusterName,
      appName,
      tmpDir,
      activityLog,
      logBucket,
      realSpark,
      env: {
        ...credentials,
        AWS_ENDPOINT_URL_S3: proxy.endpoint,
        AWS_ENDPOINT_URL_EMR: emr.endpoint,
      },
    })
    await stack.newStream(appName)
    running.add(stack)
    installSignalHandler()
    return stack
  } catch (error) {
    await emr?.close()
    await proxy?.close()
    await moto?.stop()
    await rm(tmpDir, { recursive: true, force: true })
    throw error
  }
}

interface Parts {
  moto: MotoServer
  proxy: S3FaultProxy
  profile: StackProfile
  sourceDefaults: Omit<SourceConfig, 'startedAt'>
  emr: EmrEmulator
  s3: S3Client
  bucket: string
  clusterId: string
  clusterName: string
  appName: string
  tmpDir: string
  activityLog: string
  logBucket: string
  realSpark?: RealSpark
  env: Record<string, string>
}

function buildStack(p: Parts): Stack {
  const { s3, bucket, emr } = p
  const statePrefix = `s3://${bucket}/streams/${p.appName}`
  const mainClass = p.realSpark ? SAMPLE_MAIN_CLASS : 'com.example.StreamingApp'
  const sources = new Map<string, SourceConfig>()
  let stopped = false

  const context = {
    s3,
    bucket,
    emr,
    mainClass,
    sources,
    readActivity: (state?: string) => stack.readActivity(state),
  }
  const app = stackApp(context, {
    appName: p.appName,
    markerPrefixKey: 'rollover',
    statePrefix,
    clusterId: p.clusterId,
  })

  const stack: Stack = {
    env: p.env,
    profile: p.profile,
    bucket,
    clusterId: p.clusterId,
    clusterName: p.clusterName,
    appName: p.appName,
    mainClass,
    markerPrefix: app.markerPrefix,
    statePrefix,
    s3Endpoint: p.moto.endpoint,
    s3Proxy: p.proxy,
    emrEndpoint: emr.endpoint,
    logBucket: p.logBucket,
    logUri: `s3://${p.logBucket}/elasticmapreduce/`,
    emr,
    s3,
    tmpDir: p.tmpDir,
    activityLog: p.activityLog,
    realSpark: p.realSpark,
    app,

    async makeJar(version, behavior = 'ok', options = {}) {
      const { upload, ...rest } = options
      const config: DriverConfig = { version, behavior, ...rest }
      if (p.realSpark && (behavior !== 'ok' || Object.keys(rest).length > 0)) {
        throw new Error(
          `real Spark runs the sample app as it is: '${behavior}' is the simulated driver's`,
        )
      }
      const path = p.realSpark
        ? await stampJar(p.realSpark.app, join(p.tmpDir, 'jars'), version)
        : await writeJar(join(p.tmpDir, 'jars'), config)
      if (!upload) return path
      const key = `jars/${path.slice(path.lastIndexOf('/') + 1)}`
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(path) }))
      return `s3://${bucket}/${key}`
    },

    async newStream(name, source = {}) {
      const uri = `s3://${bucket}/streams/${name}`
      const config: SourceConfig = { startedAt: Date.now(), ...p.sourceDefaults, ...source }
      const key = `${parseS3Uri(uri).key}/source.json`
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(config) }),
      )
      sources.set(uri, config)
      return uri
    },

    async addApp(appName, options = {}) {
      const state = await stack.newStream(options.stream ?? appName, options.source)
      return stackApp(context, {
        appName,
        markerPrefixKey: options.markerPrefix ?? 'rollover',
        statePrefix: state,
        clusterId: options.clusterId ?? p.clusterId,
      })
    },

    inputs: (overrides) => app.inputs(overrides),
    startApp: (jarUri, options) => app.startApp(jarUri, options),
    checkInvariants: (options) => app.checkInvariants(options),

    sparkSink(state = statePrefix) {
      return readSparkSink(s3, state)
    },

    cancelFromConsole(stepId) {
      const step = emr.state.steps.get(stepId)
      if (!step) return Promise.resolve({ Status: 'FAILED', Reason: `no step ${stepId}` })
      return emr.state.cancel(step.clusterId, stepId)
    },

    setResourceManager(mode) {
      emr.setFaults({ rm: mode })
    },

    failS3(rule) {
      return p.proxy.add(rule)
    },

    async readActivity(state) {
      const text = await readFile(p.activityLog, 'utf8')
      // A driver may be appending right now: a line without its '\n' is not complete yet.
      const events = text
        .slice(0, text.lastIndexOf('\n') + 1)
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as ActivityEvent)
      return state === undefined ? events : events.filter((e) => e.state === state)
    },

    runAction(inputs, options = {}) {
      return runAction(inputs, {
        tmpDir: p.tmpDir,
        ...options,
        env: { ...p.env, ...options.env },
      })
    },

    async reset() {
      emr.clearFaults()
      p.proxy.clear()
      await Promise.all(emr.liveApps().map((a) => emr.yarn.kill(a.appId, 0)))
      await emr.waitFor(() => emr.liveApps().length === 0, 5000, 'drivers to end')
    },

    async stop() {
      if (stopped) return
      stopped = true
      running.delete(stack)
      await emr.close()
      await p.proxy.close()
      s3.destroy()
      await p.moto.stop()
      if (!process.env.EMULATOR_KEEP_TMP) await rm(p.tmpDir, { recursive: true, force: true })
    },
  }
  return stack
}

/** Ctrl-C during a demo or bench must not leave drivers or moto behind. */
function installSignalHandler(): void {
  if (signalHandlerInstalled) return
  signalHandlerInstalled = true
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void Promise.allSettled([...running].map((s) => s.stop())).then(() =>
        process.exit(signal === 'SIGINT' ? 130 : 143),
      )
    })
  }
}
