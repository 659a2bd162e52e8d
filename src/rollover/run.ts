// The phases of one rollover (DESIGN.md), as a reconciler over the EMR and S3 ports: every phase
// that acts reads the real state first and does only what is still missing, so a rerun after a
// crash converges to "the new jar runs, exactly one driver, one marker".
import { formatDuration } from '../clock.ts'
import { describeState, isFirstDeploy, readCurrentState, rollbackSource } from './observe.ts'
import { submit, type LaunchContext } from './submit.ts'
import { rollBack, RolloverFailed, verifyOrExplain } from './rollback.ts'
import { DeployLock, lockOwner, type LockState } from './lock.ts'
import { AppLayout } from '../contract/layout.ts'
import { MarkerStore } from './marker-store.ts'
import { readCurrent, writeCurrent, writeDeploymentRecord } from '../report/records.ts'
import { PhaseRunner, type RunReport } from './report.ts'
import { buildSparkStep } from '../contract/step.ts'
import { planJar, stageJar } from './stage.ts'
import { describeError } from '../errors.ts'
import { stopCurrent } from './stop.ts'
import { TokenBucket } from '../aws/rate-budget.ts'
import type { EmrPort } from '../aws/emr-port.ts'
import type { ObjectStore } from '../aws/object-store.ts'
import { s3Uri } from '../aws/s3-location.ts'
import type { Clock } from '../clock.ts'
import type { Log } from '../log.ts'
import type { RunContext } from '../settings/github-run.ts'
import type { Settings } from '../settings/settings.ts'

export interface RolloverDeps {
  readonly settings: Settings
  readonly emr: EmrPort
  readonly store: ObjectStore
  readonly clock: Clock
  readonly log: Log
  readonly deploymentId: string
  readonly github: RunContext
  /** Aborted when the runner cancels the job (SIGINT/SIGTERM). */
  readonly signal?: AbortSignal
  /** So the post step can release the lock if this process dies. */
  readonly onLockState?: (state: LockState | undefined) => void
  /** Fine-tuning for tests and the benchmark; defaults suit real EMR. */
  readonly tuning?: {
    readonly lockLeaseMs?: number
    readonly lockPollMs?: number
    readonly ackPollMs?: number
    readonly emrPollMs?: number
  }
}

export { RolloverFailed } from './rollback.ts'

/** Runs the rollover, filling `report` as it goes (the caller renders it, also on failure). */
export async function runRollover(deps: RolloverDeps, report: RunReport): Promise<void> {
  const { settings, emr, store, clock, log } = deps
  const phases = new PhaseRunner(report, clock, log)
  const layout = new AppLayout(settings.markerPrefix, settings.appName)
  const markers = new MarkerStore(store, layout)
  // Burst 5, refill 0.4/s: below EMR's 0.5/s per-account refill, leaving room for other tools.
  const emrBudget = new TokenBucket(clock, 5, 0.4)

  const preflight = await phases.run('Preflight', async (phase) => {
    const cluster = await emr.resolveCluster(settings.cluster)
    report.clusterId = cluster.id
    report.clusterName = cluster.name
    log.info(
      `Cluster ${cluster.id} (${cluster.name}) is ${cluster.state}, step concurrency ${cluster.stepConcurrencyLevel}.`,
    )
    const jar = await planJar(settings, store)
    report.jarUri = jar.uri
    log.info(
      `Jar: ${jar.localPath ? `${jar.localPath} -> ` : ''}${jar.uri}${jar.present ? ' (in S3)' : ' (to upload)'}`,
    )
    const state = await readCurrentState(emr, markers, cluster.id, settings.appName)
    phase.detail = describeState(state)
    log.info(`Current deployment: ${phase.detail}`)
    return { cluster, jar, state }
  })

  const markerUri = s3Uri(layout.marker(deps.deploymentId))
  const step = buildSparkStep({
    appName: settings.appName,
    deploymentId: deps.deploymentId,
    mainClass: settings.mainClass,
    sparkSubmitArgs: settings.sparkSubmitArgs,
    appArgs: settings.appArgs,
    jarUri: preflight.jar.uri,
    markerUri,
  })

  if (settings.dryRun) {
    report.plan = {
      stop: [
        ...preflight.state.steps.map((s) => `step ${s.id} (${s.state})`),
        ...preflight.state.markers.map((m) => `marker ${m.uri}`),
      ],
      markerUri,
      step,
    }
    report.result = 'planned'
    report.status = 'succeeded'
    log.info(
      `Dry run: would ${preflight.jar.present ? '' : `upload ${preflight.jar.localPath}, `}stop ${report.plan.stop.join(', ') || 'nothing'}, write ${markerUri} and submit:\n${JSON.stringify(step, null, 2)}`,
    )
    return
  }

  if (preflight.jar.present) phases.skip('Stage', 'jar already in S3')
  else {
    await phases.run('Stage', async () => {
      report.jarUploaded = (await stageJar(preflight.jar, store, log, clock)).uploaded
    })
  }

  const lock = new DeployLock({
    store,
    location: layout.lock,
    owner: lockOwner(deps.deploymentId, deps.github),
    clock,
    log,
    leaseMs: deps.tuning?.lockLeaseMs,
    pollMs: deps.tuning?.lockPollMs,
    onStateChange: deps.onLockState,
  })
  try {
    await phases.run('Lock', async () => {
      await lock.acquire(settings.lockTimeoutMs, deps.signal)
      lock.startRenewing()
      log.info(`Holding the deploy lock ${s3Uri(layout.lock)}.`)
    })
    const signal = deps.signal ? AbortSignal.any([deps.signal, lock.lost]) : lock.lost
    await rollOver(deps, report, {
      phases,
      layout,
      markers,
      emrBudget,
      signal,
      step,
      markerUri,
      clusterId: preflight.cluster.id,
    }).catch(async (error: unknown) => {
      // The record in S3 must show how the run ended (and a rollback), not stay 'in-progress'.
      report.status = 'failed'
      report.error = error instanceof Error ? error.message : String(error)
      await writeDeploymentRecord(store, layout, report, deps.github).catch((cause) => {
        log.warning(`Could not write the deployment record: ${describeError(cause)}`)
      })
      throw error
    })
  } finally {
    // Never throws; when it fails, the saved lock state lets the post step try again.
    await lock.release()
  }
}

interface Held {
  readonly phases: PhaseRunner
  readonly layout: AppLayout
  readonly markers: MarkerStore
  readonly emrBudget: TokenBucket
  readonly signal: AbortSignal
  readonly step: ReturnType<typeof buildSparkStep>
  readonly markerUri: string
  readonly clusterId: string
}

async function rollOver(deps: RolloverDeps, report: RunReport, held: Held): Promise<void> {
  const { settings, emr, store, clock, log, github } = deps
  const { phases, layout, markers, emrBudget, signal, clusterId } = held
  const record = (): Promise<void> =>
    writeDeploymentRecord(store, layout, report, github).catch((error) => {
      log.warning(`Could not write the deployment record: ${describeError(error)}`)
    })

  // Reconcile: what runs now may have changed while we waited for the lock.
  const state = await readCurrentState(emr, markers, clusterId, settings.appName)
  report.found = state.steps.map((s) => ({ stepId: s.id, state: s.state }))
  let previous = rollbackSource(state)
  // Nothing running, but a run recorded what ran last (e.g. a run that crashed after stopping
  // it): that is still the version to roll back to, and this is no first deploy.
  const recorded = previous ? undefined : await readCurrent(store, layout)
  if (!previous && recorded?.stepId && recorded.clusterId === clusterId) {
    previous = await emr.describeStep(clusterId, recorded.stepId).catch(() => undefined)
    if (previous)
      log.info(`Nothing runs now; current.json names ${previous.id} as the last deployment.`)
  }
  const firstDeploy = isFirstDeploy(state) && recorded === undefined
  await record()

  const stop = await phases.run('Stop', async (phase) => {
    report.stopStartedAt = clock.now()
    const outcome = await stopCurrent(state, {
      emr,
      markers,
      clock,
      log,
      clusterId,
      appName: settings.appName,
      deploymentId: deps.deploymentId,
      stopTimeoutMs: settings.stopTimeoutMs,
      onStopTimeout: settings.onStopTimeout,
      emrBudget,
      signal,
      ackPollMs: deps.tuning?.ackPollMs,
      emrPollMs: deps.tuning?.emrPollMs,
    })
    report.previous = outcome.stopped
    report.oldStoppedAt = outcome.stoppedAt
    report.forcedStop = outcome.forced
    phase.detail =
      outcome.stopped.length === 0
        ? 'nothing was running'
        : `stopped ${outcome.stopped.map((s) => `${s.stepId} (${s.state})`).join(', ')}`
    if (outcome.stopped.length > 0) {
      log.info(
        `Old driver stopped after ${formatDuration(outcome.stoppedAt - (report.stopStartedAt ?? 0))}.`,
      )
    }
    return outcome
  })

  const launchCtx: LaunchContext = {
    emr,
    markers,
    clock,
    log,
    clusterId,
    appName: settings.appName,
    executionRoleArn: settings.executionRoleArn,
    startTimeoutMs: settings.startTimeoutMs,
    stableForMs: settings.stableForMs,
    emrBudget,
    github,
    signal,
  }
  // Submitted even when the run was cancelled meanwhile: an empty cluster is the worse outcome.
  const launched = await phases.run('Submit', async (phase) => {
    const l = await submit(launchCtx, {
      deploymentId: deps.deploymentId,
      markerUri: held.markerUri,
      step: held.step,
      jarUri: report.jarUri as string,
    }).catch((error: unknown) => {
      const stopped = stop.stopped.length > 0 ? 'The old driver is stopped and nothing' : 'Nothing'
      throw new RolloverFailed(
        `Submitting the new step failed: ${describeError(error)}. ` +
          `${stopped} of '${settings.appName}' runs now; the new marker was removed. Fix the cause and re-run: the rerun submits again.`,
      )
    })
    report.launch = l
    phase.detail = `step ${l.stepId}, ${formatDuration((l.submittedAt ?? 0) - stop.stoppedAt)} after the old driver stopped`
    return l
  })
  // Not only state.acks: the drivers stopped above wrote theirs after that scan.
  await markers
    .scan()
    .then(({ markers: live, acks }) => {
      const liveUris = new Set(live.map((m) => m.uri))
      return markers.removeAcks(acks.filter((a) => !liveUris.has(a.markerUri)))
    })
    .catch(() => undefined)
  await record()
  if (deps.signal?.aborted) {
    launched.outcome = 'not-verified'
    throw new RolloverFailed(
      `Cancelled: the new step ${launched.stepId} was submitted but not verified. Check it in the EMR console.`,
    )
  }

  await phases.run('Verify', async (phase) => {
    await verifyOrExplain(launchCtx, launched, signal)
    phase.detail = launched.outcome === 'running' ? `${launched.stepId} running` : launched.failure
    if (launched.outcome !== 'running') phase.status = 'failed'
  })

  if (launched.outcome === 'running') {
    await writeCurrent(store, layout, report, launched, github).catch((error) => {
      log.warning(
        `Could not write current.json: ${describeError(error)}. The deployment itself is done.`,
      )
    })
    report.result = firstDeploy ? 'first-deploy' : 'deployed'
    report.status = 'succeeded'
    await record()
    return
  }
  if (launched.outcome === 'not-verified') {
    // It may be running fine: retiring or rolling back on no evidence could make things worse.
    throw new RolloverFailed(
      `${launched.failure}. Not rolled back: nothing says it failed. Re-run to verify again, or check the step.`,
    )
  }
  await rollBack(deps, report, held, launchCtx, launched, previous, firstDeploy)
  await record()
}
