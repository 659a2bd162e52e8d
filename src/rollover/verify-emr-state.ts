// Verification by EMR state alone, for a driver that publishes no progress: the step must stay
// RUNNING for stable-for, and EMR must say so at the end of the window (failed calls up to the
// deadline prove nothing).
import { isTerminal, type StepInfo } from '../aws/emr-port.ts'
import { poll } from '../aws/poll.ts'
import { formatDuration } from '../clock.ts'
import type { RolloverContext } from './context.ts'
import type { LaunchRecord } from './report.ts'
import { statusTicker } from './status.ts'
import { endedText, type StepWatch } from './verify-step.ts'

/** `alongside` runs on every check (reading the driver's progress reports, when it has any). */
export async function verifyByEmrState(
  ctx: RolloverContext,
  launch: LaunchRecord,
  watch: StepWatch,
  alongside?: () => Promise<void>,
): Promise<void> {
  const { clock, log, timings } = ctx
  const { startTimeoutMs, stableForMs } = ctx.settings
  const stepId = launch.stepId as string
  launch.readiness = { method: 'emr-state', detail: 'the driver publishes no progress' }
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
  // From when it started processing: for a switched standby, the switch (its step has been
  // RUNNING since before its wait, which proves nothing about running the stream).
  const from = Math.max(launch.runningAt ?? clock.now(), launch.switchedAt ?? -Infinity)
  const windowEnd = clock.monotonic() + (from + stableForMs - clock.now())
  // When EMR last answered "still running". The window counts only if EMR said so at its end.
  let aliveAt = -Infinity
  let last: StepInfo | undefined
  const ticker = statusTicker(
    ctx,
    windowEnd,
    () => `step ${stepId} ${last?.state ?? 'RUNNING'}`,
    `Watching ${stepId} (stable-for)`,
  )
  const check = async (): Promise<StepInfo | undefined> => {
    await alongside?.()
    const step = await watch.describe()
    last = step
    ticker.tick()
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
    onTransientError: watch.onTransientError,
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
        onTransientError: watch.onTransientError,
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
    launch.failure = endedText(ctx, launch, ended.value)
    return
  }
  launch.outcome = 'running'
  log.info(`Step ${stepId} stayed up for ${formatDuration(stableForMs)}.`)
}
