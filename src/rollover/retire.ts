// Takes a launch that failed verification out of the way before anything else is submitted.
import { isTerminal } from '../aws/emr-port.ts'
import { poll } from '../aws/poll.ts'
import { formatDuration } from '../clock.ts'
import { UserError } from '../errors.ts'
import type { RolloverContext } from './context.ts'
import type { Launched } from './submit.ts'

export async function retire(ctx: RolloverContext, launch: Launched): Promise<void> {
  const { emr, log } = ctx
  const retireTimeoutMs = ctx.timings.retireTimeoutMs
  // The marker first: if the step starts after all, its driver stops at its first check.
  await ctx.markers.remove([launch.marker])
  const step = await emr.describeStep(ctx.clusterId, launch.stepId as string)
  if (step.state === 'PENDING') {
    await emr.cancelStep(ctx.clusterId, step.id)
    log.info(`Cancelled step ${step.id}, which had not started.`)
  } else if (!isTerminal(step.state)) {
    // It started after all: without its marker the driver exits at its first check.
    const ended = await poll(
      async () => {
        await ctx.emrBudget.take(1)
        return isTerminal((await emr.describeStep(ctx.clusterId, step.id)).state) ? true : undefined
      },
      {
        clock: ctx.clock,
        deadline: ctx.clock.now() + retireTimeoutMs,
        intervalMs: ctx.timings.stepPollMs,
        maxIntervalMs: ctx.timings.maxPollIntervalMs,
      },
    )
    if (!ended.done) {
      throw new UserError(
        `Step ${step.id} of the failed deployment is still ${step.state} ${formatDuration(retireTimeoutMs)} after its marker was deleted; not submitting anything else beside it. Stop it, then re-run.`,
      )
    }
  }
}
