// The whole local world for e2e tests, the demo and the bench: moto (S3), the EMR emulator with
// one cluster, a stream's source in S3, test jars, the action runner and the data-safety verdict.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { appIdentity } from '../../src/contract/identity.ts'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { markerKeyOfReport } from '../../src/contract/reports.ts'
import { buildSparkStep } from '../../src/contract/step.ts'
import { createMotoClient, startMoto, type MotoServer } from '../support/moto.ts'
import {
  DEFAULT_BATCH_MS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_MARKER_POLL_MS,
  availableOffset,
  parseS3Uri,
  type ActivityEvent,
  type DriverBehavior,
  type DriverConfig,
  type SourceConfig,
} from './contract.ts'
import { ensureFreshDist } from './dist-freshness.ts'
import { EmrEmulator, type EmulatorTimings, type Faults } from './emr-server.ts'
import type { ClusterSpec } from './emr-state.ts'
import { computeInvariants, type Invariants } from './invariants.ts'
import { writeJar } from './jar.ts'
import { runAction, type ActionRun, type RunActionOptions } from './run-action.ts'
import { listAllKeys, readOutputs, readText } from './s3-read.ts'

export interface StackOptions {
  readonly appName?: string
  readonly clusterName?: string
  readonly stepConcurrencyLevel?: number
  readonly extraClusters?: readonly ClusterSpec[]
  /** The stream: ratePerSec 50, batchSize 10, batchMs 100, markerPollMs 250 unless given. */
  readonly source?: Partial<SourceConfig>
  readonly faults?: Partial<Faults>
  readonly timings?: Partial<EmulatorTimings>
  readonly seed?: number
}

/** The jar's driver options (DriverConfig without version and behaviour), and where it goes. */
export type JarOptions = Omit<DriverConfig, 'version' | 'behavior'> & {
  /** Upload to s3://<bucket>/jars/ and return that URI instead of the local path. */
  readonly upload?: boolean
}

export interface Stack {
  /** What a child process of the action needs: AWS endpoints, test credentials, region. */
  readonly env: Readonly<Record<string, string>>
  readonly bucket: string
  readonly clusterId: string
  readonly clusterName: string
  readonly appName: string
  readonly mainClass: string
  /** s3://bucket/rollover: the action's marker-prefix. */
  readonly markerPrefix: string
  /** s3://bucket/streams/<app>: the default stream's state. */
  readonly statePrefix: string
  readonly s3Endpoint: string
  readonly emrEndpoint: string
  /** The bucket EMR archives step logs in, and the clusters' LogUri (s3://<logBucket>/...). */
  readonly logBucket: string
  readonly logUri: string
  readonly emr: EmrEmulator
  readonly s3: S3Client
  readonly tmpDir: string
  readonly activityLog: string
  /** Local path of a new jar, or its s3:// URI with `upload`. */
  makeJar(version: string, behavior?: DriverBehavior, options?: JarOptions): Promise<string>
  /** Another stream (own source, checkpoint, outputs); returns its state URI. */
  newStream(name: string, source?: Partial<SourceConfig>): Promise<string>
  /** Working action inputs for this stack; add `jar` and timeouts. */
  inputs(overrides?: Readonly<Record<string, string>>): Record<string, string>
  /** Submits a driver directly (marker + step), as an earlier deploy not made by the action. */
  startApp(
    jarUri: string,
    options?: { deploymentId?: string; state?: string },
  ): Promise<{ stepId: string; deploymentId: string; markerUri: string }>
  readActivity(state?: string): Promise<ActivityEvent[]>
  checkInvariants(options?: { state?: string }): Promise<Invariants>
  runAction(
    inputs: Readonly<Record<string, string>>,
    options?: RunActionOptions,
  ): Promise<ActionRun>
  /** Between tests: no injected faults, no live driver left (their steps end FAILED). */
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
  try {
    moto = await startMoto()
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
        { name: clusterName, stepConcurrencyLevel: options.stepConcurrencyLevel ?? 1 },
        ...(options.extraClusters ?? []),
      ],
      appEnv: credentials,
      activityLog,
      faults: options.faults,
      timings: options.timings,
      seed: options.seed,
      s3Endpoint: moto.endpoint,
      logUri: `s3://${logBucket}/elasticmapreduce/`,
    })
    const clusterId = [...emr.state.clusters.values()][0]?.id as string
    const appName = options.appName ?? 'clickstream'
    const stack = buildStack({
      moto,
      emr,
      s3,
      bucket,
      clusterId,
      clusterName,
      appName,
      tmpDir,
      activityLog,
      logBucket,
      env: { ...credentials, AWS_ENDPOINT_URL_EMR: emr.endpoint },
    })
    await stack.newStream(appName, options.source)
    running.add(stack)
    installSignalHandler()
    return stack
  } catch (error) {
    await emr?.close()
    await moto?.stop()
    await rm(tmpDir, { recursive: true, force: true })
    throw error
  }
}

interface Parts {
  moto: MotoServer
  emr: EmrEmulator
  s3: S3Client
  bucket: string
  clusterId: string
  clusterName: string
  appName: string
  tmpDir: string
  activityLog: string
  logBucket: string
  env: Record<string, string>
}

function buildStack(p: Parts): Stack {
  const { s3, bucket, emr } = p
  const statePrefix = `s3://${bucket}/streams/${p.appName}`
  const markerPrefix = `s3://${bucket}/rollover`
  const mainClass = 'com.example.StreamingApp'
  const sources = new Map<string, SourceConfig>()
  let deploySeq = 0
  let stopped = false

  const getText = (key: string) => readText(s3, bucket, key)
  const listKeys = (prefix: string) => listAllKeys(s3, bucket, prefix)

  const stack: Stack = {
    env: p.env,
    bucket,
    clusterId: p.clusterId,
    clusterName: p.clusterName,
    appName: p.appName,
    mainClass,
    markerPrefix,
    statePrefix,
    s3Endpoint: p.moto.endpoint,
    emrEndpoint: emr.endpoint,
    logBucket: p.logBucket,
    logUri: `s3://${p.logBucket}/elasticmapreduce/`,
    emr,
    s3,
    tmpDir: p.tmpDir,
    activityLog: p.activityLog,

    async makeJar(version, behavior = 'ok', options = {}) {
      const { upload, ...rest } = options
      const config: DriverConfig = { version, behavior, ...rest }
      const path = await writeJar(join(p.tmpDir, 'jars'), config)
      if (!upload) return path
      const key = `jars/${path.slice(path.lastIndexOf('/') + 1)}`
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(path) }))
      return `s3://${bucket}/${key}`
    },

    async newStream(name, source = {}) {
      const uri = `s3://${bucket}/streams/${name}`
      const config: SourceConfig = {
        startedAt: Date.now(),
        ratePerSec: 50,
        batchSize: DEFAULT_BATCH_SIZE,
        batchMs: DEFAULT_BATCH_MS,
        markerPollMs: DEFAULT_MARKER_POLL_MS,
        ...source,
      }
      const key = `${parseS3Uri(uri).key}/source.json`
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(config) }),
      )
      sources.set(uri, config)
      return uri
    },

    inputs(overrides = {}) {
      return {
        'app-name': p.appName,
        'cluster-id': p.clusterId,
        'main-class': mainClass,
        'app-args': `--state\n${statePrefix}`,
        'marker-prefix': markerPrefix,
        ...overrides,
      }
    },

    async startApp(jarUri, options = {}) {
      deploySeq += 1
      const deploymentId = options.deploymentId ?? `seed-${Date.now().toString(36)}-${deploySeq}`
      const markerKey = `rollover/${p.appName}/markers/${deploymentId}`
      const markerUri = `s3://${bucket}/${markerKey}`
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: markerKey,
          Body: JSON.stringify({ deploymentId, writtenBy: 'test stack startApp' }),
        }),
      )
      const spec = buildSparkStep({
        app: appIdentity({ bucket, key: 'rollover' }, p.appName),
        deploymentId,
        mainClass,
        sparkSubmitArgs: [],
        appArgs: ['--state', options.state ?? statePrefix],
        jarUri,
        markerUri,
      })
      const step = emr.state.addStep(p.clusterId, {
        name: spec.name,
        jar: spec.jar,
        args: spec.args,
        actionOnFailure: spec.actionOnFailure,
        properties: {},
      })
      return { stepId: step.id, deploymentId, markerUri }
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

    async checkInvariants(options = {}) {
      const state = options.state ?? statePrefix
      const stateKey = parseS3Uri(state).key
      const source = sources.get(state)
      if (!source) throw new Error(`unknown stream ${state}: create it with newStream`)
      const checkpoint = await getText(`${stateKey}/checkpoint.json`)
      const outputKeys = await listKeys(`${stateKey}/output/`)
      const outputs = await readOutputs(s3, bucket, outputKeys)
      const markerKey = parseS3Uri(markerPrefix).key
      const markers = (await listKeys(`${markerKey}/`))
        .filter((key) => key.includes('/markers/') && markerKeyOfReport(key) === undefined)
        .map((key) => `s3://${bucket}/${key}`)
      return computeInvariants({
        events: await stack.readActivity(state),
        outputs,
        committedOffset: checkpoint ? (JSON.parse(checkpoint) as { offset: number }).offset : 0,
        sourceOffset: availableOffset(source, Date.now()),
        liveApps: emr.liveApps().filter((a) => a.state === state),
        markers,
        now: Date.now(),
      })
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
      await Promise.all(emr.liveApps().map((app) => emr.yarn.kill(app.appId, 0)))
      await emr.waitFor(() => emr.liveApps().length === 0, 5000, 'drivers to end')
    },

    async stop() {
      if (stopped) return
      stopped = true
      running.delete(stack)
      await emr.close()
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
