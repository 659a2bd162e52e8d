// The standby strategy (DESIGN.md): a broken build never touches the running app, and the
// downtime is the drain alone. The new step is submitted with its marker in `mode: standby`; it
// starts Spark and writes `.ready` without reading its checkpoint. Only then is the old driver
// stopped, and the new marker switched to `run` (compare-and-swap). The same phase functions as
// stop-start, in another order.
import { formatDuration } from '../../clock.ts'
import { markerMode } from '../../contract/markers.ts'
import { submissionKey } from '../../contract/step.ts'
import { describeError } from '../../errors.ts'
import type { RolloverContext } from '../context.ts'
import { oldDriverOf, verifyRequestFor } from '../handoff.ts'
import { describeCandidate, type DriverCandidate } from '../liveness.ts'
import { isFirstDeploy, observe, possiblyAlive, type World } from '../observe.ts'
import { recordProgress } from '../record.ts'
import { refuseBeforeStop } from '../refusals-under-lock.ts'
import { launchCandidate } from '../retire.ts'
import { rollbackTarget } from '../rollback.ts'
import { RolloverFailed } from '../rollover-failed.ts'
import { StopTimeout, stopDrivers, stopPhase } from '../stop.ts'
import { removeStaleReports, submit, type Launched, type NewLaunch } from '../submit.ts'
import { verifyPhase } from '../verify.ts'
import { concludeRollover } from '../conclude.ts'
import { recordVersions } from '../versions.ts'
import { awaitReady } from './standby-ready.ts'

export async function standby(ctx: RolloverContext, launch: NewLaunch): Promise<void> {
  const { report, log, clock } = ctx
  const world = await observe(ctx)
  recordVersions(ctx, world, launch.jarUri)
  const waiting = standbysOf(world)
  const old = possiblyAlive(world).filter((c) => !waiting.some((s) => s.candidate.key === c.key))
  report.found = old.map((c) => ({ stepId: c.stepId ?? c.key, state: c.step?.state ?? 'unknown' }))
  requireStandbySupport(ctx, world, old)
  const previous = await rollbackTarget(ctx, world)
  await refuseBeforeStop(ctx, world, previous)
  const firstDeploy = isFirstDeploy(world)
  await recordProgress(ctx)

  // A standby left by an earlier run: the same jar is adopted, any other is retired.
  let launched: Launched | undefined
  for (const s of waiting) {
    if (!launched && s.launched && sameSubmission(ctx, s.launched, launch)) {
      launched = s.launched
      log.info(
        `Adopting ${describeCandidate(s.candidate)} (deployment ${s.launched.deploymentId}), left waiting in standby with this jar and these arguments.`,
      )
    } else {
      await retireStandby(ctx, s.candidate, s.launched?.marker, 'a standby left by an earlier run')
    }
  }
  launched ??= await ctx.phases.run('Submit', async (phase) => {
    const l = await submit(ctx, { deploymentId: ctx.deploymentId, ...launch, mode: 'standby' })
    phase.detail = `step ${l.stepId} in standby`
    return l
  })
  report.launch = launched
  await recordProgress(ctx)

  const ready = await ctx.phases.run('Standby', async (phase) => {
    const r = await awaitReady(ctx, launched)
    phase.detail = r.ok ? `${launched.stepId} ready` : r.why
    if (!r.ok) phase.status = 'failed'
    return r
  })
  if (!ready.ok) {
    // Recorded as what it is (the summary and the record would call it "not verified, may be
    // running" otherwise): it never got ready, and it is retired.
    launched.outcome = 'failed-to-start'
    launched.failure = ready.why
    await retireStandby(ctx, launchCandidate(ctx, launched), launched.marker, 'the new standby')
    throw new RolloverFailed(
      `The new version's standby driver ${launched.stepId} is not ready: ${ready.why}. It was retired. Nothing changed: ${old.length > 0 ? `the running driver (${old.map(describeCandidate).join(', ')}) was never touched` : 'nothing of the app ran, nor runs now'}.`,
    )
  }

  // Every candidate but the standbys: those already gone may still carry the final offsets of
  // a driver an earlier run stopped (the handoff is judged against them).
  const stop = await stopPhase(ctx, {
    markers: world.markers.filter((m) => m.uri !== launched.markerUri),
    candidates: world.candidates.filter((c) => !waiting.some((s) => s.candidate.key === c.key)),
  }).catch(async (error: unknown) => {
    // The old driver keeps running (its marker is back): the standby must not wait beside it.
    // Any other failure leaves it waiting: a re-run adopts it.
    if (!(error instanceof StopTimeout)) throw error
    await retireStandby(
      ctx,
      launchCandidate(ctx, launched),
      launched.marker,
      'the new standby',
    ).catch((cleanup: unknown) =>
      log.warning(`Could not retire the standby: ${describeError(cleanup)}`),
    )
    throw error
  })
  const oldDriver = oldDriverOf(stop)
  // Switched even when the run was cancelled meanwhile: the old driver is gone, and an idle
  // standby is the worse outcome.
  launched.marker = await ctx.phases.run('Switch', async (phase) => {
    const switched = await ctx.markers.switchToRun(launched.marker)
    launched.switchedAt = clock.now()
    phase.detail = `${launched.stepId} switched to run ${formatDuration(launched.switchedAt - stop.stoppedAt)} after the old driver stopped`
    return switched
  })
  await removeStaleReports(ctx)
  await recordProgress(ctx)
  if (ctx.cancelled?.aborted) {
    launched.outcome = 'not-verified'
    throw new RolloverFailed(
      `Cancelled: the new step ${launched.stepId} was switched to run but not verified. Check it in the EMR console.`,
    )
  }

  await verifyPhase(ctx, launched, {
    ...verifyRequestFor(ctx, oldDriver, world.current?.verifiedBy === 'progress'),
    switched: true,
  })
  await concludeRollover(ctx, { launched, old: oldDriver, previous, firstDeploy })
}

interface WaitingStandby {
  readonly candidate: DriverCandidate
  readonly jar?: string
  /** What adopting it takes: its marker, as this run would have written it. */
  readonly launched?: Launched
}

/** Drivers whose marker still says `mode: standby`: left waiting by an earlier run. */
function standbysOf(world: World): WaitingStandby[] {
  return world.markers
    .filter((m) => markerMode(m.text) === 'standby')
    .flatMap((m): WaitingStandby[] => {
      const candidate = world.candidates.find((c) => c.markerUri === m.uri)
      if (!candidate) return []
      const step = candidate.step
      const active = step && (step.state === 'RUNNING' || step.state === 'PENDING')
      const launched: Launched | undefined =
        active && m.body
          ? {
              deploymentId: m.body.deploymentId,
              stepId: step.id,
              markerUri: m.uri,
              jarUri: m.body.jar,
              step,
              marker: m,
              ...(step.createdAt ? { submittedAt: step.createdAt.getTime() } : {}),
            }
          : undefined
      return [
        { candidate, ...(m.body ? { jar: m.body.jar } : {}), ...(launched ? { launched } : {}) },
      ]
    })
}

/** The standby runs what this run would submit: same jar, arguments and runtime role. */
function sameSubmission(ctx: RolloverContext, standby: Launched, launch: NewLaunch): boolean {
  const role = ctx.settings.executionRoleArn
  return (
    standby.jarUri === launch.jarUri &&
    submissionKey(standby.step) === submissionKey(launch.step) &&
    (standby.step as { executionRoleArn?: string }).executionRoleArn === role
  )
}

/**
 * A driver that ignores `mode: standby` would read the checkpoint beside the running one. The
 * action cannot tell a new jar's driver honours it before it runs; a running driver that
 * publishes progress (it uses the driver library) is the evidence that the app does.
 */
function requireStandbySupport(
  ctx: RolloverContext,
  world: World,
  old: readonly DriverCandidate[],
): void {
  if (old.length === 0) return
  const publishes =
    old.some((c) => c.progressAt || c.ack) || world.current?.verifiedBy === 'progress'
  if (publishes) return
  throw new RolloverFailed(
    `strategy: standby needs a driver that honours 'mode: standby' (the driver library), and the running driver of '${ctx.settings.appName}' (${old.map(describeCandidate).join(', ')}) publishes no .progress: nothing says the new one would wait instead of reading the checkpoint beside it. Nothing was changed. Deploy once with strategy: stop-start and a jar that uses the driver library (README, "The driver library"), then use standby.`,
  )
}

/**
 * A standby never touched the checkpoint: killing it is always safe, whatever on-stop-timeout
 * says, and it is killed by its own deployment tag only (never the running driver's).
 */
async function retireStandby(
  ctx: RolloverContext,
  candidate: DriverCandidate,
  marker: Launched['marker'] | undefined,
  what: string,
): Promise<void> {
  const step = candidate.stepId
    ? await ctx.emr.describeStep(candidate.clusterId, candidate.stepId).catch(() => candidate.step)
    : candidate.step
  await stopDrivers(
    ctx,
    {
      markers: marker ? [marker] : [],
      candidates: [{ ...candidate, ...(step ? { step } : {}) }],
      what: `${what} ${candidate.stepId ?? ''}`.trim(),
    },
    { onStopTimeout: 'kill', timeoutMs: Math.min(ctx.settings.stopTimeoutMs, 2 * 60_000) },
  )
}
