// An in-memory EmrPort for unit tests of the rollover logic: clusters, a FIFO step queue bounded
// by the step concurrency level, and a scripted "driver" (YARN application) per spark-submit step,
// all driven by the injected (fake) clock. It follows the EMR facts in DESIGN.md:
//  * a cluster-mode spark-submit step is RUNNING exactly as long as its application, and ends
//    COMPLETED on a clean exit, FAILED otherwise;
//  * CancelSteps on a RUNNING step ends it CANCELLED, but its YARN application keeps running;
//    a repeated cancel changes nothing; below emr-5.28.0 a RUNNING step cannot be cancelled;
//  * the kill step (buildKillStep) kills every live application carrying one of its tags;
//  * on a cluster with runtime roles every step needs ExecutionRoleArn, elsewhere none may have one;
//  * listActiveSteps answers oldest first (ListSteps with a StepStates filter), and about 1,000
//    steps of history are kept.
// The driver watches its marker in the MemoryStore (directly, without recording store calls) and,
// once the marker is gone, drains, optionally writes `<marker>.stopped`, and exits 0.
// Every port call is recorded; faults (e.g. ThrottlingException) can be injected per call.
import { CancelStepFailed, ClusterGone } from '../../src/aws/emr-port.ts'
import {
  ACTIVE_CLUSTER_STATES,
  CLUSTER_NOT_MODIFIABLE,
  cancelOutcome,
  killTagsOf,
  LIST_STEPS_PAGE_SIZE,
  listStepsOrder,
  markerUriOfSpark,
  runtimeRoleProblem,
  stepKind,
  stepsBeyondHistory,
  stepsToStart,
  yarnTagsOf,
  type CancelOutcome,
  type StepKind,
} from '../emulator/emr-rules.ts'
import {
  ACTIVE_STEP_STATES,
  type ClusterInfo,
  type ClusterRef,
  type EmrPort,
  type StepInfo,
  type StepSpec,
  type StepState,
} from '../../src/aws/emr-port.ts'
import type { Clock } from '../../src/clock.ts'
import { UserError } from '../../src/errors.ts'
import { runFakeDriver, type DriverLog } from './fake-driver.ts'
import type { MemoryStore } from './memory-store.ts'

export type EmrOp =
  | 'resolveCluster'
  | 'listActiveSteps'
  | 'listRecentSteps'
  | 'describeStep'
  | 'listStepsById'
  | 'addStep'
  | 'cancelStep'

export const MUTATING_EMR_OPS: ReadonlySet<EmrOp> = new Set<EmrOp>(['addStep', 'cancelStep'])

export interface EmrCall {
  readonly op: EmrOp
  /** Clock time of the call. */
  readonly at: number
  readonly clusterId?: string
  /** describeStep/listStepsById/cancelStep: the step asked about (listStepsById: the first).
   * addStep: the id given, once known. */
  stepId?: string
  /** addStep: what was submitted. */
  readonly step?: StepSpec
  readonly executionRoleArn?: string
  /** describeStep/listStepsById: the state answered. */
  state?: StepState
  /** Set when the call threw. */
  error?: Error
}

/**
 * How the driver of a spark-submit step behaves.
 * - graceful: polls its marker; when it is gone, drains for `drainMs`, acks (if `ack`), exits 0.
 * - ignore-marker: runs until killed.
 * - crash-on-start: fails right after the step starts RUNNING.
 * - die-after-ms: fails `dieAfterMs` after RUNNING (and honours its marker until then).
 * - stay-pending: the step never leaves PENDING (it never gets a slot) until cancelled.
 * - ack-and-stay: writes `.stopped` when its marker is gone, but never returns from main.
 * - stuck-after-start: RUNNING, but never commits a batch (nor reports progress).
 * - gap / overlap: starts 50 offsets after / before its checkpoint.
 * - silent: processes correctly, but publishes no `.progress` and no `.stopped`.
 * - stalls: stops committing 20 s after its first batch, and stays RUNNING.
 * - ignores-standby: processes at once even when its marker says `mode: standby`.
 * - no-library: a jar built without the driver library: processes at once, never looks at its
 *   marker (standby or gone), and publishes nothing (no `.progress`, `.ready` or `.stopped`).
 * Every driver but crash-on-start and stay-pending processes the stream of test/support/
 * fake-driver.ts, which records its batches in `FakeApp.log`.
 */
export type DriverBehaviour =
  | 'graceful'
  | 'ignore-marker'
  | 'crash-on-start'
  | 'die-after-ms'
  | 'stay-pending'
  | 'ack-and-stay'
  | 'stuck-after-start'
  | 'gap'
  | 'overlap'
  | 'silent'
  | 'stalls'
  | 'ignores-standby'
  | 'no-library'

export interface DriverScript {
  readonly behaviour?: DriverBehaviour
  /** PENDING -> RUNNING once a slot is free. Default 2s. */
  readonly startDelayMs?: number
  /** How often the driver checks its marker. Default 1s. */
  readonly markerPollMs?: number
  /** From seeing its marker gone to exiting. Default 5s. */
  readonly drainMs?: number
  /** Writes `<marker>.stopped` just before exiting. Default true. */
  readonly ack?: boolean
  /** From the application's exit to the step's end as EMR reports it. Default 0. */
  readonly exitLagMs?: number
  /** For die-after-ms. Default 30s. */
  readonly dieAfterMs?: number
  /** From RUNNING (or from `run`, for a standby) to its first batch. Default 0. */
  readonly initMs?: number
  /** Time between committed batches. Default 1s. */
  readonly batchMs?: number
}

export interface KillScript {
  readonly startDelayMs?: number
  /** How long `yarn application -kill` and the check take. Default 3s. */
  readonly durationMs?: number
  /** FAILED: the script exits 1 ("still running") and kills nothing. Default COMPLETED. */
  readonly outcome?: 'COMPLETED' | 'FAILED'
}

export interface FakeApp {
  readonly id: string
  readonly stepId: string
  readonly tags: readonly string[]
  readonly markerUri?: string
  readonly startedAt: number
  alive: boolean
  /** When the driver saw its marker gone. */
  markerGoneAt?: number
  exit?: 'succeeded' | 'failed' | 'killed'
  endedAt?: number
  /** What its driver did: committed batches, standby. */
  log?: DriverLog
}

export interface FakeStep {
  readonly id: string
  readonly seq: number
  readonly clusterId: string
  readonly spec: StepSpec
  readonly kind: StepKind
  readonly script: Required<DriverScript>
  readonly createdAt: number
  readonly executionRoleArn?: string
  state: StepState
  startedAt?: number
  endedAt?: number
  failure?: StepInfo['failure']
  app?: FakeApp
  /** Cancelled while `cancelHangs`: CANCEL_PENDING until its application ends. */
  cancelHangs?: boolean
}

export interface KillRecord {
  readonly stepId: string
  /** The kill step's tags, comma-separated (it kills applications carrying any of them). */
  readonly tag: string
  readonly killed: readonly string[]
}

/** A cluster of the fake: EMR's ClusterInfo, and whether it has runtime roles. */
export type FakeClusterSpec = Partial<ClusterInfo> & { readonly runtimeRoles?: boolean }

export interface FakeEmrOptions {
  readonly clock: Clock
  readonly store: MemoryStore
  /** The one cluster created up front. Default j-FAKE "streaming", WAITING, concurrency 1. */
  readonly cluster?: FakeClusterSpec
  /** Script of every spark-submit step with no queued script. */
  readonly driver?: DriverScript
  readonly kill?: KillScript
  /** CANCEL_PENDING -> CANCELLED for a RUNNING step. Default 1s. */
  readonly cancelDelayMs?: number
  /** The interrupt never takes: a cancelled RUNNING step stays CANCEL_PENDING while its app lives. */
  readonly cancelHangs?: boolean
}

const DEFAULT_SCRIPT: Required<DriverScript> = {
  behaviour: 'graceful',
  startDelayMs: 2000,
  markerPollMs: 1000,
  drainMs: 5000,
  ack: true,
  exitLagMs: 0,
  dieAfterMs: 30_000,
  initMs: 0,
  batchMs: 1000,
}

/** What EMR answers when a rate limit is exceeded. */
export function throttlingError(op = 'DescribeStep'): Error {
  return Object.assign(new Error(`Rate exceeded (${op})`), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
  })
}

function emrError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } })
}

export class FakeEmr implements EmrPort {
  readonly clusters = new Map<string, ClusterInfo>()
  readonly steps = new Map<string, FakeStep>()
  readonly apps: FakeApp[] = []
  readonly kills: KillRecord[] = []
  readonly calls: EmrCall[] = []
  /** Runs at the start of every call, after it is recorded; may throw to fail the call. */
  beforeCall?: (call: EmrCall) => void | Promise<void>

  private readonly clock: Clock
  private readonly store: MemoryStore
  private readonly defaultScript: Required<DriverScript>
  private readonly killScript: Required<KillScript>
  private readonly cancelDelayMs: number
  private readonly cancelHangs: boolean
  private readonly runtimeRoles = new Set<string>()
  private readonly queued: DriverScript[] = []
  private readonly faults = new Map<string, () => Error>()
  private faultWhen?: (call: EmrCall) => boolean
  private readonly starting = new Set<string>()
  private readonly stopped = new AbortController()
  private seq = 0
  private appSeq = 0

  constructor(options: FakeEmrOptions) {
    this.clock = options.clock
    this.store = options.store
    this.defaultScript = { ...DEFAULT_SCRIPT, ...options.driver }
    this.killScript = {
      startDelayMs: 1000,
      durationMs: 3000,
      outcome: 'COMPLETED',
      ...options.kill,
    }
    this.cancelDelayMs = options.cancelDelayMs ?? 1000
    this.cancelHangs = options.cancelHangs ?? false
    this.addCluster({ id: 'j-FAKE', name: 'streaming', ...options.cluster })
  }

  addCluster(spec: FakeClusterSpec & { readonly id: string }): ClusterInfo {
    const { runtimeRoles, ...info } = spec
    const cluster: ClusterInfo = {
      name: info.id,
      state: 'WAITING',
      stepConcurrencyLevel: 1,
      releaseLabel: 'emr-7.5.0',
      ...info,
    }
    this.clusters.set(cluster.id, cluster)
    if (runtimeRoles) this.runtimeRoles.add(cluster.id)
    else this.runtimeRoles.delete(cluster.id)
    return cluster
  }

  /** Scripts for the next spark-submit steps submitted through addStep, in order. */
  queue(...scripts: DriverScript[]): this {
    this.queued.push(...scripts)
    return this
  }

  /** The `nth` (1-based, counting every call of `op`) calls of `op` throw ThrottlingException. */
  throttle(op: EmrOp, ...nth: number[]): this {
    for (const n of nth) this.faults.set(`${op}#${n}`, () => throttlingError(op))
    return this
  }

  /** Every call for which `when` is true throws ThrottlingException. */
  throttleWhen(when: (call: EmrCall) => boolean): this {
    this.faultWhen = when
    return this
  }

  /** The `nth` call of `op` throws `error`. */
  failOn(op: EmrOp, nth: number, error: Error): this {
    this.faults.set(`${op}#${nth}`, () => error)
    return this
  }

  /** Stops every timer and driver loop: call it when the test ends. */
  dispose(): void {
    this.stopped.abort()
  }

  // ------------------------------------------------------------ seeding and inspection

  /** A step already RUNNING (its driver alive and watching its marker), without recording calls. */
  seedRunningStep(
    spec: StepSpec,
    script: DriverScript = {},
    clusterId = 'j-FAKE',
    executionRoleArn?: string,
  ): FakeStep {
    const step = this.createStep(
      clusterId,
      spec,
      { ...this.defaultScript, ...script },
      executionRoleArn,
    )
    this.start(step)
    return step
  }

  /** A human cancelling the step in the console: EMR's rules, not recorded as a call. */
  cancelFromConsole(stepId: string): CancelOutcome {
    const step = this.steps.get(stepId)
    const outcome = cancelOutcome(stepId, step?.state, step && this.clusters.get(step.clusterId))
    if (step && (outcome.kind === 'cancelled' || outcome.kind === 'cancel-pending')) {
      this.doCancel(step)
    }
    return outcome
  }

  step(id: string): FakeStep {
    const step = this.steps.get(id)
    if (!step) throw new Error(`FakeEmr: no step ${id}`)
    return step
  }

  /** Steps submitted through addStep, in order. */
  get submitted(): FakeStep[] {
    const ids = this.calls.filter((c) => c.op === 'addStep' && c.stepId).map((c) => c.stepId)
    return ids.map((id) => this.step(id as string))
  }

  activeSteps(clusterId = 'j-FAKE'): FakeStep[] {
    return this.stepsOf(clusterId).filter((s) => ACTIVE_STEP_STATES.includes(s.state))
  }

  aliveApps(): FakeApp[] {
    return this.apps.filter((a) => a.alive)
  }

  callsOf(...ops: EmrOp[]): EmrCall[] {
    return this.calls.filter((c) => ops.includes(c.op))
  }

  count(...ops: EmrOp[]): number {
    return this.callsOf(...ops).length
  }

  get mutations(): EmrCall[] {
    return this.calls.filter((c) => MUTATING_EMR_OPS.has(c.op))
  }

  // ------------------------------------------------------------ EmrPort

  async resolveCluster(ref: ClusterRef): Promise<ClusterInfo> {
    await this.record({ op: 'resolveCluster', at: this.clock.now() })
    if (ref.kind === 'id') {
      const cluster = this.clusters.get(ref.id)
      if (!cluster) {
        throw new ClusterGone(`cluster-id '${ref.id}': EMR knows no cluster ${ref.id}.`)
      }
      if (!ACTIVE_CLUSTER_STATES.has(cluster.state)) {
        throw new ClusterGone(`cluster-id '${ref.id}': cluster ${ref.id} is ${cluster.state}.`)
      }
      return cluster
    }
    const matches = [...this.clusters.values()].filter(
      (c) => c.name === ref.name && ACTIVE_CLUSTER_STATES.has(c.state),
    )
    const [only] = matches
    if (!only || matches.length > 1) {
      throw new UserError(
        `cluster-name '${ref.name}': ${matches.length} active clusters have this name.`,
      )
    }
    return only
  }

  async listActiveSteps(clusterId: string): Promise<StepInfo[]> {
    await this.record({ op: 'listActiveSteps', at: this.clock.now(), clusterId })
    this.cluster(clusterId)
    // ListSteps with a StepStates filter: oldest first. Summaries carry no runtime role.
    return listStepsOrder(this.activeSteps(clusterId), true).map((s) => this.summary(s))
  }

  async listRecentSteps(clusterId: string): Promise<StepInfo[]> {
    await this.record({ op: 'listRecentSteps', at: this.clock.now(), clusterId })
    this.cluster(clusterId)
    // ListSteps' first page without a filter: newest first. Summaries carry no runtime role.
    return listStepsOrder(this.stepsOf(clusterId), false)
      .slice(0, LIST_STEPS_PAGE_SIZE)
      .map((s) => this.summary(s))
  }

  async describeStep(clusterId: string, stepId: string): Promise<StepInfo> {
    const call: EmrCall = { op: 'describeStep', at: this.clock.now(), clusterId, stepId }
    await this.record(call)
    const step = this.steps.get(stepId)
    if (!step || step.clusterId !== clusterId) {
      throw emrError('InvalidRequestException', `Step id '${stepId}' is not valid.`)
    }
    call.state = step.state
    return this.info(step)
  }

  async listStepsById(clusterId: string, stepIds: readonly string[]): Promise<StepInfo[]> {
    const call: EmrCall = {
      op: 'listStepsById',
      at: this.clock.now(),
      clusterId,
      stepId: stepIds[0],
    }
    await this.record(call)
    this.cluster(clusterId)
    const steps = stepIds
      .map((id) => this.steps.get(id))
      .filter((s): s is FakeStep => s !== undefined && s.clusterId === clusterId)
    call.state = steps[0]?.state
    // ListSteps with a StepIds filter: oldest first. Summaries carry no runtime role.
    return listStepsOrder(steps, true).map((s) => this.summary(s))
  }

  async addStep(clusterId: string, spec: StepSpec, executionRoleArn?: string): Promise<string> {
    const call: EmrCall = {
      op: 'addStep',
      at: this.clock.now(),
      clusterId,
      step: spec,
      ...(executionRoleArn === undefined ? {} : { executionRoleArn }),
    }
    await this.record(call)
    const cluster = this.cluster(clusterId)
    if (!ACTIVE_CLUSTER_STATES.has(cluster.state)) {
      throw emrError('ValidationException', CLUSTER_NOT_MODIFIABLE)
    }
    const roleProblem = runtimeRoleProblem(this.runtimeRoles.has(clusterId), executionRoleArn)
    if (roleProblem) throw emrError('ValidationException', roleProblem)
    const kind = stepKind(spec)
    const script =
      kind === 'spark' ? { ...this.defaultScript, ...this.queued.shift() } : this.defaultScript
    const step = this.createStep(clusterId, spec, script, executionRoleArn)
    call.stepId = step.id
    this.schedule(clusterId)
    return step.id
  }

  async cancelStep(clusterId: string, stepId: string): Promise<void> {
    await this.record({ op: 'cancelStep', at: this.clock.now(), clusterId, stepId })
    const step = this.steps.get(stepId)
    const known = step && step.clusterId === clusterId ? step : undefined
    const outcome = cancelOutcome(stepId, known?.state, this.clusters.get(clusterId))
    if (outcome.kind === 'refused' || !known) {
      throw new CancelStepFailed(stepId, outcome.kind === 'refused' ? outcome.reason : undefined)
    }
    // Already CANCEL_PENDING: CancelSteps is idempotent, nothing changes.
    if (outcome.kind !== 'already-pending') this.doCancel(known)
  }

  // ------------------------------------------------------------ the model

  private async record(call: EmrCall): Promise<void> {
    this.calls.push(call)
    const nth = this.calls.filter((c) => c.op === call.op).length
    try {
      await this.beforeCall?.(call)
      const fault = this.faults.get(`${call.op}#${nth}`)
      if (fault) throw fault()
      if (this.faultWhen?.(call)) throw throttlingError(call.op)
    } catch (error) {
      call.error = error as Error
      throw error
    }
  }

  private cluster(id: string): ClusterInfo {
    const cluster = this.clusters.get(id)
    if (!cluster) throw emrError('InvalidRequestException', `Cluster id '${id}' is not valid.`)
    return cluster
  }

  private stepsOf(clusterId: string): FakeStep[] {
    return [...this.steps.values()].filter((s) => s.clusterId === clusterId)
  }

  private createStep(
    clusterId: string,
    spec: StepSpec,
    script: Required<DriverScript>,
    executionRoleArn?: string,
  ): FakeStep {
    this.cluster(clusterId)
    this.seq += 1
    const step: FakeStep = {
      id: `s-FAKE${String(this.seq).padStart(4, '0')}`,
      seq: this.seq,
      clusterId,
      spec: { ...spec, args: [...spec.args] },
      kind: stepKind(spec),
      script,
      createdAt: this.clock.now(),
      ...(executionRoleArn === undefined ? {} : { executionRoleArn }),
      state: 'PENDING',
    }
    this.steps.set(step.id, step)
    // EMR keeps about 1,000 steps of history: the oldest ended ones are forgotten.
    for (const old of stepsBeyondHistory(this.stepsOf(clusterId))) this.steps.delete(old.id)
    return step
  }

  /** What ListSteps tells of a step: StepSummary has no runtime role. */
  private summary(step: FakeStep): StepInfo {
    const { executionRoleArn, ...summary } = this.info(step)
    void executionRoleArn
    return summary
  }

  private info(step: FakeStep): StepInfo {
    const date = (t?: number): Date | undefined => (t === undefined ? undefined : new Date(t))
    return {
      id: step.id,
      name: step.spec.name,
      jar: step.spec.jar,
      args: [...step.spec.args],
      actionOnFailure: step.spec.actionOnFailure,
      state: step.state,
      ...(step.executionRoleArn === undefined ? {} : { executionRoleArn: step.executionRoleArn }),
      createdAt: date(step.createdAt),
      startedAt: date(step.startedAt),
      endedAt: date(step.endedAt),
      ...(step.failure ? { failure: { ...step.failure } } : {}),
    }
  }

  /** FIFO: the oldest PENDING steps get the free slots. A stay-pending step never gets one. */
  private schedule(clusterId: string): void {
    const cluster = this.cluster(clusterId)
    const isStarting = (s: FakeStep) => this.starting.has(s.id)
    const mayStart = (s: FakeStep) => !(s.kind === 'spark' && s.script.behaviour === 'stay-pending')
    const steps = this.stepsOf(clusterId)
    for (const step of stepsToStart(steps, cluster.stepConcurrencyLevel, isStarting, mayStart)) {
      this.starting.add(step.id)
      const delay = step.kind === 'kill' ? this.killScript.startDelayMs : step.script.startDelayMs
      this.later(delay, () => {
        this.starting.delete(step.id)
        if (step.state === 'PENDING') this.start(step)
        else this.schedule(clusterId)
      })
    }
  }

  private start(step: FakeStep): void {
    step.state = 'RUNNING'
    step.startedAt = this.clock.now()
    if (step.kind === 'kill') {
      this.later(this.killScript.durationMs, () => this.runKill(step))
      return
    }
    if (step.kind === 'other') {
      this.finish(step, 'FAILED', {
        reason: 'Unknown Error.',
        message: 'not a step this fake runs',
      })
      return
    }
    const sparkArgs = step.spec.args.slice(1)
    const tags = yarnTagsOf(sparkArgs)
    this.appSeq += 1
    const app: FakeApp = {
      id: `application_1700000000000_${String(this.appSeq).padStart(4, '0')}`,
      stepId: step.id,
      tags,
      markerUri: markerUriOfSpark(sparkArgs),
      startedAt: this.clock.now(),
      alive: true,
    }
    step.app = app
    this.apps.push(app)
    const script = step.script
    switch (script.behaviour) {
      case 'crash-on-start':
        this.appEnds(app, 'failed', 'java.lang.ClassNotFoundException: com.acme.Missing')
        return
      case 'die-after-ms':
        this.later(script.dieAfterMs, () => {
          if (app.alive) this.appEnds(app, 'failed', 'java.lang.OutOfMemoryError: Java heap space')
        })
        break
    }
    app.log = runFakeDriver(
      {
        clock: this.clock,
        store: this.store,
        appId: app.id,
        markerUri: app.markerUri,
        later: (ms, fn) => this.later(ms, fn),
        isAlive: () => app.alive,
        exit: () => this.appEnds(app, 'succeeded'),
        markerGone: () => (app.markerGoneAt = this.clock.now()),
      },
      {
        initMs: script.initMs,
        batchMs: script.batchMs,
        markerPollMs: script.markerPollMs,
        drainMs: script.drainMs,
        ack: script.ack && script.behaviour !== 'silent' && script.behaviour !== 'no-library',
        reports: script.behaviour !== 'silent' && script.behaviour !== 'no-library',
        stuck: script.behaviour === 'stuck-after-start',
        offsetShift: script.behaviour === 'gap' ? 50 : script.behaviour === 'overlap' ? -50 : 0,
        stayAfterAck: script.behaviour === 'ack-and-stay',
        ignoreMarker: script.behaviour === 'ignore-marker' || script.behaviour === 'no-library',
        stallAfterMs: script.behaviour === 'stalls' ? 20_000 : 0,
        ignoreStandby: script.behaviour === 'ignores-standby' || script.behaviour === 'no-library',
      },
    )
  }

  /** The application ends; a RUNNING step (spark-submit waiting on it) ends with it. */
  private appEnds(app: FakeApp, exit: 'succeeded' | 'failed' | 'killed', error?: string): void {
    app.alive = false
    app.exit = exit
    app.endedAt = this.clock.now()
    const step = this.steps.get(app.stepId)
    if (step?.state === 'CANCEL_PENDING' && step.cancelHangs) {
      this.finish(step, 'CANCELLED')
      return
    }
    if (!step || step.state !== 'RUNNING') return
    const end = (): void => {
      if (step.state !== 'RUNNING') return
      if (exit === 'succeeded') return this.finish(step, 'COMPLETED')
      this.finish(step, 'FAILED', {
        reason: 'Unknown Error.',
        message:
          exit === 'killed'
            ? `Application ${app.id} was killed by user`
            : `Exception in thread "main" ${error ?? 'org.apache.spark.SparkException'}`,
        logFile: `s3://aws-logs/elasticmapreduce/${step.clusterId}/steps/${step.id}/stderr.gz`,
      })
    }
    if (step.script.exitLagMs > 0) this.later(step.script.exitLagMs, end)
    else end()
  }

  private runKill(step: FakeStep): void {
    if (step.state !== 'RUNNING') return
    const tags = killTagsOf(step.spec.args)
    if (this.killScript.outcome === 'FAILED') {
      this.kills.push({ stepId: step.id, tag: tags.join(','), killed: [] })
      this.finish(step, 'FAILED', {
        reason: 'Unknown Error.',
        message: 'still running: application_1700000000000_0001',
      })
      return
    }
    const victims = this.apps.filter((a) => a.alive && a.tags.some((t) => tags.includes(t)))
    for (const app of victims) this.appEnds(app, 'killed')
    this.kills.push({ stepId: step.id, tag: tags.join(','), killed: victims.map((a) => a.id) })
    this.finish(step, 'COMPLETED')
  }

  private doCancel(step: FakeStep): void {
    if (step.state === 'PENDING') {
      this.finish(step, 'CANCELLED')
      return
    }
    if (step.state !== 'RUNNING') return
    // spark-submit gets the signal; the cluster-mode driver in YARN does not.
    step.state = 'CANCEL_PENDING'
    if (this.cancelHangs) {
      step.cancelHangs = true
      return
    }
    this.later(this.cancelDelayMs, () => {
      if (step.state === 'CANCEL_PENDING') this.finish(step, 'CANCELLED')
    })
  }

  private finish(step: FakeStep, state: StepState, failure?: StepInfo['failure']): void {
    step.state = state
    step.endedAt = this.clock.now()
    if (failure) step.failure = failure
    this.schedule(step.clusterId)
  }

  private later(ms: number, fn: () => void): void {
    if (this.stopped.signal.aborted) return
    this.clock.sleep(ms, this.stopped.signal).then(fn, () => undefined)
  }
}
