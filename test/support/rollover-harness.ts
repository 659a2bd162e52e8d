// Shared setup of the rollover tests: a fake clock in auto mode, the MemoryStore, the FakeEmr, a
// settings object, and helpers to seed a running deployment and to run one rollover.
import { AppLayout } from '../../src/contract/layout.ts'
import { appIdentity, deploymentTag } from '../../src/contract/identity.ts'
import type { MarkerBody } from '../../src/contract/markers.ts'
import { newReport, type RunReport } from '../../src/rollover/report.ts'
import { runRollover, type RolloverDeps } from '../../src/rollover/run.ts'
import { buildSparkStep } from '../../src/contract/step.ts'
import type { Log } from '../../src/log.ts'
import type { RunContext } from '../../src/settings/github-run.ts'
import type { Settings } from '../../src/settings/settings.ts'
import { FakeClock } from './fake-clock.ts'
import { jarBytes } from './jars.ts'
import { FakeEmr, type DriverScript, type FakeEmrOptions, type FakeStep } from './fake-emr.ts'
import { MemoryStore } from './memory-store.ts'

export const BUCKET = 'data-lake'
export const APP = 'orders'
export const CLUSTER = 'j-FAKE'
export const PREFIX = { bucket: BUCKET, key: 'rollover' }
export const LAYOUT = new AppLayout(PREFIX, APP)
export const APP_IDENTITY = appIdentity(PREFIX, APP)
export const MARKERS = `s3://${BUCKET}/rollover/${APP}/markers/`
export const LOCK_URI = `s3://${BUCKET}/rollover/${APP}/lock`
export const CURRENT_URI = `s3://${BUCKET}/rollover/${APP}/current.json`
export const LEDGER_URI = `s3://${BUCKET}/rollover/${APP}/drivers.json`
export const NEW_JAR = `s3://${BUCKET}/jars/orders-2.0.jar`
export const OLD_JAR = `s3://${BUCKET}/jars/orders-1.0.jar`
export const GITHUB: RunContext = {
  repository: 'acme/data',
  runId: '4242',
  runAttempt: '1',
  runUrl: 'https://github.com/acme/data/actions/runs/4242/attempts/1',
  sha: 'abc123',
}

export const markerUri = (deploymentId: string): string => `${MARKERS}${deploymentId}`
export const recordUri = (deploymentId: string): string =>
  `s3://${BUCKET}/rollover/${APP}/deployments/${deploymentId}.json`

export function makeSettings(overrides: Partial<Settings> = {}): Settings {
  return {
    appName: APP,
    cluster: { kind: 'id', id: CLUSTER },
    jar: { kind: 's3', location: { bucket: BUCKET, key: 'jars/orders-2.0.jar' } },
    mainClass: 'com.acme.orders.Main',
    sparkSubmitArgs: ['--conf', 'spark.executor.memory=4g', '--num-executors', '4'],
    appArgs: ['--topic', 'orders'],
    markerPrefix: PREFIX,
    artifactPrefix: { bucket: BUCKET, key: 'rollover/artifacts' },
    stopTimeoutMs: 15 * 60_000,
    onStopTimeout: 'fail',
    startTimeoutMs: 10 * 60_000,
    stableForMs: 2 * 60_000,
    rollback: true,
    strategy: 'stop-start',
    verifyBy: 'auto',
    readyBatches: 2,
    lockTimeoutMs: 10 * 60_000,
    dryRun: false,
    ...overrides,
  }
}

export interface World {
  readonly clock: FakeClock
  readonly store: MemoryStore
  readonly emr: FakeEmr
  readonly lines: string[]
  readonly log: Log
  /** Store and EMR calls in one order: 's3:<op> <uri>' and 'emr:<op> <step id or name>'. */
  readonly events: string[]
  /** Set once the first rollover let the seeded drivers run for a while. */
  warm?: boolean
}

const worlds: World[] = []

export function makeWorld(options: Omit<FakeEmrOptions, 'clock' | 'store'> = {}): World {
  const clock = new FakeClock({ auto: true })
  const store = new MemoryStore(() => clock.now())
  const emr = new FakeEmr({ clock, store, ...options })
  const lines: string[] = []
  const events: string[] = []
  store.beforeCall = (call) => void events.push(`s3:${call.op} ${call.uri}`)
  emr.beforeCall = (call) =>
    void events.push(`emr:${call.op} ${call.stepId ?? call.step?.name ?? ''}`.trimEnd())
  const log: Log = {
    info: (m) => void lines.push(`info: ${m}`),
    warning: (m) => void lines.push(`warning: ${m}`),
    debug: (m) => void lines.push(`debug: ${m}`),
    group: (_name, fn) => fn(),
  }
  store.seedBytes(NEW_JAR, jarBytes({ tag: 'new' }))
  store.seedBytes(OLD_JAR, jarBytes({ tag: 'old' }))
  const world = { clock, store, emr, lines, log, events }
  worlds.push(world)
  return world
}

/** For afterEach: stops the fake drivers and timers of every world made so far. */
export function disposeWorlds(): void {
  for (const w of worlds.splice(0)) w.emr.dispose()
}

export interface Seeded {
  readonly deploymentId: string
  readonly markerUri: string
  readonly step: FakeStep
}

export interface SeedOptions {
  /** Write the marker (default true). */
  readonly marker?: boolean
  readonly jar?: string
  /** Record it in the driver ledger, as this version of the action does (default false: as an
   * earlier version, which kept no ledger, left it). */
  readonly ledger?: boolean
  /** Record it in current.json as the last verified deployment (default false). */
  readonly current?: boolean
  /** How current.json says it was verified (default: not said, as records of 1.x). */
  readonly verifiedBy?: 'progress' | 'emr-state'
  readonly clusterId?: string
  /** Another app: its identity and marker prefix (default: orders under s3://data-lake/rollover). */
  readonly prefix?: { readonly bucket: string; readonly key: string }
  readonly appName?: string
  /** As the action named and tagged steps before identities: `rollover:<app>:<id>`, tags
   * `rollover-<app>` and `rollover-<app>-<id>`. */
  readonly legacy?: boolean
  /** The step's runtime role (a cluster with runtime roles). */
  readonly executionRoleArn?: string
}

/** A deployment made by an earlier run: its marker (with step id) and its RUNNING step. */
export function seedDeployment(
  w: World,
  deploymentId = 'd-001',
  script: DriverScript = {},
  options: SeedOptions = {},
): Seeded {
  const prefix = options.prefix ?? PREFIX
  const appName = options.appName ?? APP
  const app = appIdentity(prefix, appName)
  const clusterId = options.clusterId ?? CLUSTER
  const uri = `${app.markersUri}${deploymentId}`
  const built = buildSparkStep({
    app,
    deploymentId,
    mainClass: 'com.acme.orders.Main',
    sparkSubmitArgs: ['--conf', 'spark.executor.memory=2g'],
    appArgs: ['--topic', 'orders'],
    jarUri: options.jar ?? OLD_JAR,
    markerUri: uri,
  })
  const legacyTags = `rollover-${appName},rollover-${appName}-${deploymentId}`.toLowerCase()
  const spec = options.legacy
    ? {
        ...built,
        name: `rollover:${appName}:${deploymentId}`,
        args: built.args.map((a) =>
          a.startsWith('spark.yarn.tags=') ? `spark.yarn.tags=${legacyTags}` : a,
        ),
      }
    : built
  const step = w.emr.seedRunningStep(spec, script, clusterId, options.executionRoleArn)
  if (options.marker ?? true) {
    const body: MarkerBody = {
      version: 1,
      app: appName,
      deploymentId,
      clusterId,
      jar: options.jar ?? OLD_JAR,
      createdAt: new Date(w.clock.now() - 86_400_000).toISOString(),
      stepId: step.id,
    }
    w.store.seed(uri, JSON.stringify(body, null, 2))
  }
  const appUri = `s3://${prefix.bucket}/${prefix.key}/${appName}`
  if (options.ledger) {
    const ledgerUri = `${appUri}/drivers.json`
    const entries = w.store.json<{ drivers: unknown[] }>(ledgerUri)?.drivers ?? []
    const entry = {
      deploymentId,
      clusterId,
      stepName: spec.name,
      markerUri: uri,
      tags: [deploymentTag(app, deploymentId)],
      launchedAt: new Date(w.clock.now() - 86_400_000).toISOString(),
      stepId: step.id,
    }
    w.store.seed(ledgerUri, JSON.stringify({ version: 1, drivers: [...entries, entry] }))
  }
  if (options.current) {
    w.store.seed(
      `${appUri}/current.json`,
      JSON.stringify({
        version: 1,
        app: appName,
        clusterId,
        deploymentId,
        stepId: step.id,
        markerUri: uri,
        jarUri: options.jar ?? OLD_JAR,
        step: spec,
        ...(options.verifiedBy ? { verifiedBy: options.verifiedBy } : {}),
      }),
    )
  }
  return { deploymentId, markerUri: uri, step }
}

export interface RunOptions {
  readonly settings?: Partial<Settings>
  readonly deploymentId?: string
  readonly signal?: AbortSignal
  readonly timings?: RolloverDeps['timings']
  /** Fake time the seeded drivers run before the first rollover of the world (default 5s). */
  readonly warmUpMs?: number
}

export interface RunOutcome {
  readonly report: RunReport
  readonly error?: Error
  readonly startedAt: number
  readonly endedAt: number
}

export async function rollover(w: World, options: RunOptions = {}): Promise<RunOutcome> {
  const deploymentId = options.deploymentId ?? 'd-002'
  const report = newReport(deploymentId, APP, 'eu-west-1')
  // Seeded drivers have been processing for a while when a workflow starts.
  if (!w.warm) {
    w.warm = true
    await w.clock.advance(options.warmUpMs ?? 5_000)
  }
  const startedAt = w.clock.now()
  let error: Error | undefined
  try {
    await runRollover(
      {
        settings: makeSettings(options.settings),
        emr: w.emr,
        store: w.store,
        clock: w.clock,
        log: w.log,
        deploymentId,
        github: GITHUB,
        signal: options.signal,
        timings: options.timings,
      },
      report,
    )
  } catch (e) {
    error = e as Error
  }
  return { report, error, startedAt, endedAt: w.clock.now() }
}

/** Keys under markers/: marker objects and `.stopped` acknowledgements. */
/** Markers and `.stopped` acknowledgements (the drivers' `.progress` and `.ready` left out). */
export function markerKeys(w: World): string[] {
  return w.store.keysUnder(MARKERS).filter((k) => !k.endsWith('.progress') && !k.endsWith('.ready'))
}

export function onlyMarkers(w: World): string[] {
  return markerKeys(w).filter((k) => !k.endsWith('.stopped'))
}

export function markerBody(w: World, uri: string): MarkerBody | undefined {
  return w.store.json<MarkerBody>(uri)
}

/** Index in `w.events` of the first event matching, or -1. */
export function eventIndex(w: World, match: (event: string) => boolean): number {
  return w.events.findIndex(match)
}

/** Runs `fn` `afterMs` (clock time) after the first delete of `uri`, e.g. a cancel or an abort. */
export function whenDeleted(w: World, uri: string, afterMs: number, fn: () => void): void {
  const previous = w.store.beforeCall
  let fired = false
  w.store.beforeCall = async (call) => {
    await previous?.(call)
    if (fired || call.op !== 'delete' || call.uri !== uri) return
    fired = true
    void w.clock.sleep(afterMs).then(fn)
  }
}
