// What the old driver left for judging the new one: whether it published progress (then the new
// one must too, under verify-by auto), its final offsets (the handoff verdict) and its last
// commit (the downtime, measured from the drivers' own times).
import { parseStopped, type StoppedReport } from '../contract/reports.ts'
import type { RolloverContext } from './context.ts'
import type { LaunchRecord, StoppedStep } from './report.ts'
import type { StopOutcome } from './stop.ts'
import type { VerifyRequest } from './verify.ts'

export interface OldDriver {
  /** Its `.stopped`, when it wrote one of the contract's version: final offsets per source. */
  readonly stopped?: StoppedReport
  /** When it committed its last batch (its clock), epoch ms. */
  readonly lastBatchAt?: number
  /** It published progress (a `.progress`, or a version-1 `.stopped`). */
  readonly publishesProgress: boolean
}

export function oldDriverOf(stop: StopOutcome | undefined): OldDriver {
  // The drivers this run stopped; else (a re-run after a run that stopped them and went no
  // further) the newest acknowledgement left in S3.
  const stopped = stop?.stopped.length ? stop.stopped : newestFirst(stop?.acknowledged ?? [])
  const withReports = stopped.map((s) => ({ s, report: reportOf(s) }))
  const best =
    withReports.find((x) => x.report && x.report.sources.length > 0) ??
    withReports.find((x) => x.report)
  const lastBatchAt =
    time(
      best?.s.lastProgress?.batchId === best?.report?.batchId
        ? best?.s.lastProgress?.committedAt
        : undefined,
    ) ?? time(best?.report?.stoppedAt)
  return {
    ...(best?.report ? { stopped: best.report } : {}),
    ...(lastBatchAt === undefined ? {} : { lastBatchAt }),
    publishesProgress: withReports.some((x) => x.report || x.s.lastProgress),
  }
}

/** How the new driver is judged, from `verify-by` and what the old one published. */
export function verifyRequestFor(
  ctx: RolloverContext,
  old: OldDriver,
  recordedByProgress: boolean,
): VerifyRequest {
  const base = old.stopped ? { oldStopped: old.stopped } : {}
  switch (ctx.settings.verifyBy) {
    case 'progress':
      return { ...base, progress: 'required' }
    case 'emr-state':
      return { ...base, progress: 'off' }
    default:
      // An app whose driver published progress is held to it: a new driver that publishes
      // nothing within start-timeout is stuck, not merely quiet.
      return {
        ...base,
        progress: old.publishesProgress || recordedByProgress ? 'required' : 'optional',
      }
  }
}

/**
 * The processing gap: the old driver's last committed batch → the new driver's first, by their
 * own times when both are known; otherwise the old step's end → the new step RUNNING, as the
 * action saw them.
 */
export function recordDowntime(ctx: RolloverContext, old: OldDriver, live: LaunchRecord): void {
  const { report } = ctx
  const newFirst = live.readiness?.firstCommittedAt
  report.handoffTimes = {
    ...report.handoffTimes,
    ...(old.lastBatchAt === undefined ? {} : { oldLastBatchAt: old.lastBatchAt }),
    ...(old.stopped?.stoppedAt ? { oldStoppedAt: Date.parse(old.stopped.stoppedAt) } : {}),
    ...(newFirst === undefined ? {} : { newFirstBatchAt: newFirst }),
  }
  if (old.lastBatchAt !== undefined && newFirst !== undefined && newFirst >= old.lastBatchAt) {
    report.downtime = {
      seconds: Math.round((newFirst - old.lastBatchAt) / 100) / 10,
      measuredBy: 'drivers',
    }
    return
  }
  const from = report.oldStoppedAt
  const to = live.runningAt
  if (from !== undefined && to !== undefined) {
    report.downtime = {
      seconds: Math.round(Math.max(0, to - from) / 100) / 10,
      measuredBy: 'action',
    }
  }
}

function newestFirst(acks: readonly StoppedStep[]): StoppedStep[] {
  const at = (s: StoppedStep): number => time(reportOf(s)?.stoppedAt) ?? -Infinity
  return [...acks].sort((a, b) => at(b) - at(a))
}

function reportOf(s: StoppedStep): StoppedReport | undefined {
  return s.ack ? parseStopped(JSON.stringify(s.ack)) : undefined
}

function time(iso: string | undefined): number | undefined {
  const t = iso === undefined ? NaN : Date.parse(iso)
  return Number.isNaN(t) ? undefined : t
}
