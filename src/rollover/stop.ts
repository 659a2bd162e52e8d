// Phase 5: stop every driver of the app that may be alive, and confirm each one gone by the one
// rule of liveness.ts: its marker is deleted, and it is confirmed by its acknowledgement and
// then EMR, or killed through YARN and confirmed (on-stop-timeout: kill). A driver that is not
// confirmed gone within stop-timeout fails the run before anything is submitted beside it.
import { isTerminal, type StepInfo } from '../aws/emr-port.ts'
import { backoffMs } from '../aws/backoff.ts'
import { EMR_API, EmrBudgetSpent } from '../aws/emr-operations.ts'
import { withDeadline } from '../aws/deadline.ts'
import { poll } from '../aws/poll.ts'
import { formatDuration } from '../clock.ts'
import type { Marker, MarkerScan } from '../contract/markers.ts'
import { UserError, describeError } from '../errors.ts'
import type { RolloverContext } from './context.ts'
import { cancelSafely, forceStop, killableBy } from './force-stop.ts'
import { describeCandidate, liveness, type DriverCandidate } from './liveness.ts'
import { refreshed } from './observe.ts'
import { ProgressQuiet } from './progress-quiet.ts'
import type { StoppedStep } from './report.ts'
import { statusTicker } from './status.ts'

export interface StopRequest {
  /** Markers to delete: every marker of the app (the stop request). */
  readonly markers: readonly Marker[]
  /** Every candidate found; those not gone are stopped and confirmed. */
  readonly candidates: readonly DriverCandidate[]
  /** For messages: "the old driver", "the failed new step". */
  readonly what: string
}

export interface StopOutcome {
  readonly stopped: StoppedStep[]
  /**
   * Drivers found already gone that had acknowledged (an earlier run stopped them and did not
   * finish): the last one's final offsets are still where the new driver must start.
   */
  readonly acknowledged?: StoppedStep[]
  /** When the last driver was confirmed gone: the start of the downtime. */
  readonly stoppedAt: number
  readonly forced: boolean
}

export class StopTimeout extends UserError {}
export class StopCancelled extends UserError {}

/** The Stop phase of the old deployment, timed and recorded in the report. */
export async function stopPhase(
  ctx: RolloverContext,
  request: Omit<StopRequest, 'what'>,
): Promise<StopOutcome> {
  const { report, clock, log } = ctx
  return ctx.phases.run('Stop', async (phase) => {
    report.stopStartedAt = clock.now()
    const outcome = await stopDrivers(ctx, { ...request, what: 'the running driver' })
    report.previous = outcome.stopped
    report.oldStoppedAt = outcome.stoppedAt
    report.forcedStop = outcome.forced
    phase.detail =
      outcome.stopped.length === 0
        ? 'nothing was running'
        : `stopped ${outcome.stopped.map((s) => `${s.stepId} (${s.state})`).join(', ')}`
    if (outcome.stopped.length > 0) {
      log.info(
        `Old driver stopped after ${formatDuration(outcome.stoppedAt - (report.stopStartedAt ?? 0))}.`,
      )
    }
    return outcome
  })
}

export interface StopOptions {
  /** Default the `on-stop-timeout` input. */
  readonly onStopTimeout?: 'fail' | 'kill'
  /** Default the `stop-timeout` input. */
  readonly timeoutMs?: number
}

export async function stopDrivers(
  ctx: RolloverContext,
  request: StopRequest,
  options: StopOptions = {},
): Promise<StopOutcome> {
  const { log, clock } = ctx
  const stopTimeoutMs = options.timeoutMs ?? ctx.settings.stopTimeoutMs
  const onStopTimeout = options.onStopTimeout ?? ctx.settings.onStopTimeout
  const targets = request.candidates.filter((c) => liveness(c).status !== 'gone')
  const alreadyGone = request.candidates.filter((c) => liveness(c).status === 'gone')
  const acknowledged = alreadyGone.filter((c) => c.ack).map(toStopped)
  if (request.markers.length > 0) {
    await ctx.markers.remove(request.markers)
    log.info(
      `Deleted ${request.markers.length} marker(s): ${request.markers.map((m) => m.uri).join(', ')}`,
    )
  }
  // A step that never started needs no drain: cancelled, it never will.
  for (const c of targets) {
    if (c.stepId && c.step?.state === 'PENDING') await cancelSafely(ctx, c.clusterId, c.stepId)
  }
  if (targets.length === 0) {
    await forget(ctx, alreadyGone)
    log.info('No driver of the app may be alive: nothing to wait for.')
    return { stopped: [], acknowledged, stoppedAt: clock.now(), forced: false }
  }
  log.info(
    `Waiting up to ${formatDuration(stopTimeoutMs)} for ${targets.map(describeCandidate).join(', ')} to finish the batches in flight and exit.`,
  )
  const waited = await waitUntilGone(ctx, targets, clock.monotonic() + stopTimeoutMs)
  const survivors = waited.candidates.filter((c) => liveness(c).status !== 'gone')
  const confirmed = waited.candidates.filter((c) => liveness(c).status === 'gone')
  if (survivors.length === 0) {
    await forget(ctx, [...alreadyGone, ...confirmed])
    const stopped = await Promise.all(confirmed.map((c) => stoppedWithProgress(ctx, c)))
    return { stopped, acknowledged, stoppedAt: clock.now(), forced: false }
  }
  const why = survivors.map((c) => `- ${describeCandidate(c)}: ${liveness(c).why}.`).join('\n')
  if (onStopTimeout === 'fail' || survivors.some((c) => !killableBy(c))) {
    const restored = await restoreMarkers(ctx, request.markers, survivors)
    const emrError =
      waited.lastError === undefined ? '' : ` (last EMR error: ${describeError(waited.lastError)})`
    throw new StopTimeout(
      `${capitalised(request.what)} is not confirmed gone within stop-timeout (${formatDuration(stopTimeoutMs)})${emrError}:\n${why}\n` +
        `Nothing was submitted. ${restored}${wayOut(survivors, onStopTimeout, waited.lastError !== undefined)}`,
    )
  }
  log.warning(`Not confirmed gone within stop-timeout:\n${why}\nKilling through YARN.`)
  await forceStop(ctx, survivors)
  await forget(ctx, [...alreadyGone, ...confirmed])
  return {
    stopped: [
      ...confirmed.map(toStopped),
      ...survivors.map((c) => ({ stepId: c.key, state: 'KILLED' })),
    ],
    stoppedAt: clock.now(),
    forced: true,
  }
}

/** The stopped driver, with its last `.progress` (when it published one) for the handoff. */
async function stoppedWithProgress(ctx: RolloverContext, c: DriverCandidate): Promise<StoppedStep> {
  const base = toStopped(c)
  if (!c.markerUri) return base
  const progress = await ctx.markers.readProgress(c.markerUri).catch(() => undefined)
  if (!progress) return base
  const { batchId, committedAt } = progress.report
  return {
    ...base,
    lastProgress: {
      ...(batchId === undefined ? {} : { batchId }),
      ...(committedAt === undefined ? {} : { committedAt }),
    },
  }
}

function toStopped(c: DriverCandidate): StoppedStep {
  return {
    stepId: c.stepId ?? c.key,
    state: c.step?.state ?? 'STOPPED',
    ...(c.ack ? { ack: c.ack.body } : {}),
  }
}

/** Drivers confirmed gone leave the action's ledger. */
async function forget(ctx: RolloverContext, gone: readonly DriverCandidate[]): Promise<void> {
  const ids = gone.map((c) => c.deploymentId).filter((id): id is string => id !== undefined)
  if (ids.length === 0) return
  const known = new Set((await ctx.ledger.read()).entries.map((e) => e.deploymentId))
  const remove = ids.filter((id) => known.has(id))
  if (remove.length > 0) await ctx.ledger.remove(remove)
}

interface Waited {
  readonly candidates: DriverCandidate[]
  readonly lastError?: unknown
}

async function waitUntilGone(
  ctx: RolloverContext,
  targets: readonly DriverCandidate[],
  deadline: number,
): Promise<Waited> {
  const { clock, log, timings } = ctx
  let candidates = [...targets]
  let lastEmrCheck = clock.monotonic()
  let cancelledAt: number | undefined
  let lastError: unknown
  const quiet = new ProgressQuiet(ctx)
  const urgent = urgentLooks(ctx.random)
  const gone = new Set<string>()
  const alive = (): DriverCandidate[] => candidates.filter((c) => liveness(c).status !== 'gone')
  const ticker = statusTicker(ctx, deadline, () =>
    alive()
      .map((c) => `${describeCandidate(c)}: ${liveness(c).why}`)
      .join('; '),
  )
  const check = async (): Promise<true | undefined> => {
    if (ctx.cancelled?.aborted) {
      cancelledAt ??= clock.monotonic()
      if (clock.monotonic() - cancelledAt > timings.cancelGraceMs) {
        throw new StopCancelled(
          `Cancelled while ${alive().map(describeCandidate).join(', ')} ${alive().length > 1 ? 'were' : 'was'} stopping: the marker is deleted and nothing new was submitted. Re-run the workflow to finish the rollover.`,
        )
      }
    }
    const scan: MarkerScan = await ctx.markers.scan()
    const before = new Set(candidates.filter((c) => c.ack).map((c) => c.key))
    candidates = await Promise.all(candidates.map((c) => quiet.refresh(refreshed(c, scan), scan)))
    for (const c of candidates) {
      if (c.ack && !before.has(c.key))
        log.info(`${describeCandidate(c)} acknowledged its stop: ${JSON.stringify(c.ack.body)}`)
    }
    // EMR is asked when a driver says it exited, or every emrPollMs otherwise, within budget.
    const acked = alive().some((c) => c.ack)
    const due =
      clock.monotonic() - lastEmrCheck >= (acked ? timings.ackPollMs * 2 : timings.emrPollMs)
    if (due) {
      lastEmrCheck = clock.monotonic()
      const asked = alive().filter((c) => c.stepId && !(c.step && isTerminal(c.step.state)))
      for (const c of asked) {
        // EMR is skipped, not waited for, while the budget is empty: S3 is watched meanwhile.
        // Once the driver acknowledged, the app is down until EMR confirms: that look is paced
        // by its own backoff instead (2-4 s apart, 4-8 s while EMR refuses), so that a
        // budget halved by earlier throttles cannot hold the app down until stop-timeout.
        let operation: UrgentOperation = 'describeStep'
        if (ctx.emrBudgets.of('DescribeStep').msUntilAvailable(1) > 0) {
          if (!c.ack || clock.monotonic() < urgent.nextAt) break
          operation = urgent.operation
          const budget = ctx.emrBudgets.of(EMR_API[operation])
          if (budget.msUntilAvailable(1) > 0) budget.grantOne()
        }
        // Retried for one EMR poll interval at most, for the same reason.
        const look = await withDeadline(
          clock.monotonic() + timings.emrPollMs,
          () => lookUp(ctx, operation, c.clusterId, c.stepId as string),
          { what: 'the next look at S3', ...(ctx.lockLost ? { signal: ctx.lockLost } : {}) },
        ).catch((error: unknown) => {
          if (c.ack) urgent.looked(clock.monotonic(), 'refused')
          throw error
        })
        if (c.ack) urgent.looked(clock.monotonic(), 'answered')
        if (!look) continue
        // A ListSteps summary has no runtime role: the one already known stays (a kill needs it).
        const role = look.executionRoleArn ?? c.step?.executionRoleArn
        const step = role ? { ...look, executionRoleArn: role } : look
        if (isTerminal(step.state) && !(c.step && isTerminal(c.step.state)))
          log.info(`${c.stepId} ended ${step.state}.`)
        candidates = candidates.map((x) => (x.key === c.key ? refreshed(x, undefined, step) : x))
      }
    }
    for (const c of candidates) {
      if (!gone.has(c.key) && liveness(c).status === 'gone') {
        gone.add(c.key)
        log.info(`${describeCandidate(c)} is gone: ${liveness(c).why}.`)
      }
    }
    ticker.tick()
    return alive().length === 0 ? true : undefined
  }
  // Not aborted by the run's cancellation at once: the driver is already draining, and if it
  // exits within the grace period the caller can still submit the new one and close the window.
  await poll(check, {
    clock,
    deadline,
    intervalMs: timings.ackPollMs,
    maxIntervalMs: timings.maxPollIntervalMs,
    signal: lostOnly(ctx),
    onTransientError: (error, wait) => {
      // EMR's own refusal says more than the run's budget declining to retry after it.
      if (!(error instanceof EmrBudgetSpent) || lastError === undefined) lastError = error
      log.info(`EMR/S3 busy (${describeError(error)}); next check in ${formatDuration(wait)}.`)
    },
  })
  return { candidates, lastError }
}

type UrgentOperation = 'describeStep' | 'listStepsById'

/**
 * When the next look at an acknowledged driver's step may go outside the budget, and through
 * which operation: at once, then 2-4 s after an answer (EMR refills the account's DescribeStep
 * bucket one call per 2 s), and 4-8 s after a refusal. After a refusal the next look goes to the
 * other of DescribeStep and ListSteps: they are separate quota buckets, and a matrix of
 * rollovers drains DescribeStep's while ListSteps' refills (one listing per run, in preflight).
 */
function urgentLooks(random: () => number) {
  let refusals = 0
  return {
    nextAt: -Infinity,
    operation: 'describeStep' as UrgentOperation,
    looked(now: number, outcome: 'answered' | 'refused') {
      refusals = outcome === 'refused' ? refusals + 1 : 0
      this.nextAt = now + backoffMs(refusals + 1, random, URGENT_BACKOFF)
      if (outcome === 'refused') {
        this.operation = this.operation === 'describeStep' ? 'listStepsById' : 'describeStep'
      }
    },
  }
}

/** The step as DescribeStep or ListSteps (by id) says; undefined when ListSteps leaves it out. */
async function lookUp(
  ctx: RolloverContext,
  operation: UrgentOperation,
  clusterId: string,
  stepId: string,
): Promise<StepInfo | undefined> {
  if (operation === 'describeStep') return ctx.emr.describeStep(clusterId, stepId)
  const listed = await ctx.emr.listStepsById(clusterId, [stepId])
  return listed.find((s) => s.id === stepId)
}

const URGENT_BACKOFF = Object.freeze({ baseMs: 4000, capMs: 8000 })

/** The lost lock ends the wait at once; the runner's cancellation is handled with a grace. */
function lostOnly(ctx: RolloverContext): AbortSignal | undefined {
  return ctx.lockLost
}

async function restoreMarkers(
  ctx: RolloverContext,
  deleted: readonly Marker[],
  survivors: readonly DriverCandidate[],
): Promise<string> {
  // A driver that acknowledged is stopping for good; a marker back would stand for nothing.
  const wanted = new Set(survivors.filter((c) => !c.ack).map((c) => c.markerUri))
  const toRestore = deleted.filter((m) => !m.unreadable && wanted.has(m.uri))
  if (toRestore.length === 0) return ''
  try {
    await ctx.markers.restore(toRestore)
    return `The marker was written back (${toRestore.map((m) => m.uri).join(', ')}), so a driver that has not started to drain keeps running. `
  } catch (error) {
    return `Writing the marker back failed (${describeError(error)}): the driver may be draining. `
  }
}

function wayOut(
  survivors: readonly DriverCandidate[],
  onStopTimeout: string,
  emrFailing: boolean,
): string {
  const lines: string[] = []
  const acked = survivors.filter((c) => c.ack && c.step && !isTerminal(c.step.state))
  if (emrFailing && acked.length === survivors.length) {
    // The drivers said they exited, but EMR never confirmed it: nothing is submitted on the
    // driver's word alone, and no marker goes back (it would stand for a driver that is gone).
    return "By the driver's word nothing of the app runs now, but EMR did not answer: re-run the workflow to finish the rollover."
  }
  const unkillable = survivors.filter((c) => !killableBy(c))
  if (unkillable.length > 0) {
    lines.push(
      `The action cannot kill ${unkillable.map(describeCandidate).join(', ')}: no YARN tag or application id names it alone. Stop it yourself; once it is gone, write '{}' to its marker's .stopped object (${unkillable.map((c) => `${c.markerUri ?? c.key}.stopped`).join(', ')}) to confirm it, and re-run.`,
    )
  }
  if (acked.length > 0) {
    lines.push(
      'A driver that acknowledged its stop but still runs does not return from main: look for non-daemon threads or a blocking shutdown hook.',
    )
  }
  if (onStopTimeout === 'fail' && unkillable.length < survivors.length) {
    lines.push(
      'Check that the driver watches its marker (README, "The driver library"), then re-run; or re-run with \'on-stop-timeout: kill\' to kill it through YARN by its deployment tag and confirm.',
    )
  }
  return lines.join(' ')
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}
