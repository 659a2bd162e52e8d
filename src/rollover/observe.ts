// Reads what runs now, before anything acts (the Flink operator's observer, apart from the
// decisions): the app's markers and the driver's reports in S3, its active steps, the action's
// own records (the driver ledger, current.json) and, when those cannot be trusted to be complete,
// the cluster's recent step history. Every place a driver of the app can be found makes it a
// candidate; liveness.ts says which candidates may still be alive.
import { ClusterGone, isTerminal, type StepInfo } from '../aws/emr-port.ts'
import { parseS3Location } from '../aws/s3-location.ts'
import { isTransient } from '../aws/transient.ts'
import {
  deploymentTagsIn,
  isKillStepName,
  parseStepName,
  type AppIdentity,
} from '../contract/identity.ts'
import type { Marker, MarkerScan, StopAck } from '../contract/markers.ts'
import { markerUriOfStep, parseSparkSubmitArgs, TAGS_CONF } from '../contract/spark-submit.ts'
import { describeError } from '../errors.ts'
import { readCurrent, type CurrentRecord } from '../report/records.ts'
import type { RolloverContext } from './context.ts'
import type { Ledger, LedgerEntry } from './ledger.ts'
import { liveness, type CandidateSource, type DriverCandidate } from './liveness.ts'

export interface World {
  /** Every marker object of the app (reports excluded). */
  readonly markers: readonly Marker[]
  readonly acks: readonly StopAck[]
  /** Every driver of the app found, alive or not: liveness.ts judges each. */
  readonly candidates: readonly DriverCandidate[]
  readonly ledger: Ledger
  readonly current?: CurrentRecord
  /** Other apps' and tools' active steps on this cluster: never waited for, cancelled or killed. */
  readonly otherActiveSteps: readonly StepInfo[]
}

/** A step is the app's when its name carries the app's identity or its marker is the app's. */
export function belongsToApp(step: StepInfo, app: AppIdentity): boolean {
  if (isKillStepName(step.name)) return false
  const named = parseStepName(step.name)
  if (named?.appId !== undefined) return named.appId === app.id
  return markerUriOfStep(step.args)?.startsWith(app.markersUri) ?? false
}

export function isFirstDeploy(world: World): boolean {
  return (
    world.markers.length === 0 &&
    world.candidates.length === 0 &&
    world.current === undefined &&
    world.ledger.entries.length === 0
  )
}

/** Candidates that may still be alive: the ones a stop must deal with. */
export function possiblyAlive(world: World): DriverCandidate[] {
  return world.candidates.filter((c) => liveness(c).status !== 'gone')
}

export async function observe(ctx: RolloverContext): Promise<World> {
  const { emr, clusterId, app } = ctx
  const [scan, active, ledger, current] = await Promise.all([
    ctx.markers.scan(),
    emr.listActiveSteps(clusterId),
    ctx.ledger.read(),
    readCurrentOrWarn(ctx),
  ])
  const byKey = new Map<string, Draft>()
  const add = (key: string, clusterId_: string, via: CandidateSource, stepId?: string): Draft => {
    const draft = byKey.get(key) ?? { key, clusterId: clusterId_, via: new Set(), killTags: [] }
    draft.stepId ??= stepId
    draft.via.add(via)
    byKey.set(key, draft)
    return draft
  }
  const mine = active.filter((s) => belongsToApp(s, app))
  for (const step of mine) withStep(add(step.id, clusterId, 'active-step'), step)
  for (const marker of scan.markers) {
    const stepId = marker.body?.stepId
    if (stepId) {
      const d = add(stepId, marker.body?.clusterId ?? clusterId, 'marker', stepId)
      d.markerUri ??= marker.uri
      d.deploymentId ??= marker.body?.deploymentId
    }
  }
  for (const entry of ledger.entries) {
    const d = entry.stepId ? add(entry.stepId, entry.clusterId, 'ledger', entry.stepId) : undefined
    if (d) fromLedger(d, entry)
  }
  if (current?.stepId)
    add(current.stepId, current.clusterId ?? clusterId, 'current', current.stepId)

  // Without a ledger (an app deployed by an earlier version) or with a launch whose step id was
  // never recorded, the recent history is the only place left to look.
  const unnamed = ledger.entries.filter((e) => e.stepId === undefined)
  const history = new RecentSteps(ctx)
  if (ledger.etag === undefined || unnamed.length > 0) {
    for (const step of await history.of(clusterId)) {
      if (!belongsToApp(step, app)) continue
      const entry = unnamed.find((e) => e.stepName === step.name && e.clusterId === clusterId)
      const d = add(step.id, clusterId, entry ? 'ledger' : 'history')
      if (entry) fromLedger(d, entry)
      withStep(d, step)
    }
  }
  await Promise.all([...byKey.values()].filter((d) => !d.step).map((d) => describe(ctx, d)))
  await Promise.all(
    [...byKey.values()].filter((d) => d.killIntent?.killStepId).map((d) => checkKill(ctx, d)),
  )

  const linkedMarkers = new Set([...byKey.values()].map((d) => d.markerUri).filter(Boolean))
  for (const marker of scan.markers) {
    if (linkedMarkers.has(marker.uri)) continue
    // A marker no step is known for: an app's own marker, a driver on another cluster, or a
    // marker the action wrote before a crash kept it from submitting (or recording) the step.
    const d = add(marker.uri, marker.body?.clusterId ?? clusterId, 'marker')
    d.markerUri = marker.uri
    d.deploymentId = marker.body?.deploymentId
    if (marker.body) await findSubmitted(ctx, d, marker, history)
  }
  const candidates = [...byKey.values()].map((d) => attachReports(d, scan))
  return {
    markers: scan.markers,
    acks: scan.acks,
    candidates: linkOwnMarkers(candidates),
    ledger,
    ...(current ? { current } : {}),
    otherActiveSteps: active.filter((s) => !belongsToApp(s, app) && !isTerminal(s.state)),
  }
}

/** A candidate with what the stop loop read since: a fresh scan of the reports, its step. */
export function refreshed(
  c: DriverCandidate,
  scan: MarkerScan | undefined,
  step?: StepInfo,
): DriverCandidate {
  const ack = c.markerUri ? scan?.acks.find((a) => a.markerUri === c.markerUri) : undefined
  const progress = c.markerUri ? scan?.progress.get(c.markerUri) : undefined
  return {
    ...c,
    ...(step ? { step } : {}),
    ...(ack ? { ack } : {}),
    ...(progress?.lastModified ? { progressAt: progress.lastModified } : {}),
  }
}

interface Draft {
  key: string
  clusterId: string
  via: Set<CandidateSource>
  killTags: string[]
  stepId?: string
  deploymentId?: string
  markerUri?: string
  step?: StepInfo
  killIntent?: LedgerEntry['killIntent']
  neverSubmitted?: boolean
  stepUnknown?: 'cluster-gone' | 'step-unknown'
  killConfirmedBy?: string
}

function withStep(d: Draft, step: StepInfo): void {
  d.step = step
  d.stepId = step.id
  d.markerUri ??= markerUriOfStep(step.args)
  d.deploymentId ??=
    parseStepName(step.name)?.deploymentId ?? d.markerUri?.slice(d.markerUri.lastIndexOf('/') + 1)
  if (d.killTags.length === 0 && d.deploymentId) d.killTags = tagsOfStep(step, d.deploymentId)
}

function fromLedger(d: Draft, entry: LedgerEntry): void {
  d.stepId ??= entry.stepId
  d.deploymentId ??= entry.deploymentId
  d.markerUri ??= entry.markerUri
  if (entry.tags.length > 0) d.killTags = [...entry.tags]
  if (entry.killIntent) d.killIntent = entry.killIntent
}

function tagsOfStep(step: StepInfo, deploymentId: string): string[] {
  const start = step.args[0] === 'spark-submit' ? 1 : 0
  const tags = parseSparkSubmitArgs(step.args.slice(start)).confs.get(TAGS_CONF) ?? ''
  return deploymentTagsIn(tags.split(','), deploymentId)
}

async function describe(ctx: RolloverContext, d: Draft): Promise<void> {
  if (!d.stepId) return
  try {
    withStep(d, await ctx.emr.describeStep(d.clusterId, d.stepId))
  } catch (error) {
    if (isTransient(error) || ctx.signal.aborted) throw error
    d.stepUnknown = (await clusterIsGone(ctx, d.clusterId)) ? 'cluster-gone' : 'step-unknown'
    ctx.log.info(
      `EMR does not describe step ${d.stepId} on ${d.clusterId} (${describeError(error)})${d.stepUnknown === 'cluster-gone' ? ': the cluster is gone' : ''}.`,
    )
  }
}

/** A kill an earlier run started and did not see end: did its kill step confirm it? */
async function checkKill(ctx: RolloverContext, d: Draft): Promise<void> {
  const killStepId = d.killIntent?.killStepId as string
  try {
    const kill = await ctx.emr.describeStep(d.clusterId, killStepId)
    if (kill.state === 'COMPLETED') d.killConfirmedBy = killStepId
  } catch (error) {
    if (isTransient(error) || ctx.signal.aborted) throw error
  }
}

async function clusterIsGone(ctx: RolloverContext, clusterId: string): Promise<boolean> {
  if (clusterId === ctx.clusterId) return false
  try {
    await ctx.emr.resolveCluster({ kind: 'id', id: clusterId })
    return false
  } catch (error) {
    if (error instanceof ClusterGone) return true
    if (isTransient(error)) throw error
    return false
  }
}

/** One ListSteps page per cluster at most, asked only when needed. */
class RecentSteps {
  private readonly ctx: RolloverContext
  private readonly pages = new Map<string, Promise<StepInfo[]>>()

  constructor(ctx: RolloverContext) {
    this.ctx = ctx
  }

  of(clusterId: string): Promise<StepInfo[]> {
    let page = this.pages.get(clusterId)
    if (!page) {
      page = this.ctx.emr.listRecentSteps(clusterId)
      this.pages.set(clusterId, page)
    }
    return page
  }
}

/** How far before a marker's write its step may have been created (EMR's and S3's clocks). */
const HISTORY_MARGIN_MS = 5 * 60_000

/**
 * For a marker the action wrote without recording a step: the step of its deployment in its
 * cluster's recent history, or proof that none was submitted (the history reaches back past the
 * marker's creation and holds no step of that deployment).
 */
async function findSubmitted(
  ctx: RolloverContext,
  d: Draft,
  marker: Marker,
  history: RecentSteps,
): Promise<void> {
  const deploymentId = marker.body?.deploymentId
  if (!deploymentId) return
  let steps: StepInfo[]
  try {
    steps = await history.of(d.clusterId)
  } catch (error) {
    if (isTransient(error) || ctx.signal.aborted) throw error
    ctx.log.warning(
      `Cannot list the steps of ${d.clusterId} (${describeError(error)}); the driver of ${marker.uri} stays possibly alive.`,
    )
    return
  }
  const step = steps.find(
    (s) => belongsToApp(s, ctx.app) && parseStepName(s.name)?.deploymentId === deploymentId,
  )
  if (step) {
    d.key = step.id
    withStep(d, step)
    return
  }
  const writtenAt = marker.lastModified?.getTime()
  const oldest = steps.at(-1)?.createdAt?.getTime()
  const complete =
    steps.length < 50 ||
    (oldest !== undefined && writtenAt !== undefined && oldest < writtenAt - HISTORY_MARGIN_MS)
  if (complete) d.neverSubmitted = true
}

async function readCurrentOrWarn(ctx: RolloverContext): Promise<CurrentRecord | undefined> {
  try {
    return await readCurrent(ctx.store, ctx.layout)
  } catch (error) {
    if (isTransient(error)) throw error
    ctx.log.warning(`Cannot read current.json (${describeError(error)}); going on without it.`)
    return undefined
  }
}

function attachReports(d: Draft, scan: MarkerScan): DriverCandidate {
  const ack = d.markerUri ? scan.acks.find((a) => a.markerUri === d.markerUri) : undefined
  const progress = d.markerUri ? scan.progress.get(d.markerUri) : undefined
  const applicationId =
    typeof ack?.body.applicationId === 'string' ? ack.body.applicationId : undefined
  return {
    key: d.key,
    clusterId: d.clusterId,
    ...(d.stepId ? { stepId: d.stepId } : {}),
    ...(d.deploymentId ? { deploymentId: d.deploymentId } : {}),
    ...(d.markerUri ? { markerUri: d.markerUri } : {}),
    killTags: d.killTags,
    via: [...d.via],
    ...(d.step ? { step: d.step } : {}),
    ...(ack ? { ack } : {}),
    ...(progress?.lastModified ? { progressAt: progress.lastModified } : {}),
    ...(d.killIntent ? { killIntent: d.killIntent } : {}),
    ...(applicationId ? { applicationId } : {}),
    ...(d.neverSubmitted ? { neverSubmitted: true } : {}),
    ...(d.stepUnknown ? { stepUnknown: d.stepUnknown } : {}),
    ...(d.killConfirmedBy ? { killConfirmedBy: d.killConfirmedBy } : {}),
  }
}

/**
 * An application that writes its own marker (keyed by its YARN application id, the original
 * pattern) is the same driver as the step whose reports name that application: one candidate.
 */
function linkOwnMarkers(candidates: DriverCandidate[]): DriverCandidate[] {
  const byApplication = new Map(
    candidates.filter((c) => c.stepId && c.applicationId).map((c) => [c.applicationId, c]),
  )
  return candidates.filter((c) => {
    if (c.stepId || !c.markerUri) return true
    const key = parseS3Location(c.markerUri)?.key.split('/').at(-1)
    return !(key && /^application_\d+_\d+$/.test(key) && byApplication.has(key))
  })
}
