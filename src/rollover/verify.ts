// Phase 7: the new step must reach RUNNING within start-timeout and be healthy: by the driver's
// own progress reports when it publishes them (verify-progress.ts), else by EMR state alone
// (verify-emr-state.ts). Sets the launch's outcome; never throws for a step that fails, only for
// I/O or cancellation.
import { withDeadline } from '../aws/deadline.ts'
import type { StepInfo } from '../aws/emr-port.ts'
import { poll } from '../aws/poll.ts'
import { formatDuration } from '../clock.ts'
import type { StoppedReport } from '../contract/reports.ts'
import type { RolloverContext } from './context.ts'
import type { LaunchRecord } from './report.ts'
import { diagnoseStepFailure } from './diagnose.ts'
import { RolloverFailed } from './rollover-failed.ts'
import { verifyByEmrState } from './verify-emr-state.ts'
import { ProgressWatcher, judgeHandoff, readinessOf, verifyByProgress } from './verify-progress.ts'
import { failureText, stepWatch } from './verify-step.ts'

export interface VerifyRequest {
  /** `required`: judged by progress; `optional`: by progress if any; `off`: by EMR state. */
  readonly progress: 'required' | 'optional' | 'off'
  /** The old driver's final offsets, for the handoff verdict. */
  readonly oldStopped?: StoppedReport
  /** Standby: the step has been RUNNING for a while; its first batches count from the switch. */
  readonly switched?: boolean
}

export async function verify(
  ctx: RolloverContext,
  launch: LaunchRecord,
  request: VerifyRequest = { progress: 'optional' },
): Promise<void> {
  const { clock, log, timings } = ctx
  const { startTimeoutMs, stableForMs } = ctx.settings
  const stepId = launch.stepId as string
  const watch = stepWatch(ctx, stepId)
  const since = clock.monotonic()

  // Reports first: a driver that commits proves its step RUNNING without asking EMR, whose
  // quota a matrix of rollovers shares.
  const progress =
    request.progress === 'off' ? undefined : new ProgressWatcher(ctx, launch.markerUri)
  const started = await poll(
    async (): Promise<StepInfo | 'committing' | undefined> => {
      await progress?.look()
      if (progress?.latest) return 'committing'
      // Retried for a few polls at most, so that the reports are looked at meanwhile.
      const step = await withDeadline(
        clock.monotonic() + 4 * timings.verifyPollMs,
        () => watch.describe(),
        { what: "the next look at the driver's reports", signal: ctx.signal },
      )
      return step.state === 'PENDING' ? undefined : step
    },
    {
      clock,
      deadline: since + startTimeoutMs,
      intervalMs: timings.verifyPollMs,
      maxIntervalMs: timings.maxPollIntervalMs,
      // A step is never RUNNING the instant AddJobFlowSteps returns.
      ...(request.switched ? {} : { firstCheckAfterMs: timings.verifyFirstCheckMs }),
      signal: ctx.signal,
      onTransientError: watch.onTransientError,
    },
  )
  if (!started.done) {
    launch.outcome = 'failed-to-start'
    launch.failure = `step ${stepId} was still PENDING after start-timeout (${formatDuration(startTimeoutMs)}); another step may be occupying the cluster`
    return
  }
  if (started.value !== 'committing' && started.value.state !== 'RUNNING') {
    launch.outcome = 'failed-to-start'
    launch.failure = `step ${stepId} ended ${started.value.state} before running${failureText(started.value)}`
    return
  }
  // EMR's start time, or the driver's, not when we looked (up to a poll interval later);
  // clamped because it is another machine's clock.
  const reported =
    started.value === 'committing'
      ? progress?.latest?.startedAt
      : started.value.startedAt?.toISOString()
  const startedAt = reported === undefined ? NaN : Date.parse(reported)
  launch.runningAt ??= Number.isNaN(startedAt)
    ? clock.now()
    : Math.min(clock.now(), Math.max(launch.submittedAt ?? 0, startedAt))
  log.info(
    `${started.value === 'committing' ? `Step ${stepId}'s driver is committing batches: it is RUNNING` : `Step ${stepId} is RUNNING`}; ${request.progress === 'off' ? `watching it for ${formatDuration(stableForMs)} (stable-for)` : `waiting for ${ctx.settings.readyBatches} batch(es) of its own, then watching it for ${formatDuration(stableForMs)} (stable-for)`}.`,
  )
  if (request.progress === 'required') {
    return verifyByProgress(ctx, launch, watch, {
      readyBy: since + startTimeoutMs,
      ...(request.oldStopped ? { oldStopped: request.oldStopped } : {}),
      ...(progress ? { progress } : {}),
    })
  }
  // By EMR state; a driver that turns out to publish progress is judged by it too, at no cost
  // in time: its reports are read while EMR is watched.
  await verifyByEmrState(ctx, launch, watch, progress && (() => progress.look()))
  if (launch.outcome !== 'running' || !progress?.latest) return
  if (progress.ready) {
    launch.readiness = readinessOf(progress.latest)
    judgeHandoff(ctx, launch, progress.latest, request.oldStopped)
    return
  }
  // It publishes progress but had not committed enough batches when stable-for ended (a slow
  // start): it is held to its reports now, until start-timeout.
  log.info(`${stepId} reports progress but is not ready yet: judging it by its reports.`)
  await verifyByProgress(ctx, launch, watch, {
    readyBy: since + startTimeoutMs,
    ...(request.oldStopped ? { oldStopped: request.oldStopped } : {}),
    progress,
  })
}

/** The Verify phase of the new deployment. */
export async function verifyPhase(
  ctx: RolloverContext,
  launched: LaunchRecord,
  request?: VerifyRequest,
): Promise<void> {
  await ctx.phases.run('Verify', async (phase) => {
    await verifyOrExplain(ctx, launched, request)
    phase.detail = launched.outcome === 'running' ? `${launched.stepId} running` : launched.failure
    if (launched.outcome !== 'running') phase.status = 'failed'
  })
}

/** verify(), but a cancellation or a lost lock ends with a message that says what runs. */
export async function verifyOrExplain(
  ctx: RolloverContext,
  launched: LaunchRecord,
  request?: VerifyRequest,
): Promise<void> {
  try {
    await verify(ctx, launched, request)
    await explainFailure(ctx, launched)
  } catch (error) {
    if (!ctx.signal.aborted) throw error
    launched.outcome = 'not-verified'
    const watched =
      launched.runningAt === undefined
        ? 'before it reached RUNNING'
        : `after watching it RUNNING for ${formatDuration(ctx.clock.now() - launched.runningAt)} of stable-for`
    throw new RolloverFailed(
      `${reasonOf(ctx.signal)} while verifying: the new step ${launched.stepId} (${launched.jarUri}) was submitted and stopped being watched ${watched}. Check it in the EMR console, or re-run to verify it.`,
    )
  }
}

/** EMR's failure details and the tail of the step's stderr, into the launch and its message. */
async function explainFailure(ctx: RolloverContext, launched: LaunchRecord): Promise<void> {
  if (launched.outcome !== 'died' && launched.outcome !== 'failed-to-start') return
  const step = await ctx.emr
    .describeStep(ctx.clusterId, launched.stepId as string)
    .catch(() => undefined)
  if (!step?.failure) return
  launched.failureDetails = await diagnoseStepFailure(ctx, step, ctx.cluster)
  const tail = launched.failureDetails.stderrTail?.slice(-5)
  if (tail && tail.length > 0)
    launched.failure = `${launched.failure}; stderr ends: ${tail.join(' | ')}`
  else if (launched.failureDetails.stderrNote)
    launched.failure = `${launched.failure} (${launched.failureDetails.stderrNote})`
}

function reasonOf(signal: AbortSignal): string {
  const reason: unknown = signal.reason
  return reason instanceof Error ? reason.message.replace(/\.$/, '') : 'Cancelled'
}
