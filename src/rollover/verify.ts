// Phase 7: the new step must reach RUNNING within start-timeout and stay up for stable-for.
// Sets the launch's outcome; never throws for a step that fails, only for I/O or cancellation.
import { isTerminal, type StepInfo } from '../aws/emr-port.ts'
import { poll } from '../aws/poll.ts'
import { formatDuration } from '../clock.ts'
import { describeError } from '../errors.ts'
import type { RolloverContext } from './context.ts'
import type { LaunchRecord } from './report.ts'
import { RolloverFailed } from './rollover-failed.ts'

/** Sets `launch.outcome` (and runningAt); never throws for a step that fails, only for I/O. */
export async function verify(ctx: RolloverContext, launch: LaunchRecord): Promise<void> {
  const { clock, log, emr, timings } = ctx
  const { startTimeoutMs, stableForMs } = ctx.settings
  const stepId = launch.stepId as string
  const describe = async (): Promise<StepInfo> => {
    await ctx.emrBudget.take(1, ctx.signal)
    return emr.describeStep(ctx.clusterId, stepId)
  }
  const onTransientError = (error: unknown, wait: number): void =>
    log.info(`EMR busy (${describeError(error)}); next check in ${formatDuration(wait)}.`)

  const started = await poll(
    async () => {
      const step = await describe()
      return step.state === 'PENDING' ? undefined : step
    },
    {
      clock,
      deadline: clock.monotonic() + startTimeoutMs,
      intervalMs: timings.verifyPollMs,
      maxIntervalMs: timings.maxPollIntervalMs,
      // A step is never RUNNING the instant AddJobFlowSteps returns.
      firstCheckAfterMs: timings.verifyFirstCheckMs,
      signal: ctx.signal,
      onTransientError,
    },
  )
  if (!started.done) {
    launch.outcome = 'failed-to-start'
    launch.failure = `step ${stepId} was still PENDING after start-timeout (${formatDuration(startTimeoutMs)}); another step may be occupying the cluster`
    return
  }
  if (started.value.state !== 'RUNNING') {
    launch.outcome = 'failed-to-start'
    launch.failure = `step ${stepId} ended ${started.value.state} before running${failureText(started.value)}`
    return
  }
  // EMR's start time, not when we looked (up to a poll interval later); clamped because it is
  // another machine's clock.
  const emrStart = started.value.startedAt?.getTime()
  launch.runningAt =
    emrStart === undefined
      ? clock.now()
      : Math.min(clock.now(), Math.max(launch.submittedAt ?? 0, emrStart))
  log.info(
    `Step ${stepId} is RUNNING; watching it for ${formatDuration(stableForMs)} (stable-for).`,
  )
  if (stableForMs <= 0) {
    launch.outcome = 'running'
    return
  }
  // Over a long window, a check every ~1/8 of it is enough and keeps EMR calls low.
  const interval = Math.min(
    timings.stableCheckMaxMs,
    Math.max(timings.stableCheckMinMs, stableForMs / 8),
  )
  // The window is counted from EMR's start time, on this machine's monotonic clock.
  const windowEnd =
    clock.monotonic() + ((launch.runningAt ?? clock.now()) + stableForMs - clock.now())
  // When EMR last answered "still running". The window counts only if EMR said so at its end:
  // failed calls up to the deadline prove nothing.
  let aliveAt = -Infinity
  const check = async (): Promise<StepInfo | undefined> => {
    const step = await describe()
    if (isTerminal(step.state)) return step
    aliveAt = clock.monotonic()
    return undefined
  }
  let ended = await poll(check, {
    clock,
    deadline: windowEnd,
    intervalMs: interval,
    maxIntervalMs: Math.max(interval, timings.maxPollIntervalMs),
    firstCheckAfterMs: interval,
    signal: ctx.signal,
    onTransientError,
  })
  if (!ended.done && aliveAt < windowEnd) {
    log.info(`EMR has not confirmed ${stepId} at the end of stable-for; asking until it answers.`)
    const confirmed = await poll(
      async () => {
        const step = await check()
        return step ?? (aliveAt >= windowEnd ? ('alive' as const) : undefined)
      },
      {
        clock,
        deadline: clock.monotonic() + startTimeoutMs,
        intervalMs: timings.stepPollMs,
        maxIntervalMs: timings.confirmPollMaxMs,
        signal: ctx.signal,
        onTransientError,
      },
    )
    if (!confirmed.done) {
      launch.outcome = 'not-verified'
      launch.failure = `EMR did not answer DescribeStep for ${stepId} at the end of stable-for, nor for ${formatDuration(startTimeoutMs)} after; the step may still run: check it in the EMR console`
      return
    }
    ended = confirmed.value === 'alive' ? { done: false } : { done: true, value: confirmed.value }
  }
  if (ended.done) {
    launch.outcome = 'died'
    // EMR's own start and end times: when we noticed can be a poll interval later.
    const { startedAt, endedAt } = ended.value
    const lived =
      startedAt && endedAt
        ? endedAt.getTime() - startedAt.getTime()
        : clock.now() - (launch.runningAt ?? 0)
    launch.failure = `step ${stepId} ended ${ended.value.state} ${formatDuration(lived)} after it started${failureText(ended.value)}`
    return
  }
  launch.outcome = 'running'
  log.info(`Step ${stepId} stayed up for ${formatDuration(stableForMs)}.`)
}

export function failureText(step: StepInfo): string {
  const details = [step.failure?.reason, step.failure?.message].filter(Boolean).join(': ')
  const log = step.failure?.logFile ? ` (log: ${step.failure.logFile})` : ''
  return details || log ? `: ${details}${log}` : ''
}

/** The Verify phase of the new deployment. */
export async function verifyPhase(ctx: RolloverContext, launched: LaunchRecord): Promise<void> {
  await ctx.phases.run('Verify', async (phase) => {
    await verifyOrExplain(ctx, launched)
    phase.detail = launched.outcome === 'running' ? `${launched.stepId} running` : launched.failure
    if (launched.outcome !== 'running') phase.status = 'failed'
  })
}

/** verify(), but a cancellation or a lost lock ends with a message that says what runs. */
export async function verifyOrExplain(ctx: RolloverContext, launched: LaunchRecord): Promise<void> {
  try {
    await verify(ctx, launched)
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

function reasonOf(signal: AbortSignal): string {
  const reason: unknown = signal.reason
  return reason instanceof Error ? reason.message.replace(/\.$/, '') : 'Cancelled'
}
