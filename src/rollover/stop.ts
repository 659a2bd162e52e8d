// Phase 5: stop the running driver(s) gracefully by deleting their markers, and wait until EMR
// confirms that every step of the app ended. CancelSteps never stops a cluster-mode driver, so a
// forced stop is a YARN kill by tag, confirmed, and a step that ended CANCELLED or INTERRUPTED
// without the driver's acknowledgement is not taken as proof that the driver is gone.
import { isTerminal, type StepInfo } from '../aws/emr-port.ts'
import { poll } from '../aws/poll.ts'
import { parseS3Location } from '../aws/s3-location.ts'
import { formatDuration } from '../clock.ts'
import type { Marker, StopAck } from '../contract/markers.ts'
import { markerUriOfStep } from '../contract/spark-submit.ts'
import { UserError, describeError } from '../errors.ts'
import type { RolloverContext } from './context.ts'
import { forceStop } from './force-stop.ts'
import type { CurrentState } from './observe.ts'
import type { StoppedStep } from './report.ts'

export interface StopOutcome {
  readonly stopped: StoppedStep[]
  /** When the last old step was seen terminal: the start of the downtime. */
  readonly stoppedAt: number
  readonly forced: boolean
}

export class StopTimeout extends UserError {}
export class StopCancelled extends UserError {}

/** The Stop phase: stops what `state` found, timed and recorded in the report. */
export async function stopPhase(ctx: RolloverContext, state: CurrentState): Promise<StopOutcome> {
  const { report, clock, log } = ctx
  return ctx.phases.run('Stop', async (phase) => {
    report.stopStartedAt = clock.now()
    const outcome = await stopCurrent(ctx, state)
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

export async function stopCurrent(ctx: RolloverContext, state: CurrentState): Promise<StopOutcome> {
  const { stopTimeoutMs, onStopTimeout } = ctx.settings
  const { log, clock } = ctx
  if (state.markers.length > 0) {
    await ctx.markers.remove(state.markers)
    log.info(
      `Deleted ${state.markers.length} marker(s): ${state.markers.map((m) => m.uri).join(', ')}`,
    )
  }
  if (state.steps.length === 0) {
    log.info('No active step of the app: nothing to wait for.')
    return { stopped: [], stoppedAt: clock.now(), forced: false }
  }
  log.info(
    `Waiting up to ${formatDuration(stopTimeoutMs)} for ${state.steps.map((s) => s.id).join(', ')} to finish the batches in flight and exit.`,
  )
  const waited = await waitForSteps(state.steps, ctx, clock.now() + stopTimeoutMs)
  const unconfirmed = waited.ended.filter((s) => !confirmedGone(s))
  if (waited.pending.length === 0 && unconfirmed.length === 0) {
    return { stopped: waited.ended.map(toStopped), stoppedAt: clock.now(), forced: false }
  }

  const alive = [...waited.pending, ...unconfirmed.map((s) => s.step)]
  const acked = waited.pending.filter((s) => waited.acks.has(s.id))
  if (
    acked.length === waited.pending.length &&
    unconfirmed.length === 0 &&
    onStopTimeout === 'fail'
  ) {
    // The drivers said they exited, but EMR never confirmed it: no marker goes back (it would
    // stand for a driver that is gone), and nothing is submitted on the driver's word alone.
    const emrError =
      waited.lastError === undefined ? '' : ` (last EMR error: ${describeError(waited.lastError)})`
    throw new StopTimeout(
      `The driver of ${acked.map((s) => s.id).join(', ')} acknowledged its stop, but EMR did not confirm that the step ended within stop-timeout (${formatDuration(stopTimeoutMs)})${emrError}. ` +
        `Nothing was submitted and, by the driver's word, nothing of the app runs now. Re-run the workflow to finish the rollover.`,
    )
  }
  const why =
    waited.pending.length > 0
      ? `did not stop within stop-timeout (${formatDuration(stopTimeoutMs)})`
      : `ended ${unconfirmed.map((s) => s.step.state).join('/')} without the driver's acknowledgement; its YARN application may still run (CancelSteps does not stop a cluster-mode driver)`
  if (onStopTimeout === 'fail') {
    const restored = await restoreMarkers(
      state.markers,
      alive.filter((s) => !waited.acks.has(s.id)),
      ctx,
    )
    throw new StopTimeout(
      `The running driver ${alive.map((s) => s.id).join(', ')} ${why}. ` +
        `Nothing was submitted. ${restored}` +
        `Check that the driver polls its marker (see README, "The driver side"), then re-run; ` +
        `or set 'on-stop-timeout: kill' to kill it through YARN.`,
    )
  }
  log.warning(`Step(s) ${alive.map((s) => s.id).join(', ')} ${why}: killing the YARN application.`)
  await forceStop(ctx, alive)
  const stopped = [
    ...waited.ended.filter(confirmedGone).map(toStopped),
    ...alive.map((s) => ({ stepId: s.id, state: 'KILLED' })),
  ]
  return { stopped, stoppedAt: clock.now(), forced: true }
}

interface EndedStep {
  readonly step: StepInfo
  readonly ack?: StopAck
}

function confirmedGone(ended: EndedStep): boolean {
  // With waitAppCompletion, COMPLETED/FAILED mean spark-submit saw the application end.
  return (
    ended.step.state === 'COMPLETED' || ended.step.state === 'FAILED' || ended.ack !== undefined
  )
}

function toStopped(ended: EndedStep): StoppedStep {
  return { stepId: ended.step.id, state: ended.step.state, ack: ended.ack?.body }
}

async function waitForSteps(
  steps: readonly StepInfo[],
  ctx: RolloverContext,
  deadline: number,
): Promise<{
  ended: EndedStep[]
  pending: StepInfo[]
  acks: Map<string, StopAck>
  lastError?: unknown
}> {
  const { clock, log } = ctx
  const { ackPollMs, emrPollMs, cancelGraceMs } = ctx.timings
  const pending = new Map(steps.map((s) => [s.id, s]))
  const acks = new Map<string, StopAck>()
  const ended: EndedStep[] = []
  let lastEmrCheck = clock.now()

  let cancelledAt: number | undefined
  let lastError: unknown
  const check = async (): Promise<true | undefined> => {
    if (ctx.signal?.aborted) {
      cancelledAt ??= clock.now()
      if (clock.now() - cancelledAt > cancelGraceMs) {
        throw new StopCancelled(
          `Cancelled while ${[...pending.keys()].join(', ')} ${pending.size > 1 ? 'were' : 'was'} stopping: the marker is deleted and nothing new was submitted. Re-run the workflow to finish the rollover.`,
        )
      }
    }
    for (const step of pending.values()) {
      if (acks.has(step.id)) continue
      const markerUri = markerUriOfStep(step.args)
      const location = markerUri ? parseS3Location(markerUri) : undefined
      const ack = location ? await ctx.markers.readAck(location) : undefined
      if (ack) {
        acks.set(step.id, ack)
        log.info(`Driver of ${step.id} acknowledged its stop: ${JSON.stringify(ack.body)}`)
      }
    }
    // EMR is asked when a driver says it exited, or every emrPollMs otherwise, within budget.
    const acked = [...pending.keys()].some((id) => acks.has(id))
    const due = clock.now() - lastEmrCheck >= (acked ? ackPollMs * 2 : emrPollMs)
    if (due && ctx.emrBudget.tryTake(pending.size)) {
      lastEmrCheck = clock.now()
      for (const step of [...pending.values()]) {
        const now = await ctx.emr.describeStep(ctx.clusterId, step.id)
        if (isTerminal(now.state)) {
          pending.delete(step.id)
          ended.push({ step: now, ack: acks.get(step.id) })
          log.info(`${step.id} ended ${now.state}.`)
        }
      }
    }
    return pending.size === 0 ? true : undefined
  }

  // Not aborted by the run's cancellation at once: the driver is already draining, and if it
  // exits within the grace period the caller can still submit the new one and close the window.
  await poll(check, {
    clock,
    deadline,
    intervalMs: ackPollMs,
    maxIntervalMs: ctx.timings.maxPollIntervalMs,
    onTransientError: (error, wait) => {
      lastError = error
      log.info(`EMR/S3 busy (${describeError(error)}); next check in ${formatDuration(wait)}.`)
    },
  })
  return { ended, pending: [...pending.values()], acks, lastError }
}

async function restoreMarkers(
  deleted: readonly Marker[],
  alive: readonly StepInfo[],
  ctx: RolloverContext,
): Promise<string> {
  const aliveMarkerUris = new Set(alive.map((s) => markerUriOfStep(s.args)))
  // Markers not tied to a step (an app's own marker) are restored too: we cannot tell.
  const toRestore = deleted.filter((m) => aliveMarkerUris.has(m.uri) || !m.body?.stepId)
  if (toRestore.length === 0) return ''
  try {
    await ctx.markers.restore(toRestore)
    return `Its marker was written back (${toRestore.map((m) => m.uri).join(', ')}), so it keeps running if it has not started to drain. `
  } catch (error) {
    return `Writing its marker back failed (${describeError(error)}): the driver may be draining. `
  }
}
