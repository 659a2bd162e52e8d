// One rollover from settings to a filled report (DESIGN.md, "Phases of one run"): preflight
// (read-only), the dry-run plan, staging, the deploy lock, then the strategy's ordering of the
// phases. A reconciler, not a script: every phase that acts reads the real state first, so a
// rerun after a crash converges to "the new jar runs, exactly one driver, one marker".
import type { ClusterInfo } from '../aws/emr-port.ts'
import { formatDuration } from '../clock.ts'
import { describeError, UserError } from '../errors.ts'
import { EMR_API, PacedEmr, type EmrApi } from '../aws/paced-emr.ts'
import { RateBudgets } from '../aws/rate-budget.ts'
import { s3Uri, type S3Location } from '../aws/s3-location.ts'
import { appIdentity } from '../contract/identity.ts'
import { AppLayout } from '../contract/layout.ts'
import { buildSparkStep } from '../contract/step.ts'
import type { RolloverContext, RolloverDeps, RunScope } from './context.ts'
import { fencedEmr, fencedStore } from './fence.ts'
import { LedgerStore } from './ledger.ts'
import { describeCandidate } from './liveness.ts'
import { DeployLock, lockOwner } from './lock.ts'
import { MarkerStore } from './marker-store.ts'
import { observe, possiblyAlive } from './observe.ts'
import { recordProgress } from './record.ts'
import { PhaseRunner, type RunReport } from './report.ts'
import { planJar, stageJar } from './stage.ts'
import { standbyJarProblem } from './standby-jar.ts'
import { standby } from './strategies/standby.ts'
import { stopStart } from './strategies/stop-start.ts'
import { newStepProblem, refuse, releaseProblem } from './refusals.ts'
import { refuseBeforeStop } from './refusals-under-lock.ts'
import { rollbackTarget } from './rollback.ts'
import type { NewLaunch } from './submit.ts'
import { timingsWith } from './timings.ts'

export type { RolloverDeps } from './context.ts'
export { RolloverFailed } from './rollover-failed.ts'

/** Runs the rollover, filling `report` as it goes (the caller renders it, also on failure). */
export async function runRollover(deps: RolloverDeps, report: RunReport): Promise<void> {
  const scope = runScope(deps, report)
  const { settings, emr, store, log, phases } = scope

  const preflight = await phases.run('Preflight', async () => {
    const cluster = await emr.resolveCluster(settings.cluster)
    report.clusterId = cluster.id
    report.clusterName = cluster.name
    log.info(
      `Cluster ${cluster.id} (${cluster.name}) is ${cluster.state}, step concurrency ${cluster.stepConcurrencyLevel}${cluster.releaseLabel ? `, ${cluster.releaseLabel}` : ''}.`,
    )
    if (settings.strategy === 'standby' && cluster.stepConcurrencyLevel < 2) {
      throw new UserError(
        `Input 'strategy': standby runs the new driver beside the old one until it is ready, and cluster ${cluster.id} runs one step at a time (StepConcurrencyLevel ${cluster.stepConcurrencyLevel}). Raise it (aws emr modify-cluster --cluster-id ${cluster.id} --step-concurrency-level 2, or in the console: Steps, Step concurrency), or use strategy: stop-start.`,
      )
    }
    refuse(releaseProblem(settings, cluster))
    const jar = await planJar(settings, store)
    refuse(await standbyJarProblem(settings, jar, store, log))
    report.jarUri = jar.uri
    log.info(
      `Jar: ${jar.localPath ? `${jar.localPath} -> ` : ''}${jar.uri}${jar.present ? ' (in S3)' : ' (to upload)'}`,
    )
    return { cluster, jar }
  })

  const markerUri = s3Uri(scope.layout.marker(deps.deploymentId))
  const launch: NewLaunch = {
    markerUri,
    jarUri: preflight.jar.uri,
    step: buildSparkStep({
      app: scope.app,
      deploymentId: deps.deploymentId,
      mainClass: settings.mainClass,
      sparkSubmitArgs: settings.sparkSubmitArgs,
      appArgs: settings.appArgs,
      jarUri: preflight.jar.uri,
      markerUri,
    }),
  }

  refuse(newStepProblem(launch.step))

  if (settings.dryRun) {
    // Read-only: what a run would stop, as observe() under the lock would see it now.
    const never = new AbortController().signal
    const ctx = heldContext(scope, preflight.cluster, deps.signal ?? never, never)
    const world = await observe(ctx)
    // What the run would refuse under the lock, the dry run refuses now.
    await refuseBeforeStop(ctx, world, await rollbackTarget(ctx, world))
    report.plan = {
      stop: [
        ...possiblyAlive(world).map((c) =>
          c.stepId ? `step ${describeCandidate(c)}` : describeCandidate(c),
        ),
        ...world.markers.map((m) => `marker ${m.uri}`),
      ],
      markerUri,
      step: launch.step,
    }
    report.result = 'planned'
    report.status = 'succeeded'
    log.info(
      `Dry run: would ${preflight.jar.present ? '' : `upload ${preflight.jar.localPath}, `}stop ${report.plan.stop.join(', ') || 'nothing'}, write ${markerUri} and submit:\n${JSON.stringify(launch.step, null, 2)}`,
    )
    return
  }

  if (preflight.jar.present) phases.skip('Stage', 'jar already in S3')
  else {
    await phases.run('Stage', async () => {
      report.jarUploaded = (await stageJar(preflight.jar, store, log, scope.clock)).uploaded
    })
  }

  const lock = new DeployLock({
    store,
    location: scope.layout.lock,
    owner: lockOwner(deps.deploymentId, deps.github),
    clock: scope.clock,
    log,
    leaseMs: scope.timings.lockLeaseMs,
    renewEveryMs: scope.timings.lockRenewEveryMs,
    renewTimeoutMs: scope.timings.lockRenewTimeoutMs,
    pollMs: scope.timings.lockPollMs,
    reportEveryMs: scope.timings.lockReportEveryMs,
    onStateChange: deps.onLockState,
  })
  try {
    await phases.run('Lock', async () => {
      await lock.acquire(settings.lockTimeoutMs, deps.signal)
      lock.startRenewing()
      log.info(`Holding the deploy lock ${s3Uri(scope.layout.lock)}.`)
    })
    const signal = deps.signal ? AbortSignal.any([deps.signal, lock.lost]) : lock.lost
    const fenced = fencedScope(scope, () => lock.assertHeld())
    const ctx = heldContext(fenced, preflight.cluster, signal, lock.lost)
    const strategy = settings.strategy === 'standby' ? standby : stopStart
    await strategy(ctx, launch).catch(async (error: unknown) => {
      // The record in S3 must show how the run ended (and a rollback), not stay 'in-progress'.
      report.status = 'failed'
      report.error = error instanceof Error ? error.message : String(error)
      await recordProgress(ctx)
      throw error
    })
  } finally {
    // Never throws; when it fails, the saved lock state lets the post step try again.
    await lock.release()
  }
}

function heldContext(
  scope: RunScope,
  cluster: ClusterInfo,
  signal: AbortSignal,
  lockLost: AbortSignal,
): RolloverContext {
  // A retry wait outside any wait's own signal ends with the lock or the run's cancellation.
  const emr = scope.emr.derive({ signal })
  return { ...scope, emr, clusterId: cluster.id, cluster, signal, lockLost }
}

/** The scope whose ports check the lock before every change of shared state. */
function fencedScope(scope: RunScope, fence: () => void): RunScope {
  const appKey = `${scope.layout.app.key}/`
  const shared = (location: S3Location): boolean =>
    location.bucket === scope.layout.app.bucket &&
    location.key.startsWith(appKey) &&
    !location.key.startsWith(`${appKey}deployments/`) &&
    location.key !== scope.layout.lock.key
  const store = fencedStore(scope.store, fence, shared)
  return {
    ...scope,
    // Fenced below the pacing: the lock is checked before every attempt, not once before a
    // retry loop that may outlast it.
    emr: scope.emr.derive({ inner: fencedEmr(scope.emr.inner, fence) }),
    store,
    markers: new MarkerStore(store, scope.layout, (m) => scope.log.warning(m)),
    ledger: new LedgerStore(store, scope.layout.drivers),
  }
}

function runScope(deps: RolloverDeps, report: RunReport): RunScope {
  const timings = timingsWith(deps.timings)
  const layout = new AppLayout(deps.settings.markerPrefix, deps.settings.appName)
  const budgets = new RateBudgets<EmrApi>(deps.clock, timings.emrBurst, timings.emrCallsPerSecond)
  const emr = new PacedEmr(deps.emr, {
    budgets,
    clock: deps.clock,
    random: deps.random ?? Math.random,
    defaultDeadlineMs: timings.emrDeadlineMs,
    ...(deps.signal ? { signal: deps.signal } : {}),
    onFoundAccepted: (stepId, failure) =>
      deps.log.info(`AddJobFlowSteps failed (${failure.name}) but EMR has ${stepId}: using it.`),
    onRetry: (e) =>
      deps.log.info(
        `EMR busy (${describeError(e.error)}); next check in ${formatDuration(e.waitMs)} (${EMR_API[e.operation]}, attempt ${e.attempt + 1}).`,
      ),
  })
  return {
    settings: deps.settings,
    emr,
    store: deps.store,
    clock: deps.clock,
    log: deps.log,
    deploymentId: deps.deploymentId,
    github: deps.github,
    timings,
    app: appIdentity(deps.settings.markerPrefix, deps.settings.appName),
    layout,
    markers: new MarkerStore(deps.store, layout, (m) => deps.log.warning(m)),
    ledger: new LedgerStore(deps.store, layout.drivers),
    emrBudgets: budgets,
    random: deps.random ?? Math.random,
    report,
    phases: new PhaseRunner(report, deps.clock, deps.log),
    cancelled: deps.signal,
  }
}
