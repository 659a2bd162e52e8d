// `npm run bench` (the default bench, also `npm run bench -- strategies`): the processing gap of
// the two strategies, stop-start and standby, measured in one run on the realistic timing profile
// (test/emulator/profiles.ts) with the new driver taking 30 s to start (YARN application master,
// SparkContext, executors), as a rollover on EMR does.
//
//   npm run bench                              one good and one bad rollover per strategy
//   npm run bench -- strategies --runs 2 [--stable-for 10s] [--verbose]
//
// Two apps on one stack, one per strategy, each on its own cluster of step concurrency 2, with
// the same driver, stream and inputs (so the same drain: marker polled every 2 s, a batch in
// flight for 4 s). They are first deployed (not measured), then rolled over side by side with the
// bundled action (dist/index.js): a good build, then a bad build (crash-after-start: the new
// driver dies at start-up, in each YARN attempt). Every figure comes from outside the action: the
// drivers' activity log, a recording proxy in front of the EMR emulator (when each call came and
// what it answered), the S3 requests the action made (the stack's proxy) and the emulator's
// steps. Definitions are printed under the tables.
import { cpus, loadavg } from 'node:os'
import { DeleteObjectCommand } from '@aws-sdk/client-s3'
import type { ActivityEvent } from '../contract.ts'
import type { ActionRun } from '../run-action.ts'
import { startStack, type Stack, type StackApp } from '../stack.ts'
import { EmrRecorder } from './emr-recorder.ts'
import {
  cell,
  dataVerdict,
  durationMs,
  expectSuccess,
  positiveInt,
  ratio,
  stat,
  until,
  UsageError,
  value,
} from './measure.ts'

// ------------------------------------------------------------------ options

export interface StrategiesOptions {
  /** Good + bad rollovers per strategy. */
  readonly runs: number
  /** The action's stable-for input. */
  readonly stableFor: string
  readonly verbose: boolean
}

export const USAGE = `usage: npm run bench -- [strategies] [--runs N] [--stable-for 10s] [--verbose]

  stop-start vs standby on the realistic profile, the new driver starting in 30 s: per run, a
  good rollover and a bad-build rollover (crash-after-start) of each strategy, side by side
  (about 4 minutes for one run, 3 more per further run)

  --runs N        rounds of good + bad rollovers (default 1)
  --stable-for D  the action's stable-for input (default 10s)
  --verbose       stream the actions' logs to stderr`

/** The options, or 'help' for --help. Bad arguments throw UsageError. */
export function parseStrategiesArgs(argv: readonly string[]): StrategiesOptions | 'help' {
  const options = { runs: 1, stableFor: '10s', verbose: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const next = () => {
      const v = argv[++i]
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a value`)
      return v
    }
    if (arg === '--help' || arg === '-h') return 'help'
    else if (arg === '--runs') options.runs = positiveInt(arg, next())
    else if (arg === '--stable-for') {
      options.stableFor = next()
      durationMs(options.stableFor, arg)
    } else if (arg === '--verbose') options.verbose = true
    else throw new UsageError(`unknown argument ${arg}\n${USAGE}`)
  }
  return options
}

// ------------------------------------------------------------------ pure measurements

export const STRATEGIES = ['stop-start', 'standby'] as const
export type Strategy = (typeof STRATEGIES)[number]

/** The new driver's start-up (ApplicationMaster, SparkContext, executors) in every measured run. */
export const NEW_DRIVER_START_MS = 30_000

/** A batch a driver committed: batch-start to batch-end of one process. */
export interface CommittedBatch {
  readonly pid: number
  readonly stepId?: string
  readonly start: number
  readonly end: number
  /** batch-start and batch-end times. */
  readonly from: number
  readonly to: number
}

/** Committed batches in the order they started; a batch its driver died in is left out. */
export function committedBatches(events: readonly ActivityEvent[]): CommittedBatch[] {
  const open = new Map<number, ActivityEvent>()
  const done: CommittedBatch[] = []
  for (const e of [...events].sort((a, b) => a.t - b.t)) {
    if (e.event === 'batch-start') open.set(e.pid, e)
    else if (e.event === 'batch-end') {
      const started = open.get(e.pid)
      open.delete(e.pid)
      if (!started) continue
      done.push({
        pid: e.pid,
        ...(e.stepId === undefined ? {} : { stepId: e.stepId }),
        start: started.start ?? -1,
        end: started.end ?? -1,
        from: started.t,
        to: e.t,
      })
    } else if (e.event === 'app-exit' || e.event === 'crash') open.delete(e.pid)
  }
  return done.sort((a, b) => a.from - b.from)
}

/** The old driver's last batch end → the new driver's first batch start (undefined: not seen). */
export function processingGapMs(
  events: readonly ActivityEvent[],
  oldStepId: string,
  newStepId: string,
): number | undefined {
  const lastOld = events
    .filter((e) => e.event === 'batch-end' && e.stepId === oldStepId)
    .reduce<number | undefined>((t, e) => Math.max(t ?? e.t, e.t), undefined)
  const firstNew = events
    .filter((e) => e.event === 'batch-start' && e.stepId === newStepId)
    .reduce<number | undefined>((t, e) => Math.min(t ?? e.t, e.t), undefined)
  return lastOld === undefined || firstNew === undefined ? undefined : firstNew - lastOld
}

/**
 * What the stream lost during a run: the longest time between one driver's last committed batch
 * and the next driver's first, over the handovers whose last batch ended within the window. 0 when
 * no handover happened: the same driver processed throughout. A stream whose last driver is gone
 * with no successor yet is still losing: until `now`.
 */
export function streamGapMs(
  events: readonly ActivityEvent[],
  window: { readonly from: number; readonly to: number },
  now: number = window.to,
): number {
  const batches = committedBatches(events)
  const within = (b: CommittedBatch) => b.to >= window.from && b.to <= window.to
  let gap = 0
  for (let i = 1; i < batches.length; i++) {
    const before = batches[i - 1] as CommittedBatch
    const after = batches[i] as CommittedBatch
    if (before.pid !== after.pid && within(before)) gap = Math.max(gap, after.from - before.to)
  }
  const last = batches.at(-1)
  const ended = (e: ActivityEvent) =>
    e.pid === last?.pid && e.t >= last.to && ['app-exit', 'crash', 'stopped'].includes(e.event)
  if (last && within(last) && events.some(ended)) gap = Math.max(gap, now - last.to)
  return gap
}

export interface GoodSample {
  readonly strategy: Strategy
  /** The old marker deleted → the old driver exited. */
  readonly drainMs: number
  /** The old driver's last batch end → the new driver's first batch start. */
  readonly gapMs: number
  /**
   * The old driver exited → the action's go for the new one (stop-start: AddJobFlowSteps
   * received; standby: the new marker rewritten to `run`).
   */
  readonly exitToGoMs: number
  /** The action's go → the new driver's first batch start. */
  readonly goToFirstBatchMs: number
  /** AddJobFlowSteps received → the new driver up (stop-start: it read its checkpoint; standby: `.ready`). */
  readonly newStartMs: number
  readonly runMs: number
  readonly emrCalls: number
  readonly result: string
}

export interface BadSample {
  readonly strategy: Strategy
  /** The old marker deleted → the old driver exited; NaN when it was never asked to stop. */
  readonly drainMs: number
  /** streamGapMs over the run. */
  readonly streamGapMs: number
  /** The rollback step submitted → its driver's first batch; NaN without a rollback. */
  readonly rollbackMs: number
  /** The bad step submitted → EMR says it FAILED. */
  readonly failedAfterMs: number
  readonly runMs: number
  readonly emrCalls: number
  readonly result: string
  /** The old driver was asked to stop, or another driver processed after it. */
  readonly interrupted: boolean
}

export interface Goal {
  readonly ok: boolean
  readonly text: string
}

const median = (values: readonly number[]): number => {
  const finite = values.filter(Number.isFinite)
  return finite.length === 0 ? Number.NaN : stat(finite).median
}
const s = (ms: number) => `${value(ms, 's')} s`
const finite = (...values: number[]) => values.every(Number.isFinite)

/**
 * The issue's goals: the standby gap at most the drain + 2 s, and at least 10× shorter than the
 * stop-start gap when the new driver takes 30 s to start; a bad build never interrupts the old
 * driver with standby (a 0 s gap), while with stop-start the stream loses the gap plus the
 * rollback. A value not measured fails its goal.
 */
export function goalChecks(
  good: Readonly<Record<Strategy, readonly GoodSample[]>>,
  bad: Readonly<Record<Strategy, readonly BadSample[]>>,
): Goal[] {
  const goals: Goal[] = []
  const standby = good.standby
  const perRun = standby.map((x) => `${s(x.gapMs)} ≤ ${s(x.drainMs)} + 2 s`)
  goals.push({
    ok:
      standby.length > 0 &&
      standby.every((x) => finite(x.gapMs, x.drainMs) && x.gapMs <= x.drainMs + 2000),
    text: `standby gap ≤ drain + 2 s: ${perRun.join('; ') || 'not measured'}`,
  })
  const [stopStartGap, standbyGap] = [
    median(good['stop-start'].map((x) => x.gapMs)),
    median(standby.map((x) => x.gapMs)),
  ]
  goals.push({
    ok: finite(stopStartGap, standbyGap) && stopStartGap >= 10 * standbyGap,
    text: `standby gap ≥ 10× shorter than stop-start's (new driver start ${s(NEW_DRIVER_START_MS)}): ${ratio(stopStartGap, standbyGap)} (${s(stopStartGap)} / ${s(standbyGap)})`,
  })
  const badStandby = bad.standby
  goals.push({
    ok: badStandby.length > 0 && badStandby.every((x) => !x.interrupted && x.streamGapMs === 0),
    text: `bad build, standby: the old driver's processing never interrupted (a 0 s gap): ${
      badStandby
        .map((x) => `${s(x.streamGapMs)}${x.interrupted ? ', interrupted' : ', never stopped'}`)
        .join('; ') || 'not measured'
    }`,
  })
  const badStopStart = bad['stop-start']
  goals.push({
    ok:
      badStopStart.length > 0 &&
      badStopStart.every(
        (x) =>
          finite(x.streamGapMs, x.rollbackMs, stopStartGap) &&
          x.streamGapMs >= stopStartGap + x.rollbackMs,
      ),
    text: `bad build, stop-start: the stream loses the gap plus the rollback: ${
      badStopStart
        .map((x) => `${s(x.streamGapMs)} ≥ gap ${s(stopStartGap)} + rollback ${s(x.rollbackMs)}`)
        .join('; ') || 'not measured'
    }`,
  })
  return goals
}

// ------------------------------------------------------------------ the bench

/** The first deploys (not measured) start faster: less backlog, a shorter bench. */
const SETUP_START_MS = 5_000
/** The bad build dies this long after its start-up (in every YARN attempt). */
const CRASH_AFTER_MS = 2_000

/** Action inputs of every run (the realistic e2e test's). */
const SLOW = { 'start-timeout': '150s', 'stop-timeout': '90s', 'lock-timeout': '30s' }

interface BenchApp {
  readonly strategy: Strategy
  readonly app: StackApp
  versions: number
}

interface Observed {
  readonly run: ActionRun
  readonly startedAt: number
  readonly endedAt: number
  readonly oldStepId: string
  readonly oldMarkerKeys: readonly string[]
  /** The first step this run submitted (the new version's). */
  readonly submittedStepId?: string
}

/** `npm run bench [-- strategies] [...]`: stop-start against standby. Exit code. */
export async function strategiesBench(argv: string[]): Promise<number> {
  const options = parseStrategiesArgs(argv)
  if (options === 'help') {
    console.log(USAGE)
    return 0
  }
  return main(options)
}

async function main(options: StrategiesOptions): Promise<number> {
  const started = Date.now()
  const log = (line: string) => console.log(line)
  const progress = (line: string) => process.stderr.write(`  · ${line}\n`)
  const stack = await startStack({
    profile: 'realistic',
    appName: 'bench-unused',
    stepConcurrencyLevel: 2,
    extraClusters: STRATEGIES.map((strategy) => ({
      name: `bench-${strategy}`,
      stepConcurrencyLevel: 2,
    })),
    timings: { driverStartDelayMs: [SETUP_START_MS, SETUP_START_MS] },
  })
  const recorder = await EmrRecorder.start(stack.emrEndpoint)
  try {
    const env = { ...stack.env, AWS_ENDPOINT_URL_EMR: recorder.endpoint }
    const clusters = [...stack.emr.state.clusters.values()]
    const apps: BenchApp[] = await Promise.all(
      STRATEGIES.map(async (strategy) => ({
        strategy,
        versions: 0,
        app: await stack.addApp(`bench-${strategy}`, {
          clusterId: clusters.find((c) => c.name === `bench-${strategy}`)?.id as string,
        }),
      })),
    )
    log(
      `emr-streaming-rollover bench: stop-start vs standby, realistic profile, new driver start ` +
        `${value(NEW_DRIVER_START_MS, 's')} s, step concurrency 2, ${options.runs} run(s), ` +
        `stable-for ${options.stableFor}, ${cpus().length} CPUs (load ${loadavg()[0]?.toFixed(1)}), action = dist/index.js`,
    )

    const inputs = (a: BenchApp, jar: string, strategy: string) =>
      a.app.inputs({ ...SLOW, 'stable-for': options.stableFor, strategy, jar })
    const newJar = (a: BenchApp, behavior: 'ok' | 'crash-after-start') => {
      a.versions += 1
      return stack.makeJar(`v${a.versions}`, behavior, {
        upload: true,
        ...(behavior === 'crash-after-start' ? { crashAfterMs: CRASH_AFTER_MS } : {}),
      })
    }
    const runAction = async (a: BenchApp, jar: string, strategy: string): Promise<Observed> => {
      const live = liveDriver(stack, a.app)
      const oldMarkerKeys = await a.app.markers()
      const startedAt = Date.now()
      const run = await stack.runAction(inputs(a, jar, strategy), {
        env,
        timeoutMs: 6 * 60_000,
        ...(options.verbose
          ? { onOutput: (chunk) => process.stderr.write(prefixed(a.strategy, chunk)) }
          : {}),
      })
      const submittedStepId = /Submitted step (s-\w+)/.exec(run.stdout)?.[1]
      return {
        run,
        startedAt,
        endedAt: Date.now(),
        oldStepId: live ?? '',
        oldMarkerKeys,
        ...(submittedStepId ? { submittedStepId } : {}),
      }
    }
    /** Every app's live driver committed two batches: a rollover stops a driver at work. */
    const working = () =>
      until(
        async () => {
          const events = await stack.readActivity()
          return apps.every((a) => {
            const stepId = liveDriver(stack, a.app)
            return (
              stepId !== undefined &&
              events.filter((e) => e.event === 'batch-end' && e.stepId === stepId).length >= 2
            )
          })
        },
        120_000,
        'every running driver to commit two batches',
      )

    // ---- first deploys (not measured): v1 of each app, with a shorter start-up.
    progress(`first deploys of both apps (not measured, ${value(SETUP_START_MS, 's')} s start)`)
    const firsts = await Promise.all(
      apps.map(async (a) => runAction(a, await newJar(a, 'ok'), 'stop-start')),
    )
    for (const f of firsts) expectSuccess(f.run, 'a first deploy')
    await working()
    stack.emr.timings.driverStartDelayMs = [NEW_DRIVER_START_MS, NEW_DRIVER_START_MS]

    const good: Record<Strategy, GoodSample[]> = { 'stop-start': [], standby: [] }
    const bad: Record<Strategy, BadSample[]> = { 'stop-start': [], standby: [] }
    for (let run = 1; run <= options.runs; run++) {
      progress(`run ${run}: a good build, both strategies side by side`)
      const goods = await Promise.all(
        apps.map(async (a) => {
          const o = await runAction(a, await newJar(a, 'ok'), a.strategy)
          expectSuccess(o.run, `${a.strategy} rollover ${run}`)
          return [a, o] as const
        }),
      )
      const afterGood = await stack.readActivity()
      for (const [a, o] of goods) {
        const sample = measureGood(stack, recorder, streamOf(afterGood, a), a, o)
        good[a.strategy].push(sample)
        progress(
          `  ${a.strategy}: gap ${s(sample.gapMs)}, drain ${s(sample.drainMs)}, ${sample.emrCalls} EMR calls in ${s(sample.runMs)}`,
        )
      }
      await working()

      progress(`run ${run}: a bad build (crash-after-start), both strategies side by side`)
      const bads = await Promise.all(
        apps.map(
          async (a) =>
            [a, await runAction(a, await newJar(a, 'crash-after-start'), a.strategy)] as const,
        ),
      )
      // The stream's gap ends when a driver processes again (a rollback verified by EMR state
      // alone may still be starting when the action exits).
      await working()
      const afterBad = await stack.readActivity()
      for (const [a, o] of bads) {
        const sample = measureBad(stack, recorder, streamOf(afterBad, a), a, o)
        bad[a.strategy].push(sample)
        progress(
          `  ${a.strategy}: ${sample.result}, the stream's gap ${s(sample.streamGapMs)}, ${sample.emrCalls} EMR calls in ${s(sample.runMs)}`,
        )
      }
    }

    // ---- data safety of every stream, on quiet streams: stop every driver the contract's way.
    for (const a of apps) {
      for (const key of await a.app.markers()) {
        await stack.s3.send(new DeleteObjectCommand({ Bucket: stack.bucket, Key: key }))
      }
    }
    await until(() => stack.emr.liveApps().length === 0, 60_000, 'every driver to stop')
    const verdicts = await Promise.all(
      apps.map(async (a) => [a.strategy, dataVerdict(await a.app.checkInvariants())] as const),
    )

    // ---- report
    for (const line of table(good, bad, options.runs)) log(line)
    log('')
    for (const line of DEFINITIONS) log(line)
    log('')
    for (const g of goalChecks(good, bad)) log(`goal ${g.ok ? '✔' : '✘'} ${g.text}`)
    for (const [strategy, problem] of verdicts) {
      log(
        problem === undefined
          ? `data ✔ ${strategy}: contiguous from offset 0, each record processed once, never two drivers at once`
          : `data ✘ ${strategy}: ${problem}`,
      )
    }
    log(`bench took ${value(Date.now() - started, 's')} s`)
    return verdicts.every(([, problem]) => problem === undefined) ? 0 : 1
  } finally {
    await recorder.close()
    await stack.stop()
  }
}

/** The events of the app's stream only: the two apps' drivers write to one activity log. */
function streamOf(events: readonly ActivityEvent[], a: BenchApp): ActivityEvent[] {
  return events.filter((e) => e.state === a.app.statePrefix)
}

/** The step of the app's one live driver (the one processing its stream). */
function liveDriver(stack: Stack, app: StackApp): string | undefined {
  return stack.emr
    .liveApps()
    .filter((a) => a.clusterId === app.clusterId && a.state === app.statePrefix)
    .at(-1)?.stepId
}

function prefixed(strategy: string, chunk: string): string {
  return chunk
    .split('\n')
    .map((line, i, all) => (i === all.length - 1 && line === '' ? '' : `[${strategy}] ${line}`))
    .join('\n')
}

/** When EMR received the AddJobFlowSteps that created `stepId`. */
function submittedAt(recorder: EmrRecorder, stepId: string | undefined): number {
  return (
    recorder.calls.find((c) => c.op === 'AddJobFlowSteps' && stepId && c.stepIds?.includes(stepId))
      ?.receivedAt ?? Number.NaN
  )
}

/** Standby: the action's first write of the new marker after the old one's delete (the switch). */
function switchedAt(stack: Stack, markerUri: string, after: number): number {
  const key = markerUri.replace(/^s3:\/\/[^/]+\//, '')
  return (
    stack.s3Proxy.requests.find((r) => r.method === 'PUT' && r.key === key && r.t >= after)?.t ??
    Number.NaN
  )
}

/** The action's first request deleting one of the old markers, during the run. */
function markerDeletedAt(stack: Stack, o: Observed): number {
  return (
    stack.s3Proxy.requests.find(
      (r) => r.method === 'DELETE' && o.oldMarkerKeys.includes(r.key) && r.t >= o.startedAt,
    )?.t ?? Number.NaN
  )
}

function eventAt(
  events: readonly ActivityEvent[],
  stepId: string | undefined,
  name: ActivityEvent['event'],
  which: 'first' | 'last' = 'first',
): number {
  const matching = events.filter((e) => e.event === name && e.stepId === stepId)
  return (which === 'first' ? matching[0] : matching.at(-1))?.t ?? Number.NaN
}

function emrCallsOf(recorder: EmrRecorder, clusterId: string, o: Observed): number {
  return recorder.calls.filter(
    (c) => c.clusterId === clusterId && c.receivedAt >= o.startedAt && c.receivedAt <= o.endedAt,
  ).length
}

function measureGood(
  stack: Stack,
  recorder: EmrRecorder,
  events: readonly ActivityEvent[],
  a: BenchApp,
  o: Observed,
): GoodSample {
  const newStepId = o.run.outputs['step-id'] as string
  const up = eventAt(events, newStepId, a.strategy === 'standby' ? 'ready' : 'driver-start')
  const deletedAt = markerDeletedAt(stack, o)
  const exitedAt = eventAt(events, o.oldStepId, 'app-exit', 'last')
  const go =
    a.strategy === 'standby'
      ? switchedAt(stack, o.run.outputs['marker-uri'] ?? '', deletedAt)
      : submittedAt(recorder, newStepId)
  return {
    strategy: a.strategy,
    drainMs: exitedAt - deletedAt,
    gapMs: processingGapMs(events, o.oldStepId, newStepId) ?? Number.NaN,
    exitToGoMs: go - exitedAt,
    goToFirstBatchMs: eventAt(events, newStepId, 'batch-start') - go,
    newStartMs: up - submittedAt(recorder, newStepId),
    runMs: o.run.durationMs,
    emrCalls: emrCallsOf(recorder, a.app.clusterId, o),
    result: o.run.outputs.result || `failed (exit ${o.run.exitCode})`,
  }
}

function measureBad(
  stack: Stack,
  recorder: EmrRecorder,
  events: readonly ActivityEvent[],
  a: BenchApp,
  o: Observed,
): BadSample {
  const failed = o.submittedStepId ? stack.emr.step(o.submittedStepId) : undefined
  const failedAt = failed?.history.find((h) => h.state === 'FAILED')?.t ?? Number.NaN
  const rollbackStepId = o.run.outputs.result === 'rolled-back' ? o.run.outputs['step-id'] : ''
  const inRun = (e: ActivityEvent) => e.t >= o.startedAt && e.t <= o.endedAt
  const asked = events.some(
    (e) => e.event === 'stop-requested' && e.stepId === o.oldStepId && inRun(e),
  )
  const gap = streamGapMs(events, { from: o.startedAt, to: o.endedAt }, Date.now())
  const error = /^::error::(.*)$/m.exec(o.run.stdout)?.[1] ?? ''
  const result = o.run.outputs.result
    ? o.run.outputs.result
    : `${/Nothing changed/.test(error) ? 'nothing changed' : 'failed'} (no result)`
  return {
    strategy: a.strategy,
    drainMs: asked
      ? eventAt(events, o.oldStepId, 'app-exit', 'last') - markerDeletedAt(stack, o)
      : Number.NaN,
    streamGapMs: gap,
    rollbackMs: rollbackStepId
      ? eventAt(events, rollbackStepId, 'batch-start') - submittedAt(recorder, rollbackStepId)
      : Number.NaN,
    failedAfterMs: failedAt - submittedAt(recorder, o.submittedStepId),
    runMs: o.run.durationMs,
    emrCalls: emrCallsOf(recorder, a.app.clusterId, o),
    result: `${result}, exit ${o.run.exitCode}`,
    interrupted: asked || gap > 0,
  }
}

// ------------------------------------------------------------------ the tables

function cellOf(values: readonly number[], unit: 's' | 'n'): string {
  const measured = values.filter(Number.isFinite)
  if (measured.length === 0) return '—'
  return cell(stat(measured), unit)
}

/** "deployed" once, or "deployed ×2", "rolled-back, exit 1 / failed ...": each outcome once. */
function outcomes(values: readonly string[]): string {
  const counts = new Map<string, number>()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  return [...counts].map(([v, n]) => (n > 1 ? `${v} ×${n}` : v)).join(' / ') || '—'
}

export function table(
  good: Readonly<Record<Strategy, readonly GoodSample[]>>,
  bad: Readonly<Record<Strategy, readonly BadSample[]>>,
  runs: number,
): string[] {
  const w = [30, 28, 34]
  const row = (label: string, a: string, b: string, c = '') =>
    `${label.padEnd(w[0] as number)}${a.padEnd(w[1] as number)}${b.padEnd(w[2] as number)}${c}`.trimEnd()
  const g = (
    key:
      'drainMs' | 'gapMs' | 'exitToGoMs' | 'goToFirstBatchMs' | 'newStartMs' | 'runMs' | 'emrCalls',
  ) =>
    STRATEGIES.map((st) =>
      cellOf(
        good[st].map((x) => x[key]),
        key === 'emrCalls' ? 'n' : 's',
      ),
    )
  const b = (
    key: 'drainMs' | 'streamGapMs' | 'rollbackMs' | 'failedAfterMs' | 'runMs' | 'emrCalls',
  ) =>
    STRATEGIES.map((st) =>
      cellOf(
        bad[st].map((x) => x[key]),
        key === 'emrCalls' ? 'n' : 's',
      ),
    )
  const gapRatio = ratio(
    median(good['stop-start'].map((x) => x.gapMs)),
    median(good.standby.map((x) => x.gapMs)),
  )
  const lines = [
    '',
    row('good build (v → v+1)', 'stop-start', 'standby', 'stop-start/standby'),
    row('drain', ...(g('drainMs') as [string, string])),
    row('processing gap', ...(g('gapMs') as [string, string]), gapRatio),
    row("  old driver's exit → go", ...(g('exitToGoMs') as [string, string])),
    row('  go → first batch', ...(g('goToFirstBatchMs') as [string, string])),
    row('new-driver start', ...(g('newStartMs') as [string, string])),
    row('run wall time', ...(g('runMs') as [string, string])),
    row('EMR calls', ...(g('emrCalls') as [string, string])),
    row(
      'result',
      outcomes(good['stop-start'].map((x) => x.result)),
      outcomes(good.standby.map((x) => x.result)),
    ),
    '',
    row('bad build (crash-after-start)', 'stop-start', 'standby'),
    row('drain', ...(b('drainMs') as [string, string])),
    row("the stream's gap", ...(b('streamGapMs') as [string, string])),
    row('  of which the rollback', ...(b('rollbackMs') as [string, string])),
    row('new step failed after', ...(b('failedAfterMs') as [string, string])),
    row('run wall time', ...(b('runMs') as [string, string])),
    row('EMR calls', ...(b('emrCalls') as [string, string])),
    row(
      'result',
      outcomes(bad['stop-start'].map((x) => x.result)),
      outcomes(bad.standby.map((x) => x.result)),
    ),
    row(
      'old driver',
      outcomes(bad['stop-start'].map((x) => (x.interrupted ? 'stopped' : 'never interrupted'))),
      outcomes(bad.standby.map((x) => (x.interrupted ? 'stopped' : 'never interrupted'))),
    ),
  ]
  if (runs > 1) lines.push('median (min–max) over the runs.')
  return lines
}

export const DEFINITIONS = [
  'drain: the action deleted the old marker (its DELETE at the S3 proxy) → the old driver process exited',
  "processing gap: the old driver's last batch end → the new driver's first batch start (what the stream sees);",
  "  of it, old driver's exit → go: the action confirms the old step ended (EMR), then gives the new driver its",
  '  go (stop-start: AddJobFlowSteps received; standby: the new marker rewritten to run, its PUT at the S3 proxy);',
  "  go → first batch: the new driver's part (stop-start: PENDING + its start-up; standby: its next look at the marker)",
  'new-driver start: AddJobFlowSteps received by EMR → the new driver up (stop-start: it read its checkpoint;',
  `  standby: it wrote .ready); ${value(NEW_DRIVER_START_MS, 's')} s of it is the driver's start-up (YARN AM, SparkContext, executors), 4 s PENDING`,
  'run wall time: the action process, start → exit (includes stable-for); EMR calls: every call the action',
  '  made on its cluster (a recording proxy in front of the emulator)',
  "the stream's gap (bad build): the longest time between one driver's last committed batch and the next",
  "  driver's first during the run; 0 s when the old driver's batches never stopped (no other driver took over)",
  "  of which the rollback: the rollback step submitted → its driver's first batch",
  'new step failed after: AddJobFlowSteps received → EMR says the bad step FAILED (both YARN attempts crashed)',
  'both strategies: the same driver, stream (50 records/s, batches of 5 s of data, 4 s in flight, marker',
  '  polled every 2 s, by a standby every 1 s) and inputs; each app on its own cluster of step concurrency 2;',
  '  run side by side',
]
