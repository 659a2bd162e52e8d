// Finds what runs now: the app's markers in S3 and its active steps on the cluster. Read-only.
// Every phase that acts re-runs this first, so a rerun after a crash starts from the real state.
import type { AppLayout } from '../contract/layout.ts'
import type { Marker, MarkerScan, StopAck } from '../contract/markers.ts'
import type { MarkerStore } from './marker-store.ts'
import { parseStepName } from '../contract/identity.ts'
import { markerUriOfStep } from '../contract/spark-submit.ts'
import type { EmrPort, StepInfo } from '../aws/emr-port.ts'
import { readCurrent, type CurrentRecord } from '../report/records.ts'
import type { RolloverContext } from './context.ts'

export interface CurrentState {
  readonly markers: readonly Marker[]
  readonly acks: readonly StopAck[]
  /** Active (PENDING, CANCEL_PENDING, RUNNING) steps of this app, newest first. */
  readonly steps: readonly StepInfo[]
}

export function isFirstDeploy(state: CurrentState): boolean {
  return state.markers.length === 0 && state.steps.length === 0
}

/** A step belongs to the app when its name, its marker conf or a marker body says so. */
export function appSteps(
  steps: readonly StepInfo[],
  appName: string,
  layout: AppLayout,
  markers: readonly Marker[],
): StepInfo[] {
  const markerPrefix = `s3://${layout.markers.bucket}/${layout.markers.key}/`
  const stepIdsInMarkers = new Set(markers.map((m) => m.body?.stepId).filter(Boolean))
  return steps.filter((step) => {
    if (stepIdsInMarkers.has(step.id)) return true
    const named = parseStepName(step.name)
    if (named?.appName === appName) return true
    return markerUriOfStep(step.args)?.startsWith(markerPrefix) ?? false
  })
}

/** What runs now on the run's cluster: its markers in S3 and its active steps. */
export function observe(ctx: RolloverContext): Promise<CurrentState> {
  return readCurrentState(ctx.emr, ctx.markers, ctx.clusterId, ctx.settings.appName)
}

export async function readCurrentState(
  emr: EmrPort,
  markerStore: MarkerStore,
  clusterId: string,
  appName: string,
): Promise<CurrentState> {
  const [scan, steps]: [MarkerScan, StepInfo[]] = await Promise.all([
    markerStore.scan(),
    emr.listActiveSteps(clusterId),
  ])
  return {
    markers: scan.markers,
    acks: scan.acks,
    steps: appSteps(steps, appName, markerStore.layout, scan.markers),
  }
}

/**
 * The step a rollback would restore, and current.json. Nothing running, but a run recorded what
 * ran last (e.g. a run that crashed after stopping it): that is still the version to roll back
 * to, and this is no first deploy.
 */
export async function rollbackTarget(
  ctx: RolloverContext,
  state: CurrentState,
): Promise<{ previous?: StepInfo; recorded?: CurrentRecord }> {
  const previous = rollbackSource(state)
  if (previous) return { previous }
  const recorded = await readCurrent(ctx.store, ctx.layout)
  if (!recorded?.stepId || recorded.clusterId !== ctx.clusterId) return { recorded }
  const described = await ctx.emr
    .describeStep(ctx.clusterId, recorded.stepId)
    .catch(() => undefined)
  if (described)
    ctx.log.info(`Nothing runs now; current.json names ${described.id} as the last deployment.`)
  return { previous: described, recorded }
}

/** The step whose configuration a rollback restores: the newest running one of the app. */
export function rollbackSource(state: CurrentState): StepInfo | undefined {
  return state.steps.find((s) => s.state === 'RUNNING') ?? state.steps[0]
}

export function describeState(state: CurrentState): string {
  if (isFirstDeploy(state)) return 'no marker and no active step: first deploy'
  const steps = state.steps.map((s) => `${s.id} (${s.state}, ${s.name})`).join(', ') || 'none'
  const markers = state.markers.map((m) => m.uri).join(', ') || 'none'
  return `active steps: ${steps}; markers: ${markers}`
}
