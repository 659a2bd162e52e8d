// The default strategy: stop the old driver, then submit and verify the new one; roll back when
// it fails. An ordering of the phase functions, nothing more: each phase reads the world first.
import type { RolloverContext } from '../context.ts'
import { oldDriverOf, verifyRequestFor } from '../handoff.ts'
import { describeCandidate } from '../liveness.ts'
import { isFirstDeploy, observe, possiblyAlive } from '../observe.ts'
import { recordProgress } from '../record.ts'
import { refuseBeforeStop } from '../refusals-under-lock.ts'
import { rollbackTarget } from '../rollback.ts'
import { RolloverFailed } from '../rollover-failed.ts'
import { stopPhase } from '../stop.ts'
import { removeStaleReports, submitPhase, type NewLaunch } from '../submit.ts'
import { verifyPhase } from '../verify.ts'
import { concludeRollover } from '../conclude.ts'
import { recordVersions } from '../versions.ts'

export async function stopStart(ctx: RolloverContext, launch: NewLaunch): Promise<void> {
  const { report, log } = ctx
  // Reconcile: what runs now may have changed while we waited for the lock.
  const world = await observe(ctx)
  recordVersions(ctx, world, launch.jarUri)
  const alive = possiblyAlive(world)
  report.found = alive.map((c) => ({
    stepId: c.stepId ?? c.key,
    state: c.step?.state ?? 'unknown',
  }))
  if (alive.length > 0) log.info(`Drivers to stop: ${alive.map(describeCandidate).join(', ')}.`)
  const previous = await rollbackTarget(ctx, world)
  await refuseBeforeStop(ctx, world, previous)
  const firstDeploy = isFirstDeploy(world)
  await recordProgress(ctx)

  const stop = await stopPhase(ctx, world)
  const old = oldDriverOf(stop)
  // Submitted even when the run was cancelled meanwhile: an empty cluster is the worse outcome.
  const launched = await submitPhase(ctx, launch, stop)
  await removeStaleReports(ctx)
  await recordProgress(ctx)
  if (ctx.cancelled?.aborted) {
    launched.outcome = 'not-verified'
    throw new RolloverFailed(
      `Cancelled: the new step ${launched.stepId} was submitted but not verified. Check it in the EMR console.`,
    )
  }

  await verifyPhase(
    ctx,
    launched,
    verifyRequestFor(ctx, old, world.current?.verifiedBy === 'progress'),
  )
  await concludeRollover(ctx, { launched, old: old, previous, firstDeploy })
}
