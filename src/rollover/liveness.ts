// The one rule for "is this driver gone?" (DESIGN.md, "Which drivers may be alive"). Pure: it
// judges what observe.ts and the stop loop have read, and never asks anything itself.
//
// A driver is possibly alive while its step is PENDING, RUNNING or CANCEL_PENDING; when its step
// ended CANCELLED or INTERRUPTED without its acknowledgement (EMR signalled spark-submit; the
// YARN application does not care); when a forced stop of it was started and not confirmed; and
// when it reports progress after its step ended (spark-submit died, the application lives on).
// COMPLETED and FAILED mean spark-submit saw the YARN application end.
import type { StepInfo } from '../aws/emr-port.ts'
import { formatDuration } from '../clock.ts'
import type { StopAck } from '../contract/markers.ts'
import type { KillIntent } from './ledger.ts'

/** Where a candidate was found; each source alone is enough to make it a candidate. */
export type CandidateSource = 'active-step' | 'marker' | 'ledger' | 'current' | 'history'

export interface DriverCandidate {
  /** The step id, or the marker URI for a marker no step is known for. */
  readonly key: string
  readonly clusterId: string
  readonly stepId?: string
  readonly deploymentId?: string
  /** The marker the driver watches (from its step's confs or the action's records). */
  readonly markerUri?: string
  /** YARN tags that name this driver alone; empty when it cannot be killed by tag. */
  readonly killTags: readonly string[]
  readonly via: readonly CandidateSource[]
  /** The latest EMR view of its step. */
  readonly step?: StepInfo
  /** Its `<marker>.stopped`. */
  readonly ack?: StopAck
  /** When its `<marker>.progress` was last written (S3's LastModified). */
  readonly progressAt?: Date
  readonly killIntent?: KillIntent
  /** The YARN application id it reports, when known (links an app's own marker to its step). */
  readonly applicationId?: string
  /** The action wrote its marker, and the cluster's history shows no step was submitted for it. */
  readonly neverSubmitted?: boolean
  /** EMR does not describe its step: its cluster is gone, or the step left the history. */
  readonly stepUnknown?: 'cluster-gone' | 'step-unknown'
  /** The kill step of a recorded intent COMPLETED: YARN had no application with its tags left. */
  readonly killConfirmedBy?: string
  /**
   * How long (this machine's monotonic time) its `.progress` has not changed since its step was
   * seen ended, against how long it must stay so (the driver's own cadence): set by the stop's
   * wait (progress-quiet.ts) for a FAILED step whose driver publishes progress.
   */
  readonly progressQuiet?: { readonly forMs: number; readonly neededMs: number }
}

export type LivenessStatus = 'alive' | 'possibly-alive' | 'gone'

export interface Liveness {
  readonly status: LivenessStatus
  /** For a person: why, in a few words ("its step is RUNNING", "acknowledged its stop"). */
  readonly why: string
}

/** Progress written this long after EMR says the step ended means the application lives on. */
export const PROGRESS_AFTER_END_MS = 10_000

const ACTIVE = new Set(['PENDING', 'RUNNING', 'CANCEL_PENDING'])

export function liveness(c: DriverCandidate): Liveness {
  const ended = c.step !== undefined && !ACTIVE.has(c.step.state)
  if (c.killIntent && c.killConfirmedBy && (ended || !c.step)) {
    return { status: 'gone', why: `kill step ${c.killConfirmedBy} confirmed it killed` }
  }
  if (c.killIntent && !c.killConfirmedBy) {
    return {
      status: 'possibly-alive',
      why: `a forced stop of it started at ${c.killIntent.at} was never confirmed`,
    }
  }
  const step = c.step
  if (!step && c.neverSubmitted) {
    return { status: 'gone', why: 'no step was ever submitted for its marker' }
  }
  if (!step && c.stepUnknown === 'cluster-gone') {
    return { status: 'gone', why: `its cluster ${c.clusterId} is gone` }
  }
  // An active step never leaves EMR's history; one only current.json or the history named is a
  // finished one. The ledger and markers name drivers not yet confirmed gone: those stay.
  if (!step && c.stepUnknown && c.via.every((v) => v === 'current' || v === 'history')) {
    return { status: 'gone', why: 'EMR no longer knows its step, and no record says it may run' }
  }
  if (!step) {
    return c.ack
      ? { status: 'gone', why: 'it acknowledged its stop' }
      : {
          status: 'possibly-alive',
          why: 'no EMR step is known for its marker; only its .stopped can confirm it stopped',
        }
  }
  if (ACTIVE.has(step.state)) {
    const acked = c.ack ? ' (it acknowledged its stop, but has not exited)' : ''
    return { status: 'alive', why: `its step is ${step.state}${acked}` }
  }
  const endedAt = step.endedAt?.getTime()
  const progressAt = c.progressAt?.getTime()
  // A driver that acknowledged its stop and reported nothing after it has returned from main.
  const writtenAt = c.ack?.writtenAt?.getTime() ?? Infinity
  if (c.ack && (progressAt === undefined || writtenAt >= progressAt)) {
    return { status: 'gone', why: `it acknowledged its stop; its step ended ${step.state}` }
  }
  if (
    endedAt !== undefined &&
    progressAt !== undefined &&
    progressAt > endedAt + PROGRESS_AFTER_END_MS
  ) {
    return {
      status: 'possibly-alive',
      why: `it reported progress ${formatDuration(progressAt - endedAt)} after its step ended ${step.state}: the YARN application outlived spark-submit`,
    }
  }
  // COMPLETED: spark-submit saw the application succeed. FAILED is either the application
  // failing or spark-submit itself dying on the primary node (killed, OOM) while the application
  // lives on: a driver that publishes progress must be seen to stop publishing first.
  if (step.state === 'FAILED' && c.progressAt !== undefined) {
    const quiet = c.progressQuiet
    if (!quiet || quiet.forMs < quiet.neededMs) {
      return {
        status: 'possibly-alive',
        why: `its step ended FAILED, but its driver publishes progress and spark-submit may have died alone: waiting ${formatDuration(quiet?.neededMs ?? PROGRESS_AFTER_END_MS)} without a new report${quiet ? ` (${formatDuration(quiet.forMs)} so far)` : ''}, or its acknowledgement`,
      }
    }
    return {
      status: 'gone',
      why: `its step ended FAILED and its driver reported nothing for ${formatDuration(quiet.forMs)}`,
    }
  }
  if (step.state === 'COMPLETED' || step.state === 'FAILED') {
    return { status: 'gone', why: `its step ended ${step.state}` }
  }
  // CANCELLED or INTERRUPTED.
  if (step.startedAt === undefined) {
    return { status: 'gone', why: `its step was ${step.state} before it started` }
  }
  return {
    status: 'possibly-alive',
    why: `its step ended ${step.state}${step.endedAt ? ` at ${step.endedAt.toISOString()}` : ''} without an acknowledgement: in cluster mode its YARN application lives on`,
  }
}

export function isGone(c: DriverCandidate): boolean {
  return liveness(c).status === 'gone'
}

/** "s-123 (RUNNING)" or "marker s3://…" for messages. */
export function describeCandidate(c: DriverCandidate): string {
  if (c.stepId) return `${c.stepId}${c.step ? ` (${c.step.state})` : ''}`
  return `the driver of marker ${c.markerUri ?? c.key}`
}
