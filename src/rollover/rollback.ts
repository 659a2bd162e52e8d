// Phase 8: when the new step fails to start or dies within stable-for, retire it, resubmit the
// previous step's exact configuration with a fresh marker, verify it, and fail the run either way.
import type { StepInfo } from '../aws/emr-port.ts'
import { s3Uri } from '../aws/s3-location.ts'
import { jarOfStep } from '../contract/spark-submit.ts'
import { retargetStep } from '../contract/step.ts'
import { writeCurrent } from '../report/records.ts'
import type { RolloverContext } from './context.ts'
import { retire } from './retire.ts'
import { RolloverFailed } from './rollover-failed.ts'
import { submit, type Launched } from './submit.ts'
import { verifyOrExplain } from './verify.ts'

export interface RollbackRequest {
  /** The new launch that failed verification. */
  readonly failed: Launched
  /** The step whose configuration is restored; undefined when nothing ran before. */
  readonly previous: StepInfo | undefined
  readonly firstDeploy: boolean
}

/** Always throws RolloverFailed; the message says what runs now. */
export async function restorePrevious(
  ctx: RolloverContext,
  request: RollbackRequest,
): Promise<never> {
  const { settings, store, log, github, report } = ctx
  const { failed, previous, firstDeploy } = request
  const what = `The new step ${failed.stepId} ${failed.outcome === 'died' ? 'died' : 'did not start'}: ${failed.failure}.`
  await retire(ctx, failed)
  if (!settings.rollback || firstDeploy || !previous) {
    const why = !settings.rollback
      ? "'rollback' is false"
      : firstDeploy
        ? 'this was a first deploy: there is no previous version to go back to'
        : 'no step of the app was running before: there is no previous configuration to go back to'
    throw new RolloverFailed(
      `${what} Nothing of this app runs now (${why}). Fix the jar and re-run.`,
    )
  }
  const rollbackId = `${ctx.deploymentId}-rb`
  const markerUri = s3Uri(ctx.layout.marker(rollbackId))
  const step = retargetStep(previous, {
    appName: settings.appName,
    deploymentId: rollbackId,
    markerUri,
  })
  log.warning(`${what} Rolling back to the configuration of ${previous.id}.`)
  const launched = await ctx.phases.run('Rollback', async (phase) => {
    const l = await submit(ctx, {
      deploymentId: rollbackId,
      markerUri,
      step,
      jarUri: jarOfStep(previous.args) ?? 'unknown',
      rollbackOf: ctx.deploymentId,
    })
    report.rollback = l
    await verifyOrExplain(ctx, l)
    phase.detail =
      l.outcome === 'running' ? `${l.stepId} running the previous configuration` : l.failure
    if (l.outcome !== 'running') phase.status = 'failed'
    return l
  })
  if (launched.outcome !== 'running') {
    // As for the new step: a PENDING rollback step would start later, beside nothing we know of.
    await retire(ctx, launched)
    throw new RolloverFailed(
      `${what} The rollback step ${launched.stepId} failed too: ${launched.failure}. Nothing of this app runs now.`,
    )
  }
  report.result = 'rolled-back'
  await writeCurrent(store, ctx.layout, report, launched, github)
  throw new RolloverFailed(
    `${what} Rolled back: ${launched.stepId} runs the previous version again.`,
  )
}
