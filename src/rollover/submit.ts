// Phase 6: write the new marker, submit the step, record the step id in the marker. Used for the
// new jar and, unchanged, for a rollback.
import { withDeadline } from '../aws/deadline.ts'
import type { StepSpec } from '../aws/emr-port.ts'
import { formatDuration } from '../clock.ts'
import { isTransient } from '../aws/transient.ts'
import { deploymentTag } from '../contract/identity.ts'
import type { Marker, MarkerMode } from '../contract/markers.ts'
import { describeError } from '../errors.ts'
import type { RolloverContext } from './context.ts'
import { LockLost } from './lock.ts'
import type { LaunchRecord } from './report.ts'
import { RolloverFailed } from './rollover-failed.ts'
import type { StopOutcome } from './stop.ts'

/** The new deployment this run submits: its marker, its step and its jar. */
export interface NewLaunch {
  readonly markerUri: string
  readonly step: StepSpec
  readonly jarUri: string
}

/** The Submit phase of the new deployment, after `stop`. */
export async function submitPhase(
  ctx: RolloverContext,
  launch: NewLaunch,
  stop: StopOutcome,
): Promise<Launched> {
  const { report, settings } = ctx
  return ctx.phases.run('Submit', async (phase) => {
    const l = await submit(ctx, { deploymentId: ctx.deploymentId, ...launch }).catch(
      (error: unknown) => {
        const stopped =
          stop.stopped.length > 0 ? 'The old driver is stopped and nothing' : 'Nothing'
        if (error instanceof LockLost) {
          throw new RolloverFailed(
            `${error.message} ${stopped} of '${settings.appName}' was submitted by this run. If another run holds the lock now, it finishes the rollover; otherwise re-run.`,
          )
        }
        throw new RolloverFailed(
          `Submitting the new step failed: ${describeError(error)}. ` +
            `${stopped} of '${settings.appName}' runs now; the new marker was removed. Fix the cause and re-run: the rerun submits again.`,
        )
      },
    )
    report.launch = l
    phase.detail = `step ${l.stepId}, ${formatDuration((l.submittedAt ?? 0) - stop.stoppedAt)} after the old driver stopped`
    return l
  })
}

/** Reports of drivers that are gone (not only those seen before the stop): retired. */
export async function removeStaleReports(ctx: RolloverContext): Promise<void> {
  await ctx.markers.removeStaleReports().catch((error: unknown) => {
    ctx.log.debug(`Could not remove the reports of retired deployments: ${describeError(error)}`)
  })
}

export interface LaunchRequest {
  readonly deploymentId: string
  readonly markerUri: string
  readonly step: StepSpec
  readonly jarUri: string
  readonly rollbackOf?: string
  /** The step's runtime role; default the `execution-role-arn` input. */
  readonly executionRoleArn?: string
  /** `standby`: the driver starts Spark but waits for `run` before it reads its checkpoint. */
  readonly mode?: MarkerMode
}

export interface Launched extends LaunchRecord {
  marker: Marker
}

/**
 * Marker first (so it exists when the driver first looks), then the ledger entry (so a later run
 * knows of the driver even if this one dies), then the step, then its id in both.
 */
export async function submit(ctx: RolloverContext, request: LaunchRequest): Promise<Launched> {
  const { log, clock } = ctx
  const executionRoleArn = request.executionRoleArn ?? ctx.settings.executionRoleArn
  let marker = await ctx.markers.create(request.deploymentId, {
    version: 1,
    app: ctx.settings.appName,
    deploymentId: request.deploymentId,
    clusterId: ctx.clusterId,
    jar: request.jarUri,
    createdAt: new Date(clock.now()).toISOString(),
    ...(request.mode ? { mode: request.mode } : {}),
    ...(request.rollbackOf ? { rollbackOf: request.rollbackOf } : {}),
    github: ctx.github,
  })
  log.info(`Wrote marker ${marker.uri}; submitting the step.`)
  let stepId: string
  try {
    await ctx.ledger.upsert({
      deploymentId: request.deploymentId,
      clusterId: ctx.clusterId,
      stepName: request.step.name,
      markerUri: marker.uri,
      tags: [deploymentTag(ctx.app, request.deploymentId)],
      launchedAt: new Date(clock.now()).toISOString(),
      ...(executionRoleArn ? { executionRoleArn } : {}),
    })
    // Retried (by its unique name, never blindly) through a throttling storm: the app is down
    // until it is in. Not ended by the runner's cancellation, only by the lost lock.
    stepId = await withDeadline(
      clock.monotonic() + ctx.timings.emrDeadlineMs,
      () => ctx.emr.addStep(ctx.clusterId, request.step, executionRoleArn),
      { what: 'the submit deadline', signal: ctx.lockLost },
    )
  } catch (error) {
    // A marker without a driver would be taken for a running deployment by the next run.
    await ctx.markers.remove([marker]).catch((cleanup) => {
      log.warning(
        `Could not delete marker ${marker.uri} after the failed submit: ${describeError(cleanup)}`,
      )
    })
    // EMR said no for sure: nothing was launched. After a timeout the entry stays, and the next
    // run looks for the step by its name.
    if (!isTransient(error)) await ctx.ledger.remove([request.deploymentId]).catch(() => undefined)
    throw error
  }
  const submittedAt = clock.now()
  log.info(`Submitted step ${stepId} (${request.step.name}) with marker ${marker.uri}.`)
  await ctx.ledger.patch(request.deploymentId, { stepId }).catch((error) => {
    // Not fatal: the step is still found by its name in the next run's look at the history.
    log.warning(`Could not record step ${stepId} in the driver ledger: ${describeError(error)}`)
  })
  try {
    marker = await ctx.markers.attachStep(marker, stepId)
  } catch (error) {
    // Not fatal: the step is still found by its name and its marker conf.
    log.warning(`Could not record step id ${stepId} in ${marker.uri}: ${describeError(error)}`)
  }
  return {
    deploymentId: request.deploymentId,
    stepId,
    markerUri: marker.uri,
    jarUri: request.jarUri,
    step: request.step,
    ...(executionRoleArn ? { executionRoleArn } : {}),
    submittedAt,
    marker,
  }
}
