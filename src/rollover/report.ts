// What a run did, phase by phase: the source of the outputs, the job summary and the deployment
// record. Kept as plain data so every consumer renders the same facts.
import { formatDuration } from '../clock.ts'
import type { StepSpec } from '../aws/emr-port.ts'
import type { Clock } from '../clock.ts'
import type { Log } from '../log.ts'
import type { Handoff } from '../contract/handoff.ts'

export type RolloverResult = 'deployed' | 'first-deploy' | 'rolled-back' | 'planned'
export type PhaseStatus = 'ok' | 'skipped' | 'failed'

export interface PhaseRecord {
  readonly name: string
  readonly startedAt: number
  endedAt?: number
  status?: PhaseStatus
  detail?: string
}

export interface StoppedStep {
  readonly stepId: string
  readonly state: string
  /** Its `.stopped` body, as it wrote it. */
  readonly ack?: Record<string, unknown>
  /** Its last `.progress` before it stopped: it publishes progress, and when it last committed. */
  readonly lastProgress?: { readonly batchId?: number; readonly committedAt?: string }
}

export type LaunchOutcome =
  | 'running'
  | 'failed-to-start'
  | 'died'
  | 'not-verified'
  /** Processing, but from the wrong place: a gap or an overlap with the old driver's offsets. */
  | 'bad-handoff'

/** Why a step failed, as EMR says it, and the tail of its stderr when the workflow may read it. */
export interface StepFailureDetails {
  readonly reason?: string
  readonly message?: string
  /** EMR's FailureDetails.LogFile, or where the step's stderr will be. */
  readonly logFile?: string
  /** The last lines of the step's stderr (from the cluster's LogUri). */
  readonly stderrTail?: readonly string[]
  /** Why there is no tail: not uploaded yet, not allowed (IAM), no LogUri. */
  readonly stderrNote?: string
}

/** How the new driver was judged healthy (DESIGN.md phase 7). */
export interface Readiness {
  /** `progress`: from the driver's `.progress`; `emr-state`: the step stayed RUNNING only. */
  readonly method: 'progress' | 'emr-state'
  /** Batches of its own the driver committed while it was watched. */
  readonly batches?: number
  readonly firstBatchId?: number
  readonly lastBatchId?: number
  /** The driver's own times (its clock), epoch ms. */
  readonly firstCommittedAt?: number
  readonly lastCommittedAt?: number
  readonly detail?: string
}

export interface LaunchRecord {
  readonly deploymentId: string
  readonly stepId?: string
  readonly markerUri: string
  readonly jarUri?: string
  readonly step: StepSpec
  /** The runtime role the step runs as, when the cluster uses runtime roles. */
  readonly executionRoleArn?: string
  submittedAt?: number
  runningAt?: number
  /** standby: when the driver wrote `.ready`, and when its marker was switched to `run`. */
  readyAt?: number
  switchedAt?: number
  outcome?: LaunchOutcome
  failure?: string
  failureDetails?: StepFailureDetails
  readiness?: Readiness
}

/** A version of the app as the summary names it: "from → to". */
export interface VersionInfo {
  readonly deploymentId?: string
  readonly stepId?: string
  readonly jarUri?: string
  /** The commit and ref the version was built from (GitHub context of its run). */
  readonly sha?: string
  readonly ref?: string
  readonly runUrl?: string
  /** When it was verified (ISO), for the version that ran before. */
  readonly since?: string
}

/** The moments of the handoff, on this runner's clock unless a field says otherwise. */
export interface HandoffTimes {
  /** The action deleted the old driver's marker. */
  stopRequestedAt?: number
  /** The old driver's last committed batch (its report, its clock). */
  oldLastBatchAt?: number
  /** The old driver's `.stopped` (its clock). */
  oldStoppedAt?: number
  /** The new driver's first committed batch (its report, its clock). */
  newFirstBatchAt?: number
}

/** The processing gap, measured from the drivers' own times when known, else by the action. */
export interface Downtime {
  readonly seconds: number
  readonly measuredBy: 'drivers' | 'action'
}

export interface RunReport {
  readonly deploymentId: string
  readonly appName: string
  readonly region?: string
  clusterId?: string
  clusterName?: string
  result?: RolloverResult
  /** 'in-progress' while running, then 'succeeded' or 'failed'; recorded in S3 as it changes. */
  status: 'in-progress' | 'succeeded' | 'failed'
  jarUri?: string
  jarUploaded?: boolean
  previous: StoppedStep[]
  /** The app's active steps when the lock was taken: what the Stop phase set out to stop. */
  found?: ReadonlyArray<{ readonly stepId: string; readonly state: string }>
  stopStartedAt?: number
  oldStoppedAt?: number
  forcedStop?: boolean
  launch?: LaunchRecord
  rollback?: LaunchRecord
  /** What ran before (from current.json or the old marker) and what this run deploys. */
  before?: VersionInfo
  after?: VersionInfo
  /** Old driver's final offsets against the new driver's first batch (DESIGN.md phase 7). */
  handoff?: Handoff
  handoffTimes?: HandoffTimes
  downtime?: Downtime
  /** stop-start or standby. */
  strategy?: string
  plan?: { readonly stop: readonly string[]; readonly markerUri: string; readonly step: StepSpec }
  phases: PhaseRecord[]
  warnings: string[]
  error?: string
  emrCalls?: number
}

/**
 * Whether the run reached a phase that changes the app: the Stop (stop-start) or the Submit
 * (standby submits before it stops). Before either, nothing was stopped or submitted.
 */
export function actedOnTheApp(report: RunReport): boolean {
  return report.phases.some((p) => p.name === 'Stop' || p.name === 'Submit')
}

export function newReport(deploymentId: string, appName: string, region?: string): RunReport {
  return {
    deploymentId,
    appName,
    region,
    status: 'in-progress',
    previous: [],
    phases: [],
    warnings: [],
  }
}

/** Runs one phase inside a log group, timing it into the report. */
export class PhaseRunner {
  private readonly report: RunReport
  private readonly clock: Clock
  private readonly log: Log

  constructor(report: RunReport, clock: Clock, log: Log) {
    this.report = report
    this.clock = clock
    this.log = log
  }

  async run<T>(name: string, fn: (phase: PhaseRecord) => Promise<T>): Promise<T> {
    const phase: PhaseRecord = { name, startedAt: this.clock.now() }
    this.report.phases.push(phase)
    return this.log.group(name, async () => {
      try {
        const value = await fn(phase)
        phase.status ??= 'ok'
        return value
      } catch (error) {
        phase.status = 'failed'
        phase.detail ??= error instanceof Error ? error.message : String(error)
        throw error
      } finally {
        phase.endedAt = this.clock.now()
        this.log.info(
          `${name}: ${phase.status} in ${formatDuration(phase.endedAt - phase.startedAt)}`,
        )
      }
    })
  }

  skip(name: string, detail: string): void {
    const now = this.clock.now()
    this.report.phases.push({ name, startedAt: now, endedAt: now, status: 'skipped', detail })
  }
}

export function seconds(from?: number, to?: number): number | undefined {
  if (from === undefined || to === undefined) return undefined
  return Math.round((to - from) / 100) / 10
}

/** Downtime: from the old driver's confirmed exit to the new one running. */
/** The downtime output: from the drivers' own times when known, else between the steps. */
export function downtimeSeconds(report: RunReport): number | undefined {
  return report.downtime?.seconds ?? stepDowntimeSeconds(report)
}

/** As the action saw it: the old step confirmed gone → the new (or rollback) step RUNNING. */
export function stepDowntimeSeconds(report: RunReport): number | undefined {
  const live = report.rollback?.runningAt ?? report.launch?.runningAt
  return seconds(report.oldStoppedAt, live)
}
