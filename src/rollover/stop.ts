// Phase 5: stop the running driver(s) gracefully by deleting their markers, and wait until EMR
// confirms that every step of the app ended. CancelSteps never stops a cluster-mode driver, so a
// forced stop is a YARN kill by tag, confirmed, and a step that ended CANCELLED or INTERRUPTED
// without the driver's acknowledgement is not taken as proof that the driver is gone.
import { formatDuration } from '../clock.ts'
import { describeError } from '../errors.ts'
import type { CurrentState } from './observe.ts'
import type { Marker, StopAck } from '../contract/markers.ts'
import type { MarkerStore } from './marker-store.ts'
import { poll } from '../aws/poll.ts'
import type { StoppedStep } from './report.ts'
import { buildKillStep } from '../contract/kill-step.ts'
import { markerUriOfStep } from '../contract/spark-submit.ts'
import { TokenBucket } from '../aws/rate-budget.ts'
import { isTerminal, type EmrPort, type StepInfo } from '../aws/emr-port.ts'
import type { Clock } from '../clock.ts'
import { UserError } from '../errors.ts'
import type { Log } from '../log.ts'
import type { OnStopTimeout } from '../settings/settings.ts'

export interface StopContext {
  readonly emr: EmrPort
  readonly markers: MarkerStore
  readonly clock: Clock
  readonly log: Log
  readonly clusterId: string
  readonly appName: string
  readonly deploymentId: string
  readonly stopTimeoutMs: number
  readonly onStopTimeout: OnStopTimeout
  /** EMR calls are rationed: DescribeStep refills at 0.5/s per account and region. */
  readonly emrBudget: TokenBucket
  readonly signal?: AbortSignal
  /** How often the cheap S3 acknowledgement is checked. */
  readonly ackPollMs?: number
  /** How often EMR is asked while no acknowledgement has been seen. */
  readonly emrPollMs?: number
  readonly killTimeoutMs?: number
  /** After cancellation, how long the old driver may still take to exit before we give up. */
  readonly cancelGraceMs?: number
}

export interface StopOutcome {
  readonly stopped: StoppedStep[]
  /** When the last old step was seen terminal: the start of the downtime. */
  readonly stoppedAt: number
  readonly forced: boolean
}

export class StopTimeout extends UserError {}
export class StopCancelled extends UserError {}

export async function stopCurrent(state: CurrentState, ctx: StopContext): Promise<StopOutcome> {
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
    `Waiting up to ${formatDuration(ctx.stopTimeoutMs)} for ${state.steps.map((s) => s.id).join(', ')} to finish the batches in flight and exit.`,
  )
  const waited = await waitForSteps(state.steps, ctx, clock.now() + ctx.stopTimeoutMs)
  const unconfirmed = waited.ended.filter((s) => !confirmedGone(s))
  if (waited.pending.length === 0 && unconfirmed.length === 0) {
    return { stopped: waited.ended.map(toStopped), stoppedAt: clock.now(), forced: false }
  }

  const alive = [...waited.pending, ...unconfirmed.map((s) => s.step)]
  const acked = waited.pending.filter((s) => waited.acks.has(s.id))
  if (
    acked.length === waited.pending.length &&
    unconfirmed.length === 0 &&
    ctx.onStopTimeout === 'fail'
  ) {
    // The drivers said they exited, but EMR never confirmed it: no marker goes back (it would
    // stand for a driver that is gone), and nothing is submitted on the driver's word alone.
    const emrError =
      waited.lastError === undefined ? '' : ` (last EMR error: ${describeError(waited.lastError)})`
    throw new StopTimeout(
      `The driver of ${acked.map((s) => s.id).join(', ')} acknowledged its stop, but EMR did not confirm that the step ended within stop-timeout (${formatDuration(ctx.stopTimeoutMs)})${emrError}. ` +
        `Nothing was submitted and, by the driver's word, nothing of the app runs now. Re-run the workflow to finish the rollover.`,
    )
  }
  const why =
    waited.pending.length > 0
      ? `did not stop within stop-timeout (${formatDuration(ctx.stopTimeoutMs)})`
      : `ended ${unconfirmed.map((s) => s.step.state).join('/')} without the driver's acknowledgement; its YARN application may still run (CancelSteps does not stop a cluster-mode driver)`
  if (ctx.onStopTimeout === 'fail') {
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
  await forceStop(alive, ctx)
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
  ctx: StopContext,
  deadline: number,
): Promise<{
  ended: EndedStep[]
  pending: StepInfo[]
  acks: Map<string, StopAck>
  lastError?: unknown
}> {
  const { clock, log } = ctx
  const ackPollMs = ctx.ackPollMs ?? 250
  const emrPollMs = ctx.emrPollMs ?? 3000
  const pending = new Map(steps.map((s) => [s.id, s]))
  const acks = new Map<string, StopAck>()
  const ended: EndedStep[] = []
  let lastEmrCheck = clock.now()

  let cancelledAt: number | undefined
  let lastError: unknown
  const check = async (): Promise<true | undefined> => {
    if (ctx.signal?.aborted) {
      cancelledAt ??= clock.now()
      if (clock.now() - cancelledAt > (ctx.cancelGraceMs ?? 5000)) {
        throw new StopCancelled(
          `Cancelled while ${[...pending.keys()].join(', ')} ${pending.size > 1 ? 'were' : 'was'} stopping: the marker is deleted and nothing new was submitted. Re-run the workflow to finish the rollover.`,
        )
      }
    }
    for (const step of pending.values()) {
      if (acks.has(step.id)) continue
      const markerUri = markerUriOfStep(step.args)
      const location = markerUri ? parseUri(markerUri) : undefined
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
    maxIntervalMs: 10_000,
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
  ctx: StopContext,
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

/** Cancel the stuck spark-submit step(s), then kill the YARN application by tag and confirm. */
async function forceStop(alive: readonly StepInfo[], ctx: StopContext): Promise<void> {
  const { emr, clock, log } = ctx
  for (const step of alive.filter((s) => !isTerminal(s.state))) {
    // With step concurrency 1 the kill step would queue behind the stuck step forever.
    await emr.cancelStep(ctx.clusterId, step.id)
    log.info(`Cancelled step ${step.id} (its YARN application keeps running until killed).`)
  }
  const killStep = buildKillStep(ctx.appName, ctx.deploymentId)
  const killId = await emr.addStep(ctx.clusterId, killStep)
  log.info(`Submitted kill step ${killId}: yarn application -kill for tag ${killStep.args.at(-1)}.`)
  // Rationed like every other poll: the kill script alone can take a minute or more.
  const describe = async (stepId: string): Promise<StepInfo> => {
    await ctx.emrBudget.take(1, ctx.signal)
    return emr.describeStep(ctx.clusterId, stepId)
  }
  const result = await poll(
    async () => {
      const step = await describe(killId)
      return isTerminal(step.state) ? step : undefined
    },
    {
      clock,
      deadline: clock.now() + (ctx.killTimeoutMs ?? 5 * 60_000),
      intervalMs: 2000,
      maxIntervalMs: 10_000,
      signal: ctx.signal,
    },
  )
  if (!result.done || result.value.state !== 'COMPLETED') {
    const state = result.done ? result.value.state : 'not finished'
    throw new UserError(
      `Could not confirm that the old driver is gone: kill step ${killId} is ${state}. ` +
        `Nothing was submitted. Check the step's stderr in the EMR console, kill the application with 'yarn application -kill', then re-run.`,
    )
  }
  for (const step of alive) {
    await poll(async () => (isTerminal((await describe(step.id)).state) ? true : undefined), {
      clock,
      deadline: clock.now() + 60_000,
      intervalMs: 2000,
      maxIntervalMs: 10_000,
    })
  }
  log.info(`Kill step ${killId} confirmed: no application tagged for the app is left.`)
}

function parseUri(uri: string): { bucket: string; key: string } | undefined {
  const match = /^s3a?:\/\/([^/]+)\/(.+)$/.exec(uri)
  return match ? { bucket: match[1] as string, key: match[2] as string } : undefined
}
