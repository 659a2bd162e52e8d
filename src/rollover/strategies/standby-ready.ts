// The standby's wait: the new driver is up when it writes `<marker>.ready`. It fails before that
// when its step ends (bad jar, class not found, no capacity), when start-timeout passes, or when
// it publishes progress: then it ignored `mode: standby` and reads its checkpoint already.
import { withDeadline } from '../../aws/deadline.ts'
import { isTerminal, type StepInfo } from '../../aws/emr-port.ts'
import { isTransient } from '../../aws/transient.ts'
import { formatDuration } from '../../clock.ts'
import type { RolloverContext } from '../context.ts'
import { statusTicker } from '../status.ts'
import type { Launched } from '../submit.ts'
import { failureText, stepWatch } from '../verify-step.ts'

export type Readiness = { readonly ok: true } | { readonly ok: false; readonly why: string }

/**
 * DescribeStep tokens this wait leaves in the run's budget for the Stop that follows: confirming
 * the old step's end is part of the downtime (the switch waits for it), and a wait of a minute
 * or more, looking at EMR faster than the budget refills, would otherwise have spent them all.
 */
export const STOP_RESERVE_CALLS = 3

export async function awaitReady(ctx: RolloverContext, launched: Launched): Promise<Readiness> {
  const { clock, timings, settings, log } = ctx
  const stepId = launched.stepId as string
  const watch = stepWatch(ctx, stepId)
  const deadline = clock.monotonic() + settings.startTimeoutMs
  const emrEvery = Math.max(timings.stepPollMs, timings.stableCheckMinMs)
  let lastEmr = -Infinity
  let step: StepInfo | undefined
  const ticker = statusTicker(
    ctx,
    deadline,
    () => `step ${step?.state ?? 'PENDING'}, no .ready yet`,
    `Waiting for ${stepId} to be ready in standby`,
  )
  for (;;) {
    if (ctx.cancelled?.aborted) return { ok: false, why: 'the run was cancelled while it started' }
    const ready = await ctx.markers.readReady(launched.markerUri)
    if (ready) {
      launched.readyAt = clock.now()
      log.info(
        `${stepId} is ready in standby${launched.submittedAt ? `, ${formatDuration(launched.readyAt - launched.submittedAt)} after it was submitted` : ''}.`,
      )
      return { ok: true }
    }
    if (await ctx.markers.readProgress(launched.markerUri)) {
      return {
        ok: false,
        why: 'it committed batches before it was switched to run: it does not honour mode: standby (its jar lacks the driver library?), and ran beside the old driver',
      }
    }
    // EMR is skipped, not waited for, while it would eat into the Stop's reserve: `.ready` is
    // watched meanwhile, and a failed step is seen a refill later.
    const emrDue =
      clock.monotonic() - lastEmr >= emrEvery &&
      ctx.emrBudgets.of('DescribeStep').msUntilAvailable(STOP_RESERVE_CALLS + 1) === 0
    if (emrDue) {
      lastEmr = clock.monotonic()
      try {
        // Retried for one interval at most: `.ready` is what this wait is about.
        step = await withDeadline(Math.min(deadline, lastEmr + emrEvery), () => watch.describe(), {
          what: "the next look at the standby's .ready",
          signal: ctx.signal,
        })
      } catch (error) {
        if (!isTransient(error)) throw error
        watch.onTransientError(error, emrEvery)
      }
      if (step && isTerminal(step.state)) {
        return {
          ok: false,
          why: `its step ended ${step.state} before it was ready${failureText(step)}`,
        }
      }
    }
    if (clock.monotonic() >= deadline) {
      return {
        ok: false,
        why: `it wrote no .ready within start-timeout (${formatDuration(settings.startTimeoutMs)}); its step is ${step?.state ?? 'unknown'}${step?.state === 'PENDING' ? ': the cluster may have no room for a second driver' : ''}`,
      }
    }
    ticker.tick()
    await clock.sleep(timings.verifyPollMs, ctx.signal)
  }
}
