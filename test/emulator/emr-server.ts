// A local EMR endpoint speaking awsJson1_1 (POST /, X-Amz-Target: ElasticMapReduce.<Op>), so the
// action's real SDK client runs unchanged against it via AWS_ENDPOINT_URL_EMR. Faults (throttling,
// 5xx, latency, EMR's default quotas, the ResourceManager's answers, CancelSteps oddities) are
// injectable at start, at runtime through POST /__control, or through the instance; GET /__state
// shows everything a test may assert on.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { dispatch } from './emr-ops.ts'
import { EmrRateLimiter } from './emr-quotas.ts'
import { ApiError, type StepRecord } from './emr-shapes.ts'
import { EmrState, type ClusterSpec, type EmrTimings } from './emr-state.ts'
import { RM_MODES, ResourceManager, type RmMode, type YarnKill } from './resource-manager.ts'
import type { AttemptLauncher } from './yarn-launch.ts'
import { Yarn, type AppInfo } from './yarn.ts'

export type FaultKind = 'throttle' | '5xx'

export interface Faults {
  /** Fraction (0..1) of calls answered with ThrottlingException. */
  throttleRate: number
  /** Fraction (0..1) of calls answered with HTTP 500 InternalServerError. */
  errorRate: number
  /** Added to every call, answered or not. */
  latencyMs: number
  /** Answer the next `count` calls of an operation with a fault, before any rate applies. */
  failNext: Record<string, { count: number; kind: FaultKind }>
  /** EMR's default quotas (emr-quotas.ts): per operation, and all calls together. */
  realRateLimits: boolean
  /** How the ResourceManager answers the kill step: ok, unreachable, unauthorized (401), ... */
  rm: RmMode
  /** CancelSteps on a RUNNING step: CANCEL_PENDING lasts as long as the application does. */
  cancelHangs: boolean
  /** CancelSteps on a RUNNING step first waits for it to end on its own (then: FAILED). */
  cancelRace: boolean
}

/** Timings of the emulated YARN, next to EMR's. */
export interface YarnTimings {
  /** From a failed attempt to the next one (YARN: seconds). Default 200 ms. */
  reattemptDelayMs: number
  /** The driver's start-up per attempt (ApplicationMaster, executors): [min, max] ms. */
  driverStartDelayMs: readonly [number, number]
}

export type EmulatorTimings = EmrTimings & YarnTimings

export const DEFAULT_TIMINGS: EmulatorTimings = {
  stepStartDelayMs: 100,
  cancelDelayMs: 300,
  killGraceMs: 250,
  stepExitLagMs: 0,
  logUploadDelayMs: 200,
  reattemptDelayMs: 200,
  driverStartDelayMs: [0, 0],
}

export interface EmulatorOptions {
  readonly port?: number
  readonly region?: string
  readonly clusters?: readonly ClusterSpec[]
  /** Environment of every application: S3 endpoint, credentials. */
  readonly appEnv?: Readonly<Record<string, string>>
  /** JSON-lines file the drivers and YARN append their activity to. */
  readonly activityLog?: string
  /** What runs an application attempt: the simulated driver (default), or real spark-submit. */
  readonly launcher?: AttemptLauncher
  readonly faults?: Partial<Faults>
  readonly timings?: Partial<EmulatorTimings>
  /** Seeds the fault dice, for reproducible runs. */
  readonly seed?: number
  /** S3 (moto) for step logs; the clusters' default LogUri (s3://bucket/prefix/). */
  readonly s3Endpoint?: string
  readonly logUri?: string
}

export interface StepView extends Omit<StepRecord, 'logs'> {
  readonly logs: string[]
}

export interface EmulatorSnapshot {
  readonly endpoint: string
  readonly counts: Record<string, number>
  readonly throttled: Record<string, number>
  /** The part of `throttled` that EMR's quotas (realRateLimits) refused. */
  readonly rateLimited: Record<string, number>
  readonly serverErrors: Record<string, number>
  readonly faults: Faults
  /** Every `yarn application -kill` a kill step ran. */
  readonly yarnKills: YarnKill[]
  /** Step logs uploaded to S3 (s3:// URIs). */
  readonly stepLogs: string[]
  readonly clusters: unknown[]
  readonly steps: StepView[]
  readonly apps: AppInfo[]
}

export class EmrEmulator {
  readonly state: EmrState
  readonly yarn: Yarn
  faults: Faults
  readonly counts: Record<string, number> = {}
  readonly throttled: Record<string, number> = {}
  readonly rateLimited: Record<string, number> = {}
  readonly serverErrors: Record<string, number> = {}
  readonly rm: ResourceManager
  readonly timings: EmulatorTimings
  private readonly server: Server
  private readonly random: () => number
  private limiter = new EmrRateLimiter()

  private constructor(
    options: EmulatorOptions,
    yarn: Yarn,
    rm: ResourceManager,
    timings: EmulatorTimings,
  ) {
    this.yarn = yarn
    this.rm = rm
    /** Mutable: a test may change a timing while the stack runs. */
    this.timings = timings
    this.faults = { ...NO_FAULTS }
    this.state = new EmrState({
      yarn,
      rm,
      timings: this.timings,
      region: options.region ?? 'us-east-1',
      s3Endpoint: options.s3Endpoint,
      logUri: options.logUri,
      faults: () => this.faults,
    })
    for (const spec of options.clusters ?? [{ name: 'streaming-staging' }]) {
      this.state.addCluster(spec)
    }
    this.setFaults(options.faults ?? {})
    this.random = options.seed === undefined ? Math.random : mulberry32(options.seed)
    this.server = createServer((req, res) => void this.handle(req, res))
  }

  static async start(options: EmulatorOptions = {}): Promise<EmrEmulator> {
    const timings = timingsOf(options)
    const yarn = new Yarn({
      env: options.appEnv ?? {},
      activityLog: options.activityLog,
      launcher: options.launcher,
      timings,
    })
    const rm = await ResourceManager.start(yarn, () => timings.killGraceMs)
    const emulator = new EmrEmulator(options, yarn, rm, timings)
    await new Promise<void>((resolve, reject) => {
      emulator.server.once('error', reject)
      emulator.server.listen(options.port ?? 0, '127.0.0.1', resolve)
    })
    return emulator
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`
  }

  setFaults(faults: Partial<Faults>): void {
    if (faults.rm !== undefined && !RM_MODES.includes(faults.rm)) {
      throw new Error(`unknown rm mode ${String(faults.rm)}: one of ${RM_MODES.join(', ')}`)
    }
    this.faults = {
      ...this.faults,
      ...faults,
      failNext: { ...this.faults.failNext, ...faults.failNext },
    }
    this.rm.mode = this.faults.rm
    if (faults.realRateLimits !== undefined) this.limiter = new EmrRateLimiter()
  }

  /** No injected fault of any kind (what Stack.reset() restores). */
  clearFaults(): void {
    this.faults = { ...NO_FAULTS, failNext: {} }
    this.rm.mode = 'ok'
  }

  resetCounts(): void {
    for (const record of [this.counts, this.throttled, this.rateLimited, this.serverErrors]) {
      for (const key of Object.keys(record)) delete record[key]
    }
  }

  steps(clusterId?: string): StepView[] {
    return [...this.state.steps.values()]
      .filter((s) => clusterId === undefined || s.clusterId === clusterId)
      .sort((a, b) => b.seq - a.seq)
      .map((s) => ({ ...s, logs: this.stepLogs(s.id) }))
  }

  step(stepId: string): StepView | undefined {
    return this.steps().find((s) => s.id === stepId)
  }

  /** What the step printed, followed by its application's log lines. */
  stepLogs(stepId: string): string[] {
    const step = this.state.steps.get(stepId)
    if (!step) return []
    return [...step.logs, ...step.appIds.flatMap((id) => this.yarn.logs(id))]
  }

  apps(): AppInfo[] {
    return this.yarn.list()
  }

  liveApps(): AppInfo[] {
    return this.yarn.list().filter((a) => a.alive)
  }

  snapshot(): EmulatorSnapshot {
    return {
      endpoint: this.endpoint,
      counts: { ...this.counts },
      throttled: { ...this.throttled },
      rateLimited: { ...this.rateLimited },
      serverErrors: { ...this.serverErrors },
      faults: this.faults,
      yarnKills: [...this.rm.kills],
      stepLogs: [...this.state.logs.uploaded],
      clusters: [...this.state.clusters.values()],
      steps: this.steps(),
      apps: this.apps(),
    }
  }

  /** Polls `check` until it returns a value other than undefined/false. */
  async waitFor<T>(
    check: () => T | undefined | false,
    timeoutMs: number,
    what: string,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = check()
      if (value !== undefined && value !== false) return value
      if (Date.now() > deadline)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
    await this.state.close()
    await this.rm.close()
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    try {
      if (req.method === 'GET' && req.url === '/__state') return send(res, 200, this.snapshot())
      if (req.method === 'POST' && req.url === '/__control') {
        const body = (raw ? JSON.parse(raw) : {}) as Partial<Faults> & { resetCounts?: boolean }
        const { resetCounts, ...faults } = body
        this.setFaults(faults)
        if (resetCounts) this.resetCounts()
        return send(res, 200, { faults: this.faults })
      }
      const target = String(req.headers['x-amz-target'] ?? '')
      if (req.method !== 'POST' || !target.startsWith('ElasticMapReduce.')) {
        return send(res, 404, { __type: 'UnknownOperationException', message: 'not an EMR call' })
      }
      const op = target.slice('ElasticMapReduce.'.length)
      this.counts[op] = (this.counts[op] ?? 0) + 1
      if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs)
      const fault = this.pickFault(op)
      if (fault === 'throttle' || fault === 'quota') {
        this.throttled[op] = (this.throttled[op] ?? 0) + 1
        if (fault === 'quota') this.rateLimited[op] = (this.rateLimited[op] ?? 0) + 1
        throw new ApiError('ThrottlingException', 'Rate exceeded')
      }
      if (fault === '5xx') {
        this.serverErrors[op] = (this.serverErrors[op] ?? 0) + 1
        throw new ApiError('InternalServerError', 'Internal server error (injected)', 500)
      }
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {}
      send(res, 200, await dispatch(this.state, op, body))
    } catch (error) {
      if (error instanceof ApiError) {
        return send(res, error.status, { __type: error.type, message: error.message })
      }
      if (error instanceof SyntaxError) {
        return send(res, 400, { __type: 'SerializationException', message: error.message })
      }
      send(res, 500, { __type: 'InternalServerError', message: String(error) })
    }
  }

  private pickFault(op: string): FaultKind | 'quota' | undefined {
    const next = this.faults.failNext[op]
    if (next && next.count > 0) {
      next.count -= 1
      return next.kind
    }
    if (this.faults.realRateLimits && !this.limiter.take(op)) return 'quota'
    if (this.faults.throttleRate > 0 && this.random() < this.faults.throttleRate) return 'throttle'
    if (this.faults.errorRate > 0 && this.random() < this.faults.errorRate) return '5xx'
    return undefined
  }
}

const NO_FAULTS: Faults = {
  throttleRate: 0,
  errorRate: 0,
  latencyMs: 0,
  failNext: {},
  realRateLimits: false,
  rm: 'ok',
  cancelHangs: false,
  cancelRace: false,
}

function timingsOf(options: EmulatorOptions): EmulatorTimings {
  return { ...DEFAULT_TIMINGS, ...options.timings }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-requestid': randomUUID(),
  })
  res.end(JSON.stringify(body))
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
