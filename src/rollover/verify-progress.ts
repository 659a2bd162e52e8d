// Verification by the driver's own reports (DESIGN.md phase 7): the new driver must commit
// `ready-batches` batches of its own within start-timeout, then keep committing through
// stable-for, with no gap between two commits longer than the heartbeat bound; its first batch
// must start where the old driver's last committed batch ended (the handoff verdict).
// S3 answers most of it: EMR is asked only about as often as in the EMR-state check.
import { isTerminal, type StepInfo } from '../aws/emr-port.ts'
import { isTransient } from '../aws/transient.ts'
import { withDeadline } from '../aws/deadline.ts'
import { formatDuration } from '../clock.ts'
import { compareHandoff } from '../contract/handoff.ts'
import type { ProgressReport, StoppedReport } from '../contract/reports.ts'
import { describeError } from '../errors.ts'
import type { RolloverContext } from './context.ts'
import type { LaunchRecord, Readiness } from './report.ts'
import { statusTicker } from './status.ts'
import { endedText, type StepWatch } from './verify-step.ts'

/**
 * The least heartbeat bound of `heartbeat-timeout: auto`, whatever the driver's interval: a
 * fast-trigger app with one slow batch is not a dead one.
 */
export const MIN_HEARTBEAT_MS = 60_000

export interface ProgressCheck {
  /** The deadline for the first batches (monotonic). */
  readonly readyBy: number
  /** The old driver's final offsets, when it reported them: the handoff is judged against them. */
  readonly oldStopped?: StoppedReport
  /** The watcher that already read the reports while the step started, so none is lost. */
  readonly progress?: ProgressWatcher
}

/** Own batches: a driver resumes a checkpoint, so batch ids do not start at 0. */
export function ownBatches(p: ProgressReport): number {
  if (p.batchId === undefined || p.firstBatchId === undefined) return 0
  return p.batchId - p.firstBatchId + 1
}

function time(iso: string | undefined): number | undefined {
  const t = iso === undefined ? NaN : Date.parse(iso)
  return Number.isNaN(t) ? undefined : t
}

/** Sets `launch.outcome`; a driver that publishes no progress fails here. */
export async function verifyByProgress(
  ctx: RolloverContext,
  launch: LaunchRecord,
  watch: StepWatch,
  check: ProgressCheck,
): Promise<void> {
  const { clock, log, timings, settings } = ctx
  const stepId = launch.stepId as string
  const progress = check.progress ?? new ProgressWatcher(ctx, launch.markerUri)
  const emrEvery = Math.max(
    timings.stableCheckMinMs,
    Math.min(timings.stableCheckMaxMs, settings.stableForMs / 8),
  )
  let step: StepInfo | undefined
  let lastEmrCheck = -Infinity
  /**
   * One look: EMR when due (and, unless `ask-emr`, only while the driver is not seen
   * committing), then the report in S3 always (last, so that a slow EMR answer does not make the
   * driver look silent). A terminal step ends the watch. EMR is retried for one interval at
   * most: the report is what this watch is about.
   */
  const look = async (
    mode: 'unless-committing' | 'ask-emr' = 'unless-committing',
  ): Promise<StepInfo | undefined> => {
    // A driver that committed a batch within the last interval is running: EMR's quota (shared
    // with every rollover on the account, some of whose apps are down) is left to others.
    const committing =
      progress.latest !== undefined && clock.monotonic() - progress.lastCommitSeen < emrEvery
    const skip = mode === 'unless-committing' && committing
    if (!skip && clock.monotonic() - lastEmrCheck >= emrEvery) {
      lastEmrCheck = clock.monotonic()
      try {
        step = await withDeadline(lastEmrCheck + emrEvery, () => watch.describe(), {
          what: "the next look at the driver's progress",
          signal: ctx.signal,
        })
      } catch (error) {
        if (!isTransient(error)) throw error
        watch.onTransientError(error, emrEvery)
      }
    }
    await progress.look()
    return step && isTerminal(step.state) ? step : undefined
  }
  const died = (ended: StepInfo): void => {
    launch.outcome = 'died'
    launch.failure = endedText(ctx, launch, ended)
  }

  // 1. The first batches of its own.
  const waiting = statusTicker(
    ctx,
    check.readyBy,
    () => describeProgress(progress.latest),
    `Waiting for ${stepId}'s first batches`,
  )
  while (!progress.ready) {
    const ended = await look()
    if (ended) return died(ended)
    if (progress.ready) break
    if (clock.monotonic() >= check.readyBy) {
      const latest = progress.latest
      launch.outcome = 'failed-to-start'
      launch.failure = `step ${stepId} is RUNNING but committed ${latest ? ownBatches(latest) : 'no'} batch(es) of its own within start-timeout (${formatDuration(settings.startTimeoutMs)}), ${settings.readyBatches} needed${latest ? '' : ': it may be stuck in its initialisation'}`
      return
    }
    waiting.tick()
    await clock.sleep(timings.verifyPollMs, ctx.signal)
  }
  const first = progress.latest as ProgressReport
  launch.readiness = readinessOf(first)
  log.info(
    `${stepId} committed ${ownBatches(first)} batch(es) of its own (batch ${first.firstBatchId}..${first.batchId}).`,
  )

  // 2. Where it started: the handoff verdict.
  if (judgeHandoff(ctx, launch, first, check.oldStopped)) return

  // 3. It keeps committing through stable-for.
  const windowEnd = clock.monotonic() + settings.stableForMs
  const bound = (): number => heartbeatBound(ctx, progress)
  const watching = statusTicker(
    ctx,
    windowEnd,
    () => `${describeProgress(progress.latest)}, step ${step?.state ?? 'RUNNING'}`,
    `Watching ${stepId} (stable-for)`,
  )
  while (clock.monotonic() < windowEnd) {
    await clock.sleep(
      Math.min(timings.verifyPollMs * 2, Math.max(0, windowEnd - clock.monotonic())),
      ctx.signal,
    )
    const ended = await look()
    if (ended) return died(ended)
    const silentFor = clock.monotonic() - progress.lastCommitSeen
    if (silentFor > bound()) {
      launch.outcome = 'died'
      launch.failure = `step ${stepId} stopped committing: no batch for ${formatDuration(silentFor)} (heartbeat-timeout ${formatDuration(bound())}); last ${describeProgress(progress.latest)}`
      return
    }
    watching.tick()
  }
  // 4. Alive at the end: a batch after the window, or EMR saying the step still runs. A window
  // in which EMR never answered and the driver fell silent proves nothing.
  const atEnd = progress.latest?.batchId
  const confirmBy = clock.monotonic() + settings.startTimeoutMs
  lastEmrCheck = -Infinity
  let beingCancelled = false
  for (;;) {
    const ended = await look('ask-emr')
    if (ended) return died(ended)
    // Someone cancels the step (the console, another tool): it is no deployment, whatever its
    // driver still commits; wait for EMR to end it, or say it was not verified.
    beingCancelled ||= step?.state === 'CANCEL_PENDING'
    const advanced = progress.latest?.batchId !== undefined && progress.latest.batchId !== atEnd
    const running = step?.state === 'RUNNING' && lastEmrCheck >= windowEnd
    if (!beingCancelled && (advanced || running)) break
    if (clock.monotonic() >= confirmBy) {
      launch.outcome = 'not-verified'
      launch.failure = beingCancelled
        ? `step ${stepId} is being cancelled (CANCEL_PENDING for ${formatDuration(settings.startTimeoutMs)}): someone cancelled it, and its driver may still run: check it in the EMR console`
        : `step ${stepId} committed no batch after stable-for and EMR did not answer for ${formatDuration(settings.startTimeoutMs)}; it may still run: check it in the EMR console`
      return
    }
    step = undefined
    await clock.sleep(timings.verifyPollMs, ctx.signal)
  }
  const last = progress.latest ?? first
  launch.readiness = readinessOf(last)
  launch.outcome = 'running'
  log.info(
    `${stepId} kept committing through stable-for (${formatDuration(settings.stableForMs)}): ${ownBatches(last)} batch(es) of its own.`,
  )
}

/** The input, or three of the driver's own batch intervals (its trigger, else as seen). */
export function heartbeatBound(ctx: RolloverContext, progress: ProgressWatcher): number {
  if (ctx.settings.heartbeatTimeoutMs !== undefined) return ctx.settings.heartbeatTimeoutMs
  const latest = progress.latest
  const interval = latest?.triggerIntervalMs ?? median(progress.gaps) ?? latest?.batchDurationMs
  return interval === undefined ? MIN_HEARTBEAT_MS : Math.max(MIN_HEARTBEAT_MS, 3 * interval)
}

/**
 * Reads `<marker>.progress` whenever asked and keeps what it saw: the latest report, when a new
 * batch was last seen (this machine's monotonic clock), and the driver's own intervals.
 */
export class ProgressWatcher {
  latest: ProgressReport | undefined
  lastCommitSeen: number
  readonly gaps: number[] = []
  private etag: string | undefined
  private readonly ctx: RolloverContext
  private readonly markerUri: string

  constructor(ctx: RolloverContext, markerUri: string) {
    this.ctx = ctx
    this.markerUri = markerUri
    this.lastCommitSeen = ctx.clock.monotonic()
  }

  /** The driver committed enough batches of its own to count as ready. */
  get ready(): boolean {
    return this.latest !== undefined && ownBatches(this.latest) >= this.ctx.settings.readyBatches
  }

  async look(): Promise<void> {
    let read
    try {
      read = await this.ctx.markers.readProgress(this.markerUri)
    } catch (error) {
      this.ctx.log.debug(`Could not read ${this.markerUri}.progress: ${describeError(error)}`)
      return
    }
    if (!read || read.etag === this.etag) return
    this.etag = read.etag
    const before = this.latest
    const now = read.report
    if (
      before?.batchId !== undefined &&
      now.batchId !== undefined &&
      now.batchId > before.batchId
    ) {
      const a = time(before.committedAt)
      const b = time(now.committedAt)
      if (a !== undefined && b !== undefined && b > a)
        this.gaps.push((b - a) / (now.batchId - before.batchId))
    }
    if (now.batchId !== before?.batchId) this.lastCommitSeen = this.ctx.clock.monotonic()
    this.latest = now
  }
}

export function readinessOf(p: ProgressReport): Readiness {
  const first = time(p.firstBatch?.committedAt)
  const last = time(p.committedAt)
  return {
    method: 'progress',
    batches: ownBatches(p),
    ...(p.firstBatchId === undefined ? {} : { firstBatchId: p.firstBatchId }),
    ...(p.batchId === undefined ? {} : { lastBatchId: p.batchId }),
    ...(first === undefined ? {} : { firstCommittedAt: first }),
    ...(last === undefined ? {} : { lastCommittedAt: last }),
  }
}

/**
 * The handoff verdict into the report; true (and the launch failed) when the new driver started
 * after the old one's end (a gap: records skipped) or before it (an overlap: records redone).
 */
export function judgeHandoff(
  ctx: RolloverContext,
  launch: LaunchRecord,
  first: ProgressReport,
  oldStopped: StoppedReport | undefined,
): boolean {
  if (!oldStopped || !first.firstBatch) return false
  const handoff = compareHandoff(oldStopped.sources, first.firstBatch.sources)
  ctx.report.handoff = handoff
  ctx.log.info(`Handoff: ${handoff.verdict}${handoff.reason ? ` (${handoff.reason})` : ''}.`)
  if (handoff.verdict !== 'gap' && handoff.verdict !== 'overlap') return false
  launch.outcome = 'bad-handoff'
  const detail = handoff.sources
    .filter((s) => s.verdict === handoff.verdict)
    .map((s) => `${s.description}: ${s.detail ?? 'offsets differ'}`)
  launch.failure = `the new driver's first batch does not start where the old driver stopped: ${handoff.verdict}${detail.length ? ` (${detail.join('; ')})` : ''}`
  return true
}

export function describeProgress(p: ProgressReport | undefined): string {
  if (!p || p.batchId === undefined) return 'no batch committed yet'
  return `batch ${p.batchId} committed at ${p.committedAt ?? 'an unknown time'} (${ownBatches(p)} of its own)`
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}
