// The refusals that need what observe() read under the lock: the running steps' runtime role,
// the queue of a one-step cluster, and the rollback step's size.
import { isTerminal } from '../aws/emr-port.ts'
import { describeError } from '../errors.ts'
import type { RolloverContext } from './context.ts'
import type { DriverCandidate } from './liveness.ts'
import type { World } from './observe.ts'
import { possiblyAlive } from './observe.ts'
import { queueProblem, refuse, rollbackStepProblem, runtimeRoleProblem } from './refusals.ts'
import type { RollbackTarget } from './rollback.ts'

export async function refuseBeforeStop(
  ctx: RolloverContext,
  world: World,
  previous: RollbackTarget | undefined,
): Promise<void> {
  const rollbackId = `${ctx.deploymentId}-rb`
  refuse(
    runtimeRoleProblem(ctx.settings, await withRoles(ctx, possiblyAlive(world))),
    queueProblem(ctx.cluster, world.otherActiveSteps),
    ctx.settings.rollback
      ? rollbackStepProblem(
          ctx.app,
          rollbackId,
          `${ctx.app.markersUri}${rollbackId}`,
          previous?.step,
        )
      : undefined,
  )
}

/**
 * ListSteps does not say which role a step runs as: without an `execution-role-arn` input, one
 * DescribeStep of a running driver tells whether the cluster uses runtime roles.
 */
async function withRoles(
  ctx: RolloverContext,
  drivers: readonly DriverCandidate[],
): Promise<DriverCandidate[]> {
  if (ctx.settings.executionRoleArn) return [...drivers]
  const probe = drivers.find((c) => c.stepId && c.step && !isTerminal(c.step.state))
  if (!probe?.stepId || probe.step?.executionRoleArn) return [...drivers]
  try {
    const step = await ctx.emr.describeStep(probe.clusterId, probe.stepId)
    return drivers.map((c) => (c === probe ? { ...c, step } : c))
  } catch (error) {
    // Only a check ahead of time: EMR refuses the submit itself if the role is missing.
    ctx.log.debug(
      `Could not describe ${probe.stepId} for its runtime role: ${describeError(error)}`,
    )
    return [...drivers]
  }
}
