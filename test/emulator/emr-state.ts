// EMR's step rules as the rollover depends on them: FIFO PENDING queue, at most
// StepConcurrencyLevel steps RUNNING, a cluster-mode spark-submit step RUNNING exactly as long as
// its YARN application (re-attempts included, plus an exit lag), CancelSteps leaving that
// application alive, runtime roles, the step history limit, step logs in S3, and the kill step
// run for real (command-step.ts) against the fake ResourceManager.
import { randomBytes } from 'node:crypto'
import type { StepState } from '../../src/aws/emr-port.ts'
import { CommandSteps } from './command-step.ts'
import { StepCancels, type CancelAnswer } from './emr-cancel.ts'
import {
  ACTIVE_CLUSTER_STATES,
  CLUSTER_NOT_MODIFIABLE,
  runtimeRoleProblem,
  stepKind,
  stepsBeyondHistory,
  stepsToStart,
} from './emr-rules.ts'
import {
  ApiError,
  setState,
  type ClusterRecord,
  type FailureDetails,
  type StepRecord,
} from './emr-shapes.ts'
import type { CancelFaults } from './emr-cancel.ts'
import type { ResourceManager } from './resource-manager.ts'
import { SparkSteps } from './spark-step.ts'
import { StepLogs, stepLogUri } from './step-logs.ts'
import type { Yarn } from './yarn.ts'

export interface ClusterSpec {
  readonly id?: string
  readonly name: string
  readonly stepConcurrencyLevel?: number
  readonly state?: string
  /** Default emr-7.5.0; below emr-5.28.0 a RUNNING step cannot be cancelled. */
  readonly releaseLabel?: string
  /** Runtime roles: every step needs ExecutionRoleArn, and no other cluster takes one. */
  readonly runtimeRoles?: boolean
  /** Where step logs go; default the emulator's `logUri`; null for none. */
  readonly logUri?: string | null
}

export interface EmrTimings {
  /** PENDING -> RUNNING once a slot is free (real EMR: seconds). */
  stepStartDelayMs: number
  /** CANCEL_PENDING -> CANCELLED. */
  cancelDelayMs: number
  /** YARN kill: SIGTERM, then SIGKILL after this (yarn.nodemanager.sleep-delay-before-sigkill.ms). */
  killGraceMs: number
  /** From the application's end to the step's (spark-submit polls YARN about every second). */
  stepExitLagMs: number
  /** From a failed step to its logs in S3 (real EMR: minutes). */
  logUploadDelayMs: number
}

export interface EmrStateDeps {
  readonly yarn: Yarn
  readonly rm: ResourceManager
  readonly timings: EmrTimings
  readonly region: string
  /** S3 (moto) for step logs. */
  readonly s3Endpoint?: string
  /** LogUri of clusters that do not name one. */
  readonly logUri?: string
  readonly faults: () => CancelFaults
}

export const ACCOUNT = '123456789012'
type StepSpecInput = Omit<
  StepRecord,
  'id' | 'seq' | 'clusterId' | 'state' | 'createdAt' | 'appIds' | 'logs' | 'history'
>

export class EmrState {
  readonly clusters = new Map<string, ClusterRecord>()
  readonly steps = new Map<string, StepRecord>()
  readonly yarn: Yarn
  readonly rm: ResourceManager
  readonly timings: EmrTimings
  readonly logs: StepLogs
  private readonly deps: EmrStateDeps
  private readonly commands = new CommandSteps()
  private readonly spark: SparkSteps
  private readonly cancels: StepCancels
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly starting = new Set<string>()
  private closed = false
  private clusterSeq = 0
  private stepSeq = 0

  constructor(deps: EmrStateDeps) {
    this.deps = deps
    this.yarn = deps.yarn
    this.rm = deps.rm
    this.timings = deps.timings
    this.logs = new StepLogs(deps.s3Endpoint, deps.region)
    this.spark = new SparkSteps({
      yarn: deps.yarn,
      timings: deps.timings,
      later: (ms, fn) => this.later(ms, fn),
      finish: (step, state, failure) => this.finish(step, state, failure),
      logFile: (step) => this.logFile(step),
    })
    this.cancels = new StepCancels({
      step: (clusterId, stepId) => {
        const step = this.steps.get(stepId)
        return step && step.clusterId === clusterId ? step : undefined
      },
      cluster: (id) => this.cluster(id),
      faults: deps.faults,
      cancelDelayMs: () => deps.timings.cancelDelayMs,
      closed: () => this.closed,
      finish: (step, state, reason) => this.finish(step, state, undefined, reason),
      interrupt: (step) => {
        this.spark.interrupted(step)
        this.commands.interrupt(step.id)
      },
      later: (ms, fn) => this.later(ms, fn),
    })
  }

  addCluster(spec: ClusterSpec): ClusterRecord {
    this.clusterSeq += 1
    const id = spec.id ?? `j-EMULATOR${String(this.clusterSeq).padStart(5, '0')}`
    const now = Date.now()
    const logUri = spec.logUri === null ? undefined : (spec.logUri ?? this.deps.logUri)
    const cluster: ClusterRecord = {
      id,
      name: spec.name,
      state: spec.state ?? 'WAITING',
      stepConcurrencyLevel: spec.stepConcurrencyLevel ?? 1,
      createdAt: now - 3_600_000,
      readyAt: now - 3_000_000,
      releaseLabel: spec.releaseLabel ?? 'emr-7.5.0',
      arn: `arn:aws:elasticmapreduce:${this.deps.region}:${ACCOUNT}:cluster/${id}`,
      runtimeRoles: spec.runtimeRoles ?? false,
      ...(logUri ? { logUri } : {}),
    }
    this.clusters.set(id, cluster)
    return cluster
  }

  cluster(id: string): ClusterRecord {
    const cluster = this.clusters.get(id)
    if (!cluster) throw new ApiError('InvalidRequestException', `Cluster id '${id}' is not valid.`)
    return cluster
  }

  step(clusterId: string, stepId: string): StepRecord {
    const step = this.steps.get(stepId)
    if (!step || step.clusterId !== clusterId) {
      throw new ApiError('InvalidRequestException', `Step id '${stepId}' is not valid.`)
    }
    return step
  }

  stepsOf(clusterId: string): StepRecord[] {
    return [...this.steps.values()].filter((s) => s.clusterId === clusterId)
  }

  /** Checks a step as AddJobFlowSteps does (throws ApiError), without adding it. */
  validateStep(clusterId: string, executionRoleArn: string | undefined): void {
    const cluster = this.cluster(clusterId)
    if (!ACTIVE_CLUSTER_STATES.has(cluster.state)) {
      throw new ApiError('ValidationException', CLUSTER_NOT_MODIFIABLE)
    }
    const problem = runtimeRoleProblem(cluster.runtimeRoles, executionRoleArn)
    if (problem) throw new ApiError('ValidationException', problem)
  }

  addStep(clusterId: string, spec: StepSpecInput): StepRecord {
    this.validateStep(clusterId, spec.executionRoleArn)
    this.stepSeq += 1
    const suffix = randomBytes(8).toString('hex').toUpperCase().slice(0, 9)
    const step: StepRecord = {
      ...spec,
      id: `s-${this.stepSeq.toString(36).toUpperCase().padStart(4, '0')}${suffix}`,
      seq: this.stepSeq,
      clusterId,
      state: 'PENDING',
      createdAt: Date.now(),
      appIds: [],
      logs: [],
      history: [{ state: 'PENDING', t: Date.now() }],
    }
    this.steps.set(step.id, step)
    // EMR keeps about 1,000 steps of history: the oldest ended ones are forgotten.
    for (const old of stepsBeyondHistory(this.stepsOf(clusterId))) this.steps.delete(old.id)
    this.schedule(clusterId)
    return step
  }

  setConcurrency(clusterId: string, level: number): number {
    if (!Number.isInteger(level) || level < 1 || level > 256) {
      throw new ApiError('ValidationException', 'StepConcurrencyLevel must be between 1 and 256.')
    }
    this.cluster(clusterId).stepConcurrencyLevel = level
    this.schedule(clusterId)
    return level
  }

  /**
   * CancelSteps (SEND_INTERRUPT): PENDING ends at once; RUNNING goes through CANCEL_PENDING and
   * the cluster-mode application lives on; a repeated cancel changes nothing (emr-cancel.ts).
   */
  cancel(clusterId: string, stepId: string): Promise<CancelAnswer> {
    return this.cancels.cancel(clusterId, stepId)
  }

  /**
   * spark-submit killed on the primary node (OOM killer, a reboot of the step runner): the step
   * ends FAILED while its cluster-mode application keeps running in YARN.
   */
  killSparkSubmit(stepId: string): void {
    const step = this.steps.get(stepId)
    if (!step || (step.state !== 'RUNNING' && step.state !== 'CANCEL_PENDING')) {
      throw new Error(`step ${stepId} is not running`)
    }
    step.logs.push("[stderr] Command exiting with ret '137' (spark-submit was killed)")
    this.finish(step, 'FAILED', {
      Reason: 'Unknown Error.',
      Message: 'Step failed: spark-submit exited with status 137 (killed)',
      ...this.logFile(step),
    })
  }

  private schedule(clusterId: string): void {
    const cluster = this.clusters.get(clusterId)
    if (!cluster) return
    const isStarting = (s: StepRecord) => this.starting.has(s.id)
    for (const step of stepsToStart(
      this.stepsOf(clusterId),
      cluster.stepConcurrencyLevel,
      isStarting,
    )) {
      this.starting.add(step.id)
      this.later(this.timings.stepStartDelayMs, () => {
        this.starting.delete(step.id)
        if (step.state === 'PENDING') this.start(step)
        else this.schedule(clusterId)
      })
    }
    this.refreshClusterState(cluster)
  }

  private start(step: StepRecord): void {
    setState(step, 'RUNNING')
    step.startedAt = Date.now()
    this.refreshClusterState(this.cluster(step.clusterId))
    const kind = stepKind(step)
    if (kind === 'spark') return this.spark.launch(step)
    if (kind === 'kill') return void this.runCommand(step)
    const first = step.args[0]
    this.finish(step, 'FAILED', {
      Reason: 'Unknown Error.',
      Message: `The EMR emulator cannot run this step (jar ${step.jar}, command ${first ?? ''}).`,
    })
  }

  /** The kill step: the real script, the real bash, the fake RM, yarn and hostname. */
  private async runCommand(step: StepRecord): Promise<void> {
    const env = this.rm.stepEnv(step.clusterId, step.id)
    const result = await this.commands.run(step.id, step.args, env, (l) => step.logs.push(l))
    if (step.state === 'CANCEL_PENDING') {
      return this.finish(step, 'CANCELLED', undefined, {
        Code: 'NONE',
        Message: 'Cancelled by user',
      })
    }
    if (step.state !== 'RUNNING') return
    if (result.exitCode === 0) return this.finish(step, 'COMPLETED')
    const lastError = [...step.logs].reverse().find((l) => l.startsWith('[stderr] '))
    this.finish(step, 'FAILED', {
      Reason: 'Unknown Error.',
      Message: lastError?.slice('[stderr] '.length) ?? `exit code ${result.exitCode}`,
      ...this.logFile(step),
    })
  }

  private logFile(step: StepRecord): { LogFile?: string } {
    const logUri = this.clusters.get(step.clusterId)?.logUri
    return logUri ? { LogFile: stepLogUri(logUri, step.clusterId, step.id, 'stderr.gz') } : {}
  }

  finish(
    step: StepRecord,
    state: StepState,
    failure?: FailureDetails,
    reason?: { Code?: string; Message?: string },
  ): void {
    setState(step, state)
    step.endedAt = Date.now()
    if (failure) step.failure = failure
    if (reason) step.stateChangeReason = reason
    const cluster = this.cluster(step.clusterId)
    if (state === 'FAILED') {
      const lines = [...step.logs, ...step.appIds.flatMap((id) => this.yarn.logs(id))]
      if (failure?.Message) lines.push(`[stderr] ${failure.Message}`)
      this.later(this.timings.logUploadDelayMs, () =>
        this.logs.upload(cluster.logUri, cluster.id, step.id, lines),
      )
    }
    if (state === 'FAILED' && step.actionOnFailure !== 'CONTINUE') {
      for (const other of this.stepsOf(cluster.id)) {
        if (other.state === 'PENDING') {
          this.finish(other, 'CANCELLED', undefined, { Message: `Cancelled: ${step.id} failed` })
        }
      }
      if (step.actionOnFailure.startsWith('TERMINATE_')) this.terminate(cluster, step.id)
    }
    this.schedule(cluster.id)
  }

  private terminate(cluster: ClusterRecord, stepId: string): void {
    cluster.state = 'TERMINATED_WITH_ERRORS'
    cluster.stateChangeReason = {
      Code: 'STEP_FAILURE',
      Message: `Shut down as step failed: ${stepId}`,
    }
    for (const app of this.yarn.list()) {
      if (app.alive && app.clusterId === cluster.id) void this.yarn.kill(app.appId, 0)
    }
  }

  private refreshClusterState(cluster: ClusterRecord): void {
    if (cluster.state !== 'RUNNING' && cluster.state !== 'WAITING') return
    const active = this.stepsOf(cluster.id).some((s) =>
      ['PENDING', 'RUNNING', 'CANCEL_PENDING'].includes(s.state),
    )
    cluster.state = active ? 'RUNNING' : 'WAITING'
  }

  private later(ms: number, fn: () => void): void {
    if (this.closed) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      fn()
    }, ms)
    this.timers.add(timer)
  }

  async close(): Promise<void> {
    this.closed = true
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    this.commands.closeAll()
    await this.yarn.closeAll()
    await this.logs.close()
  }
}
