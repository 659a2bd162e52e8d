// Takes a launch that failed verification out of the way before anything else is submitted: its
// marker is deleted and its driver confirmed gone by the same rule as any other (a new step
// cancelled in the console during verify still has a live driver in cluster mode).
import type { StepInfo } from '../aws/emr-port.ts'
import { poll } from '../aws/poll.ts'
import { deploymentTag } from '../contract/identity.ts'
import type { RolloverContext } from './context.ts'
import type { DriverCandidate } from './liveness.ts'
import { stopDrivers } from './stop.ts'
import { refreshed } from './observe.ts'
import type { Launched } from './submit.ts'

export async function retire(ctx: RolloverContext, launch: Launched, what: string): Promise<void> {
  const stepId = launch.stepId as string
  // Throttled or failing EMR calls are retried: giving up here would leave the driver unjudged.
  const described = await poll(() => ctx.emr.describeStep(ctx.clusterId, stepId), {
    clock: ctx.clock,
    deadline: ctx.clock.monotonic() + ctx.settings.stopTimeoutMs,
    intervalMs: ctx.timings.stepPollMs,
    maxIntervalMs: ctx.timings.maxPollIntervalMs,
    signal: ctx.signal,
  })
  const step = described.done ? described.value : undefined
  // Its reports too: a step that ended FAILED may hide a driver that still commits.
  const scan = await ctx.markers.scan()
  await stopDrivers(ctx, {
    markers: [launch.marker],
    candidates: [refreshed(launchCandidate(ctx, launch, step), scan)],
    what: `${what} ${stepId}`,
  })
}

/** A driver this run launched, as a candidate of liveness.ts. */
export function launchCandidate(
  ctx: RolloverContext,
  launch: Launched,
  step?: StepInfo,
): DriverCandidate {
  return {
    key: launch.stepId as string,
    clusterId: ctx.clusterId,
    stepId: launch.stepId as string,
    deploymentId: launch.deploymentId,
    markerUri: launch.markerUri,
    killTags: [deploymentTag(ctx.app, launch.deploymentId)],
    via: ['ledger'],
    ...(step ? { step } : {}),
  }
}
