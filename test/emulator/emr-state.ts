// EMR's step rules as the rollover depends on them: FIFO PENDING queue, at most
// StepConcurrencyLevel steps RUNNING, a cluster-mode spark-submit step RUNNING exactly as long as
// its application, CancelSteps leaving that application alive, and the YARN kill step.
import { randomBytes } from 'node:crypto'
import { WAIT_CONF, parseSparkSubmitArgs } from '../../src/contract/spark-submit.ts'
import {
  ACTIVE_CLUSTER_STATES,
  CLUSTER_NOT_MODIFIABLE,
  cancelOutcome,
  killTagsOf,
  stepKind,
  stepsToStart,
  yarnTagsOf,
} from './emr-rules.ts'
import type { StepState } from '../../src/aws/emr-port.ts'
import { ApiError, type ClusterRecord, type FailureDetails, type StepRecord } from './emr-shapes.ts'
import { Yarn, type AppInfo } from './yarn.ts'

export interface ClusterSpec {
  readonly id?: string
  readonly name: string
  readonly stepConcurrencyLevel?: number
  readonly state?: string
}

export interface EmrTimings {
  /** PENDING -> RUNNING once a slot is free (real EMR: seconds). */
  stepStartDelayMs: number
  /** CANCEL_PENDING -> CANCELLED. */
  cancelDelayMs: number
  /** YARN kill: SIGTERM, then SIGKILL after this. */
  killGraceMs: number
}

const ACCOUNT = '123456789012'

export class EmrState {
  readonly clusters = new Map<string, ClusterRecord>()
  readonly steps = new Map<string, StepRecord>()
  readonly yarn: Yarn
  readonly timings: EmrTimings
  private readonly region: string
  private readonly timers = new Set<NodeJS.Timeout>()
  private closed = false
  private clusterSeq = 0
  private stepSeq = 0

  constructor(yarn: Yarn, timings: EmrTimings, region: string) {
    this.yarn = yarn
    this.timings = timings
    this.region = region
  }

  addCluster(spec: ClusterSpec): ClusterRecord {
    this.clusterSeq += 1
    const id = spec.id ?? `j-EMULATOR${String(this.clusterSeq).padStart(5, '0')}`
    const now = Date.now()
    const cluster: ClusterRecord = {
      id,
      name: spec.name,
      state: spec.state ?? 'WAITING',
      stepConcurrencyLevel: spec.stepConcurrencyLevel ?? 1,
      createdAt: now - 3_600_000,
      readyAt: now - 3_000_000,
      releaseLabel: 'emr-7.5.0',
      arn: `arn:aws:elasticmapreduce:${this.region}:${ACCOUNT}:cluster/${id}`,
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

  addStep(
    clusterId: string,
    spec: Omit<
      StepRecord,
      'id' | 'seq' | 'clusterId' | 'state' | 'createdAt' | 'appIds' | 'logs' | 'history'
    >,
  ): StepRecord {
    const cluster = this.cluster(clusterId)
    if (!ACTIVE_CLUSTER_STATES.has(cluster.state)) {
      throw new ApiError('ValidationException', CLUSTER_NOT_MODIFIABLE)
    }
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

  /** CancelSteps: PENDING ends at once; RUNNING goes through CANCEL_PENDING, the app lives on. */
  cancel(clusterId: string, stepId: string): { Status: string; Reason?: string } {
    const step = this.steps.get(stepId)
    const known = step && step.clusterId === clusterId ? step : undefined
    const outcome = cancelOutcome(stepId, known?.state)
    if (outcome.kind === 'refused' || !known) {
      return { Status: 'FAILED', Reason: outcome.kind === 'refused' ? outcome.reason : '' }
    }
    if (outcome.kind === 'cancelled') {
      this.finish(known, 'CANCELLED', undefined, { Code: 'NONE', Message: 'Cancelled by user' })
      return { Status: 'SUBMITTED' }
    }
    setState(known, 'CANCEL_PENDING')
    // Client mode: the driver is spark-submit itself, so the signal reaches it.
    for (const appId of known.appIds) {
      if (this.yarn.get(appId)?.deployMode === 'client') this.yarn.signal(appId, 'SIGTERM')
    }
    this.later(this.timings.cancelDelayMs, () => {
      if (known.state === 'CANCEL_PENDING') {
        this.finish(known, 'CANCELLED', undefined, { Code: 'NONE', Message: 'Cancelled by user' })
      }
    })
    return { Status: 'SUBMITTED' }
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

  private readonly starting = new Set<string>()

  private start(step: StepRecord): void {
    setState(step, 'RUNNING')
    step.startedAt = Date.now()
    const cluster = this.cluster(step.clusterId)
    this.refreshClusterState(cluster)
    const kind = stepKind(step)
    if (kind === 'spark') return this.launch(step)
    if (kind === 'kill') return void this.kill(step, killTagsOf(step.args)[0] ?? '')
    const first = step.args[0]
    this.finish(step, 'FAILED', {
      Reason: 'Unknown Error.',
      Message: `The EMR emulator cannot run this step (jar ${step.jar}, command ${first ?? ''}).`,
    })
  }

  private launch(step: StepRecord): void {
    const sparkArgs = step.args.slice(1)
    const parsed = parseSparkSubmitArgs(sparkArgs)
    const option = (name: string) => parsed.options.find(([n]) => n === name)?.[1]
    const deployMode = option('--deploy-mode') ?? 'client'
    const tags = yarnTagsOf(sparkArgs)
    const env: Record<string, string> = {}
    for (const [key, value] of parsed.confs) {
      const match = /^spark\.yarn\.appMasterEnv\.(.+)$/.exec(key)
      if (match) env[match[1] as string] = value
    }
    const stateIndex = parsed.appArgs.indexOf('--state')
    const state = stateIndex >= 0 ? parsed.appArgs[stateIndex + 1] : undefined
    const app = this.yarn.launch(
      { clusterId: step.clusterId, stepId: step.id, sparkArgs, tags, deployMode, env, state },
      (info, lastLines) => this.applicationEnded(step, info, lastLines),
    )
    step.appIds.push(app.appId)
    if (deployMode === 'cluster' && parsed.confs.get(WAIT_CONF)?.trim() === 'false') {
      // spark-submit returns once YARN accepted the app: the step no longer tracks the driver.
      this.later(200, () => step.state === 'RUNNING' && this.finish(step, 'COMPLETED'))
    }
  }

  private applicationEnded(step: StepRecord, app: AppInfo, lastLines: string[]): void {
    if (step.state !== 'RUNNING') return
    if (app.exitCode === 0) return this.finish(step, 'COMPLETED')
    const cause = app.signal ? `killed by ${app.signal}` : `exit code ${app.exitCode}`
    const exception = [...lastLines].reverse().find((l) => l.includes('Exception'))
    this.finish(step, 'FAILED', {
      Reason: 'Unknown Error.',
      Message:
        exception?.replace(/^\[stderr\] /, '') ??
        `Exception in thread "main" org.apache.spark.SparkException: Application ${app.appId} finished with failed status (${cause})`,
      LogFile: `s3://aws-logs-${ACCOUNT}-${this.region}/elasticmapreduce/${step.clusterId}/steps/${step.id}/stderr.gz`,
    })
  }

  private async kill(step: StepRecord, tag: string): Promise<void> {
    const { killed, survivors } = await this.yarn.killByTag(
      step.clusterId,
      tag,
      this.timings.killGraceMs,
    )
    for (const id of killed) step.logs.push(`[stdout] Killing application ${id}`)
    if (step.state !== 'RUNNING') return
    if (survivors.length === 0) {
      step.logs.push(`[stdout] killed: ${killed.join(' ') || 'none'}`)
      return this.finish(step, 'COMPLETED')
    }
    step.logs.push(`[stderr] still running: ${survivors.join(' ')}`)
    this.finish(step, 'FAILED', { Reason: 'Unknown Error.', Message: 'still running' })
  }

  private finish(
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
      if (app.alive && app.clusterId === cluster.id) this.yarn.signal(app.appId, 'SIGKILL')
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
    await this.yarn.closeAll()
  }
}

function setState(step: StepRecord, state: StepState): void {
  step.state = state
  step.history.push({ state, t: Date.now() })
}
