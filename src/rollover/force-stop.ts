// The forced stop (on-stop-timeout: kill): cancel the stuck spark-submit steps, then kill the
// app's YARN applications by tag in an EMR step, and confirm. CancelSteps alone never stops a
// cluster-mode driver.
import { isTerminal, type StepInfo } from '../aws/emr-port.ts'
import { poll } from '../aws/poll.ts'
import { buildKillStep } from '../contract/kill-step.ts'
import { UserError } from '../errors.ts'
import type { RolloverContext } from './context.ts'

/** Cancel the stuck spark-submit step(s), then kill the YARN application by tag and confirm. */
export async function forceStop(ctx: RolloverContext, alive: readonly StepInfo[]): Promise<void> {
  const { emr, clock, log } = ctx
  for (const step of alive.filter((s) => !isTerminal(s.state))) {
    // With step concurrency 1 the kill step would queue behind the stuck step forever.
    await emr.cancelStep(ctx.clusterId, step.id)
    log.info(`Cancelled step ${step.id} (its YARN application keeps running until killed).`)
  }
  const killStep = buildKillStep(ctx.settings.appName, ctx.deploymentId)
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
      deadline: clock.now() + ctx.timings.killTimeoutMs,
      intervalMs: ctx.timings.stepPollMs,
      maxIntervalMs: ctx.timings.maxPollIntervalMs,
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
      deadline: clock.now() + ctx.timings.killConfirmMs,
      intervalMs: ctx.timings.stepPollMs,
      maxIntervalMs: ctx.timings.maxPollIntervalMs,
    })
  }
  log.info(`Kill step ${killId} confirmed: no application tagged for the app is left.`)
}
