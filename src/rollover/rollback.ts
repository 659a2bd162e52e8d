// Phase 8: when the new step fails to start or dies within stable-for, retire it, resubmit the
// last *verified* deployment's exact step (its jar, args and runtime role) with a fresh marker,
// verify it, and fail the run either way.
import type { StepSpec } from '../aws/emr-port.ts'
import { s3Uri } from '../aws/s3-location.ts'
import { jarOfStep } from '../contract/spark-submit.ts'
import { retargetStep } from '../contract/step.ts'
import { describeError } from '../errors.ts'
import { writeCurrent } from '../report/records.ts'
import type { RolloverContext } from './context.ts'
import type { World } from './observe.ts'
import { retire } from './retire.ts'
import { RolloverFailed } from './rollover-failed.ts'
import { submit, type Launched } from './submit.ts'
import { verifyOrExplain, type VerifyRequest } from './verify.ts'

/** What a rollback restores. */
export interface RollbackTarget {
  readonly step: StepSpec
  readonly stepId?: string
  readonly executionRoleArn?: string
  /** The cluster the target step ran on, when the record says (default: this run's). */
  readonly clusterId?: string
  readonly jarUri?: string
  /** How current.json says its deployment was verified: `progress` proves it publishes progress. */
  readonly verifiedBy?: 'progress' | 'emr-state'
  /** current.json (the last verified deployment), or the step that ran when none was recorded. */
  readonly source: 'current.json' | 'running step'
}

/**
 * The last verified deployment, from current.json: never a step that ran unverified (a run that
 * ended not-verified leaves current.json as it was). Without current.json (a deployment made by
 * hand or by an earlier tool), the newest running step of the app.
 */
export async function rollbackTarget(
  ctx: RolloverContext,
  world: World,
): Promise<RollbackTarget | undefined> {
  const current = world.current
  if (current?.step) {
    return {
      step: current.step,
      ...(current.stepId ? { stepId: current.stepId } : {}),
      ...(current.clusterId ? { clusterId: current.clusterId } : {}),
      ...(current.executionRoleArn ? { executionRoleArn: current.executionRoleArn } : {}),
      jarUri: current.jarUri ?? jarOfStep(current.step.args),
      ...(current.verifiedBy ? { verifiedBy: current.verifiedBy } : {}),
      source: 'current.json',
    }
  }
  if (current?.stepId) {
    const known = world.candidates.find((c) => c.stepId === current.stepId)?.step
    const step =
      known ??
      (await ctx.emr
        .describeStep(current.clusterId ?? ctx.clusterId, current.stepId)
        .catch((error: unknown) => {
          ctx.log.warning(
            `current.json names step ${current.stepId}, which EMR cannot describe (${describeError(error)}): no rollback target.`,
          )
          return undefined
        }))
    if (step) {
      return {
        step,
        stepId: step.id,
        ...(step.executionRoleArn ? { executionRoleArn: step.executionRoleArn } : {}),
        jarUri: jarOfStep(step.args),
        ...(current.verifiedBy ? { verifiedBy: current.verifiedBy } : {}),
        source: 'current.json',
      }
    }
    return undefined
  }
  const running = world.candidates
    .filter((c) => c.step?.state === 'RUNNING')
    .sort(
      (a, b) => (b.step?.createdAt?.getTime() ?? 0) - (a.step?.createdAt?.getTime() ?? 0),
    )[0]?.step
  return (
    running && {
      step: running,
      stepId: running.id,
      ...(running.executionRoleArn ? { executionRoleArn: running.executionRoleArn } : {}),
      jarUri: jarOfStep(running.args),
      source: 'running step',
    }
  )
}

export interface RollbackRequest {
  /** The new launch that failed verification. */
  readonly failed: Launched
  readonly previous: RollbackTarget | undefined
  readonly firstDeploy: boolean
}

const FAILED_HOW: Partial<Record<string, string>> = {
  died: 'died',
  'failed-to-start': 'did not start',
  'bad-handoff': 'started from the wrong offsets',
}

/** Always throws RolloverFailed; the message says what runs now. */
export async function restorePrevious(
  ctx: RolloverContext,
  request: RollbackRequest,
): Promise<never> {
  const { settings, store, log, github, report } = ctx
  const { failed, previous, firstDeploy } = request
  const what = `The new step ${failed.stepId} ${FAILED_HOW[failed.outcome ?? 'died'] ?? 'failed'}: ${failed.failure}.`
  if (failed.outcome === 'bad-handoff' && !settings.rollback) {
    // It processes, from the wrong place; with rollback off the action leaves it to the user.
    throw new RolloverFailed(
      `${what} It keeps running ('rollback' is false): check its offsets, or re-run with rollback.`,
    )
  }
  await retire(ctx, failed, 'the failed new step')
  if (!settings.rollback || firstDeploy || !previous) {
    const why = !settings.rollback
      ? "'rollback' is false"
      : firstDeploy
        ? 'this was a first deploy: there is no previous version to go back to'
        : 'no verified deployment of the app is recorded: there is no previous configuration to go back to'
    throw new RolloverFailed(
      `${what} Nothing of this app runs now (${why}). Fix the jar and re-run.`,
    )
  }
  const rollbackId = `${ctx.deploymentId}-rb`
  const markerUri = s3Uri(ctx.layout.marker(rollbackId))
  const step = retargetStep(previous.step, { app: ctx.app, deploymentId: rollbackId, markerUri })
  const from = previous.stepId ? `${previous.stepId} (${previous.source})` : previous.source
  log.warning(`${what} Rolling back to the configuration of ${from}.`)
  const role = previous.executionRoleArn ?? (await roleFromEmr(ctx, previous))
  const launched = await ctx.phases.run('Rollback', async (phase) => {
    const l = await submit(ctx, {
      deploymentId: rollbackId,
      markerUri,
      step,
      jarUri: previous.jarUri ?? jarOfStep(previous.step.args) ?? 'unknown',
      rollbackOf: ctx.deploymentId,
      // The previous step's own role: the input may name the new version's.
      ...(role ? { executionRoleArn: role } : {}),
    })
    report.rollback = l
    await verifyOrExplain(ctx, l, rollbackVerifyRequest(ctx, previous))
    phase.detail =
      l.outcome === 'running' ? `${l.stepId} running the previous configuration` : l.failure
    if (l.outcome !== 'running') phase.status = 'failed'
    return l
  })
  if (launched.outcome !== 'running') {
    // As for the new step: a PENDING rollback step would start later, beside nothing we know of.
    await retire(ctx, launched, 'the failed rollback step')
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

/**
 * How the rollback driver is judged. A version verified by its progress before publishes it
 * again: it is held to its batches, so "rolled back" is never said of a driver still starting
 * (or stuck) once stable-for has passed. No handoff verdict: the failed step may have committed
 * batches after the old driver's final offsets.
 */
export function rollbackVerifyRequest(
  ctx: RolloverContext,
  previous: RollbackTarget,
): VerifyRequest {
  switch (ctx.settings.verifyBy) {
    case 'progress':
      return { progress: 'required' }
    case 'emr-state':
      return { progress: 'off' }
    default:
      return { progress: previous.verifiedBy === 'progress' ? 'required' : 'optional' }
  }
}

/**
 * The role a step ran as, from DescribeStep, when the target does not carry it (ListSteps'
 * summaries have no role, and a record written without one). Asked only when a rollback happens.
 */
async function roleFromEmr(
  ctx: RolloverContext,
  previous: RollbackTarget,
): Promise<string | undefined> {
  if (!previous.stepId) return undefined
  try {
    const step = await ctx.emr.describeStep(previous.clusterId ?? ctx.clusterId, previous.stepId)
    return step.executionRoleArn
  } catch (error) {
    ctx.log.warning(
      `Could not read the runtime role of ${previous.stepId} (${describeError(error)}): the rollback step runs as 'execution-role-arn'.`,
    )
    return undefined
  }
}
