// Phase 8: when the new step fails to start or dies within stable-for, resubmit the previous
// step's exact configuration with a fresh marker, verify it, and fail the run either way.
import { formatDuration } from '../clock.ts'
import type { rollbackSource } from './observe.ts'
import { retire, submit, verify, type LaunchContext, type Launched } from './submit.ts'
import type { AppLayout } from '../contract/layout.ts'
import { writeCurrent } from '../report/records.ts'
import type { PhaseRunner, RunReport } from './report.ts'
import type { RolloverDeps } from './run.ts'
import { jarOfStep } from '../contract/spark-submit.ts'
import { retargetStep } from '../contract/step.ts'
import { s3Uri } from '../aws/s3-location.ts'
import { UserError } from '../errors.ts'

/** A run that ended without the new version verified; the message says what runs now. */
export class RolloverFailed extends UserError {}

interface Held {
  readonly phases: PhaseRunner
  readonly layout: AppLayout
  readonly signal: AbortSignal
}

export async function rollBack(
  deps: RolloverDeps,
  report: RunReport,
  held: Pick<Held, 'phases' | 'layout' | 'signal'>,
  launchCtx: LaunchContext,
  failed: Launched,
  previous: ReturnType<typeof rollbackSource>,
  firstDeploy: boolean,
): Promise<never> {
  const { settings, store, log, github } = deps
  const what = `The new step ${failed.stepId} ${failed.outcome === 'died' ? 'died' : 'did not start'}: ${failed.failure}.`
  await retire(launchCtx, failed)
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
  const rollbackId = `${deps.deploymentId}-rb`
  const markerUri = s3Uri(held.layout.marker(rollbackId))
  const step = retargetStep(previous, {
    appName: settings.appName,
    deploymentId: rollbackId,
    markerUri,
  })
  log.warning(`${what} Rolling back to the configuration of ${previous.id}.`)
  const launched = await held.phases.run('Rollback', async (phase) => {
    const l = await submit(launchCtx, {
      deploymentId: rollbackId,
      markerUri,
      step,
      jarUri: jarOfStep(previous.args) ?? 'unknown',
      rollbackOf: deps.deploymentId,
    })
    report.rollback = l
    await verifyOrExplain(launchCtx, l, held.signal)
    phase.detail =
      l.outcome === 'running' ? `${l.stepId} running the previous configuration` : l.failure
    if (l.outcome !== 'running') phase.status = 'failed'
    return l
  })
  if (launched.outcome !== 'running') {
    // As for the new step: a PENDING rollback step would start later, beside nothing we know of.
    await retire(launchCtx, launched)
    throw new RolloverFailed(
      `${what} The rollback step ${launched.stepId} failed too: ${launched.failure}. Nothing of this app runs now.`,
    )
  }
  report.result = 'rolled-back'
  await writeCurrent(store, held.layout, report, launched, github)
  throw new RolloverFailed(
    `${what} Rolled back: ${launched.stepId} runs the previous version again.`,
  )
}

/** verify(), but a cancellation or a lost lock ends with a message that says what runs. */
export async function verifyOrExplain(
  ctx: LaunchContext,
  launched: Launched,
  signal: AbortSignal,
): Promise<void> {
  try {
    await verify(ctx, launched)
  } catch (error) {
    if (!signal.aborted) throw error
    launched.outcome = 'not-verified'
    const watched =
      launched.runningAt === undefined
        ? 'before it reached RUNNING'
        : `after watching it RUNNING for ${formatDuration(ctx.clock.now() - launched.runningAt)} of stable-for`
    throw new RolloverFailed(
      `${reasonOf(signal)} while verifying: the new step ${launched.stepId} (${launched.jarUri}) was submitted and stopped being watched ${watched}. Check it in the EMR console, or re-run to verify it.`,
    )
  }
}

function reasonOf(signal: AbortSignal): string {
  const reason: unknown = signal.reason
  return reason instanceof Error ? reason.message.replace(/\.$/, '') : 'Cancelled'
}
