// `npm run bench -- --apps 20 [--max-parallel 0,10,5]`: a GitHub matrix of rollovers on one
// emulated AWS account under EMR's default API quotas (emr-quotas.ts). Each value of
// --max-parallel is one round: N fresh apps are first deployed (not measured, quotas off), then
// rolled over at most max-parallel at a time (0: all at once, a matrix without max-parallel) with
// the bundled action (dist/index.js), each through its own recording proxy (emr-recorder.ts) in
// front of the one emulator, so that every call is counted per app while all of them share the
// account's token buckets. After the round every driver is stopped the contract's way and every
// app's stream gets its data verdict. Definitions are printed under the table.
//
//   npm run bench -- --apps 20                       one round, all at once
//   npm run bench -- matrix --apps 20 --max-parallel 0,10,5 [--clusters 2] [--stable-for 2s]
import { writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { DeleteObjectCommand } from '@aws-sdk/client-s3'
import type { ActionRun } from '../run-action.ts'
import { startStack, type Stack, type StackApp } from '../stack.ts'
import { EMR_ACCOUNT_QUOTA, EMR_QUOTAS } from '../emr-quotas.ts'
import { EmrRecorder, type EmrCall } from './emr-recorder.ts'
import {
  dataVerdict,
  durationMs,
  expectSuccess,
  positiveInt,
  sleep,
  stat,
  type Stat,
  until,
  UsageError,
  value,
} from './measure.ts'

// ------------------------------------------------------------------ options

export interface MatrixOptions {
  readonly apps: number
  /** One round per value; 0: all at once. */
  readonly maxParallel: readonly number[]
  readonly clusters: number
  readonly stableFor: string
  readonly json?: string
  readonly verbose: boolean
}

export const USAGE = `usage: npm run bench -- [matrix] [--apps N] [--max-parallel LIST] [--clusters K] [--stable-for 2s] [--json FILE] [--verbose]

  --apps N            apps rolled over in each round (default 20)
  --max-parallel LIST comma-separated, one round each, e.g. 0,10,5; 0 = all at once, as a
                      matrix without max-parallel (default 0)
  --clusters K        the apps spread round-robin over K clusters of the one account, each with
                      step concurrency = its apps (default 1: one shared streaming cluster)
  --stable-for D      the action's stable-for input (default 2s; the fast profile)
  --json FILE         also write every round and rollover as JSON
  --verbose           stream the actions' logs to stderr`

/** EMR's largest StepConcurrencyLevel. */
const MAX_STEP_CONCURRENCY = 256

/** The options, or 'help' for --help. Bad arguments throw UsageError. */
export function parseMatrixArgs(argv: readonly string[]): MatrixOptions | 'help' {
  const options: {
    apps: number
    maxParallel: number[]
    clusters: number
    stableFor: string
    json?: string
    verbose: boolean
  } = { apps: 20, maxParallel: [0], clusters: 1, stableFor: '2s', verbose: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const next = () => {
      const v = argv[++i]
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a value`)
      return v
    }
    if (arg === '--help' || arg === '-h') return 'help'
    else if (arg === '--apps') options.apps = positiveInt(arg, next())
    else if (arg === '--max-parallel') options.maxParallel = parallelList(next())
    else if (arg === '--clusters') options.clusters = positiveInt(arg, next())
    else if (arg === '--stable-for') {
      options.stableFor = next()
      durationMs(options.stableFor)
    } else if (arg === '--json') options.json = next()
    else if (arg === '--verbose') options.verbose = true
    else throw new UsageError(`unknown argument ${arg}\n${USAGE}`)
  }
  if (options.clusters > options.apps) {
    throw new UsageError(
      `--clusters ${options.clusters}: more clusters than --apps ${options.apps}`,
    )
  }
  const perCluster = Math.ceil(options.apps / options.clusters)
  if (perCluster > MAX_STEP_CONCURRENCY) {
    throw new UsageError(
      `${perCluster} apps per cluster: EMR runs at most ${MAX_STEP_CONCURRENCY} steps at once on a cluster; add --clusters`,
    )
  }
  return options
}

function parallelList(text: string): number[] {
  const values = text.split(',').map((part) => {
    const n = Number(part.trim())
    if (part.trim() === '' || !Number.isInteger(n) || n < 0) {
      throw new UsageError(
        `--max-parallel: expected non-negative integers separated by commas (0 = all at once), got ${text}`,
      )
    }
    return n
  })
  return values
}

/** How many apps each cluster holds (round-robin), so the step concurrency each one needs. */
export function appsPerCluster(apps: number, clusters: number): number[] {
  return Array.from(
    { length: clusters },
    (_, c) => Math.floor(apps / clusters) + (c < apps % clusters ? 1 : 0),
  )
}

// ------------------------------------------------------------------ the launcher

/**
 * Runs `task` over every item, at most `maxParallel` at once (0, or more than the items: all at
 * once), starting the next as soon as one ends, in the items' order, like a matrix job's
 * max-parallel. Resolves with the results in the items' order; a task that throws rejects it
 * once the tasks already running have ended (none is left behind).
 */
export async function runLimited<T, R>(
  items: readonly T[],
  maxParallel: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(maxParallel) || maxParallel < 0) {
    throw new RangeError(`maxParallel must be a non-negative integer, not ${maxParallel}`)
  }
  const width = maxParallel === 0 ? items.length : Math.min(maxParallel, items.length)
  const results = new Array<R>(items.length)
  let next = 0
  let failure: { error: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++
      try {
        results[index] = await task(items[index] as T, index)
      } catch (error) {
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: width }, worker))
  if (failure) throw failure.error
  return results
}

// ------------------------------------------------------------------ one rollover, one round

/** One app's rollover in a round, as the bench observed it. */
export interface RolloverSample {
  readonly app: string
  readonly clusterId: string
  readonly ok: boolean
  /** The action's ::error:: line (or its exit) when it failed. */
  readonly error?: string
  readonly startedAt: number
  readonly endedAt: number
  /** EMR calls the run made (its recorder), and those EMR answered ThrottlingException. */
  readonly emrCalls: number
  readonly throttled: number
  readonly emrCallsByOp: Readonly<Record<string, number>>
  /** The action's downtime-seconds output. */
  readonly reportedDowntimeS?: number
  /** The drivers' activity: the old driver's last batch end → the new driver's first batch start. */
  readonly processingGapMs?: number
  /** The action's process started → its first log line (the machine's load, not EMR). */
  readonly startupMs?: number
  /** The action saw the old driver's `.stopped` → EMR answered that its step ended (quotas). */
  readonly confirmWaitMs?: number
  /** dataVerdict of the app's stream after its drivers stopped; undefined: all good. */
  readonly dataProblem?: string
  /** For --json: `+seconds operation [step state] [HTTP status]` of every EMR call of the run. */
  readonly emrCallLog?: readonly string[]
  /** For --json: the action's log lines that mark its phases, `+seconds text`. */
  readonly timeline?: readonly string[]
}

export interface RoundSummary {
  readonly maxParallel: number
  readonly runs: number
  readonly succeeded: number
  readonly failed: number
  /** `app: error` of every failed run. */
  readonly failures: readonly string[]
  /** EMR calls per rollover, over every run of the round. */
  readonly calls: Stat
  readonly totalCalls: number
  readonly throttledCalls: number
  /** Per rollover, by operation (averages). */
  readonly callsByOp: Readonly<Record<string, number>>
  /** First rollover launched → last one ended. */
  readonly wallMs: number
  /** Each run's own duration. */
  readonly runMs: Stat
  readonly slowestReported?: { readonly app: string; readonly seconds: number }
  readonly slowestGap?: { readonly app: string; readonly ms: number }
  readonly reportedDowntimeS: Stat
  readonly processingGapMs: Stat
  readonly startupMs: Stat
  readonly confirmWaitMs: Stat
  /** Apps whose stream passed the data verdict, and `app: problem` of the others. */
  readonly dataOk: number
  readonly dataProblems: readonly string[]
  /** The highest 1-minute load average sampled during the rollovers. */
  readonly maxLoad?: number
}

type Timed = 'reportedDowntimeS' | 'processingGapMs' | 'startupMs' | 'confirmWaitMs'

function slowest<K extends Timed>(
  samples: readonly RolloverSample[],
  key: K,
): { app: string; v: number } | undefined {
  let best: { app: string; v: number } | undefined
  for (const s of samples) {
    const v = s[key]
    if (v === undefined || !Number.isFinite(v)) continue
    if (best === undefined || v > best.v) best = { app: s.app, v }
  }
  return best
}

/** A round's figures from its rollovers. */
export function summarizeRound(input: {
  readonly maxParallel: number
  readonly samples: readonly RolloverSample[]
  readonly wallMs: number
  readonly maxLoad?: number
}): RoundSummary {
  const { samples } = input
  const succeeded = samples.filter((s) => s.ok).length
  const byOp: Record<string, number> = {}
  for (const s of samples) {
    for (const [op, n] of Object.entries(s.emrCallsByOp)) byOp[op] = (byOp[op] ?? 0) + n
  }
  for (const op of Object.keys(byOp)) byOp[op] = (byOp[op] as number) / (samples.length || 1)
  const reported = slowest(samples, 'reportedDowntimeS')
  const gap = slowest(samples, 'processingGapMs')
  const over = (key: Timed) =>
    stat(
      samples.map((s) => s[key]).filter((v): v is number => v !== undefined && Number.isFinite(v)),
    )
  return {
    maxParallel: input.maxParallel,
    runs: samples.length,
    succeeded,
    failed: samples.length - succeeded,
    failures: samples.filter((s) => !s.ok).map((s) => `${s.app}: ${s.error ?? 'failed'}`),
    calls: stat(samples.map((s) => s.emrCalls)),
    totalCalls: samples.reduce((n, s) => n + s.emrCalls, 0),
    throttledCalls: samples.reduce((n, s) => n + s.throttled, 0),
    callsByOp: byOp,
    wallMs: input.wallMs,
    runMs: stat(samples.map((s) => s.endedAt - s.startedAt)),
    ...(reported ? { slowestReported: { app: reported.app, seconds: reported.v } } : {}),
    ...(gap ? { slowestGap: { app: gap.app, ms: gap.v } } : {}),
    reportedDowntimeS: over('reportedDowntimeS'),
    processingGapMs: over('processingGapMs'),
    startupMs: over('startupMs'),
    confirmWaitMs: over('confirmWaitMs'),
    dataOk: samples.filter((s) => s.dataProblem === undefined).length,
    dataProblems: samples.flatMap((s) => (s.dataProblem ? [`${s.app}: ${s.dataProblem}`] : [])),
    ...(input.maxLoad === undefined ? {} : { maxLoad: input.maxLoad }),
  }
}

/** A round passes when every run succeeded and every app's data verdict holds. */
export function roundPassed(round: RoundSummary): boolean {
  return round.failed === 0 && round.dataProblems.length === 0 && round.runs > 0
}

/** A run's EMR calls as its recorder saw them: how many, how many throttled, by operation. */
export function tallyCalls(calls: readonly EmrCall[]): {
  calls: number
  throttled: number
  byOp: Record<string, number>
} {
  const byOp: Record<string, number> = {}
  for (const c of calls) byOp[c.op] = (byOp[c.op] ?? 0) + 1
  // The emulator answers a throttle with HTTP 400 ThrottlingException; the bench injects no
  // other fault, and a validation error would fail the run (and be reported as such).
  return { calls: calls.length, throttled: calls.filter((c) => c.status === 400).length, byOp }
}

// ------------------------------------------------------------------ the table

const LABEL = 36
const COLUMN = 28

function row(label: string, cells: readonly string[]): string {
  return `${label.padEnd(LABEL)}${cells.map((c) => c.padEnd(COLUMN)).join('')}`.trimEnd()
}

const secs = (ms: number) => `${value(ms, 's')} s`

/** The table of the rounds, side by side: the lines the bench prints. */
export function renderRounds(rounds: readonly RoundSummary[]): string[] {
  const head = rounds.map((r) =>
    r.maxParallel === 0 || r.maxParallel >= r.runs
      ? `max-parallel ${r.maxParallel}${r.maxParallel === 0 ? ' (all)' : ''}`
      : `max-parallel ${r.maxParallel}`,
  )
  const cells = (f: (r: RoundSummary) => string) => rounds.map(f)
  const pct = (part: number, whole: number) =>
    whole === 0 ? '0%' : `${((100 * part) / whole).toFixed(part === 0 ? 0 : 1)}%`
  return [
    row('', head),
    row(
      'runs succeeded',
      cells((r) => `${r.succeeded}/${r.runs}${r.failed ? ` (${r.failed} FAILED)` : ''}`),
    ),
    row(
      'EMR calls per rollover',
      cells((r) => `${value(r.calls.median, 'n')} median, ${value(r.calls.max, 'n')} max`),
    ),
    row(
      'throttled calls (of total)',
      cells(
        (r) => `${r.throttledCalls} of ${r.totalCalls} (${pct(r.throttledCalls, r.totalCalls)})`,
      ),
    ),
    row(
      'wall time of the round',
      cells((r) => secs(r.wallMs)),
    ),
    row(
      'one rollover (median, max)',
      cells((r) => `${secs(r.runMs.median)}, ${secs(r.runMs.max)}`),
    ),
    row(
      "slowest app's downtime (action)",
      cells((r) => (r.slowestReported ? `${r.slowestReported.seconds.toFixed(1)} s` : '—')),
    ),
    row(
      "slowest app's processing gap",
      cells((r) => (r.slowestGap ? secs(r.slowestGap.ms) : '—')),
    ),
    row(
      'downtime, median (action; gap)',
      cells(
        (r) =>
          `${Number.isFinite(r.reportedDowntimeS.median) ? r.reportedDowntimeS.median.toFixed(1) : '—'} s; ${secs(r.processingGapMs.median)}`,
      ),
    ),
    row(
      '  of which stop confirmation wait',
      cells((r) => `${secs(r.confirmWaitMs.median)} median, ${secs(r.confirmWaitMs.max)} max`),
    ),
    row(
      'action start-up (median, max)',
      cells((r) => `${secs(r.startupMs.median)}, ${secs(r.startupMs.max)}`),
    ),
    row(
      'data verdict',
      cells((r) =>
        r.dataProblems.length === 0
          ? `✔ ${r.dataOk}/${r.runs} apps`
          : `✘ ${r.dataOk}/${r.runs} apps`,
      ),
    ),
    row(
      'load average (1 min, max)',
      cells((r) => (r.maxLoad === undefined ? '—' : r.maxLoad.toFixed(1))),
    ),
  ]
}

// ------------------------------------------------------------------ the bench

/** `npm run bench -- [matrix] --apps N [...]`: exit code 0, or 1 when a run or a verdict failed. */
export async function matrixBench(argv: string[]): Promise<number> {
  const options = parseMatrixArgs(argv)
  if (options === 'help') {
    console.log(USAGE)
    return 0
  }
  return main(options)
}

/** The stream of every app: 10 records/s in batches of 10 (a batch a second), so that 20 drivers
 * and their S3 traffic leave the action's processes room on a small machine. */
const SOURCE = { ratePerSec: 10, batchSize: 10, batchMs: 100, markerPollMs: 250, progressMs: 1000 }

const RUN_TIMEOUT_MS = 20 * 60_000

async function main(options: MatrixOptions): Promise<number> {
  const started = Date.now()
  const log = (line: string) => console.log(line)
  const progress = (line: string) => process.stderr.write(`  · ${line}\n`)
  const layout = appsPerCluster(options.apps, options.clusters)
  const names = layout.map((_, c) => `streaming-${c + 1}`)
  // Each running action adds an exit listener to this process (run-action.ts: kill it with us).
  process.setMaxListeners(Math.max(process.getMaxListeners(), options.apps + 10))
  const stack = await startStack({
    appName: 'matrix',
    clusterName: names[0] as string,
    stepConcurrencyLevel: layout[0] as number,
    extraClusters: layout.slice(1).map((n, c) => ({
      name: names[c + 1] as string,
      stepConcurrencyLevel: n,
    })),
    source: SOURCE,
  })
  const clusterIds = [...stack.emr.state.clusters.values()].map((c) => c.id)
  const rounds: RoundSummary[] = []
  const allSamples: RolloverSample[][] = []
  try {
    const step = EMR_QUOTAS.DescribeStep as { burst: number; perSecond: number }
    log(
      `emr-streaming-rollover matrix bench: ${options.apps} rollovers per round on one emulated account, ` +
        `${options.clusters} cluster${options.clusters > 1 ? 's' : ''} (step concurrency ${layout.join(', ')})`,
    )
    log(
      `EMR's default quotas: DescribeStep, ListSteps, AddJobFlowSteps, CancelSteps burst ${step.burst}, ${step.perSecond}/s each; ` +
        `DescribeCluster ${EMR_QUOTAS.DescribeCluster?.burst}, ${EMR_QUOTAS.DescribeCluster?.perSecond}/s; ` +
        `all calls ${EMR_ACCOUNT_QUOTA.burst}, ${EMR_ACCOUNT_QUOTA.perSecond}/s`,
    )
    log(
      `fast profile (steps RUNNING 0.1 s after submission, drivers start at once), ${SOURCE.ratePerSec} records/s per app, ` +
        `stop-start, stable-for ${options.stableFor}, jar already in S3, action = dist/index.js with its default pacing, ` +
        `${cpus().length} CPUs`,
    )
    for (const [r, maxParallel] of options.maxParallel.entries()) {
      const { summary, samples } = await round(
        stack,
        clusterIds,
        options,
        r + 1,
        maxParallel,
        progress,
      )
      rounds.push(summary)
      allSamples.push(samples)
    }

    log('')
    for (const line of renderRounds(rounds)) log(line)
    log('')
    for (const r of rounds) {
      const ops = Object.entries(r.callsByOp)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([op, n]) => `${op} ${n.toFixed(1)}`)
        .join(', ')
      log(`max-parallel ${r.maxParallel}: EMR calls per rollover by operation: ${ops}`)
      if (r.slowestReported || r.slowestGap) {
        log(
          `  slowest: ${r.slowestReported ? `${r.slowestReported.app} (action)` : ''}` +
            `${r.slowestReported && r.slowestGap ? ', ' : ''}${r.slowestGap ? `${r.slowestGap.app} (gap)` : ''}`,
        )
      }
      for (const failure of r.failures) log(`  ✘ run ${failure}`)
      for (const problem of r.dataProblems) log(`  ✘ data ${problem}`)
    }
    log('')
    log(
      'EMR calls: every call of the rollover run, as its own recording proxy saw them (retries included); ' +
        "throttled: answered ThrottlingException by the account's quotas (its operation's or all calls')",
    )
    log('wall time: the first rollover launched → the last one ended (first deploys not included)')
    log(
      "downtime (action): the action's downtime-seconds output, the old driver's last committed batch → " +
        "the new driver's first, by the drivers' own reports",
    )
    log(
      "processing gap: the drivers' activity log, the old driver's last batch end → the new driver's first batch start",
    )
    log(
      "stop confirmation wait: the action saw the old driver's .stopped → EMR's answer that its step ended " +
        "(DescribeStep: the run waits for its own budget and EMR's quota; nothing is submitted before)",
    )
    log(
      "action start-up: the action process started → its first log line (what the machine's load adds, not EMR)",
    )
    log(
      "data verdict: each app's stream after its drivers stopped: batches contiguous from offset 0, each record " +
        'processed once, never two drivers at once',
    )
    log(
      'each round: fresh apps, first deployed with the quotas off (not measured); the quotas reset to full buckets ' +
        'just before the rollovers, as on an account quiet until the matrix starts',
    )
    const passed = rounds.every(roundPassed)
    log(
      passed
        ? `✔ every run succeeded, every invariant held (${rounds.length} round${rounds.length > 1 ? 's' : ''})`
        : '✘ a run failed or an invariant broke (above)',
    )
    log(`bench took ${value(Date.now() - started, 's')} s`)
    if (options.json) {
      const json = {
        config: { ...options, cpus: cpus().length, node: process.version, source: SOURCE },
        rounds: rounds.map((summary, i) => ({ summary, samples: allSamples[i] })),
        passed,
      }
      await writeFile(options.json, JSON.stringify(json, null, 2) + '\n')
      log(`results written to ${options.json}`)
    }
    return passed ? 0 : 1
  } finally {
    await stack.stop()
  }
}

interface BenchApp {
  readonly app: StackApp
  readonly recorder: EmrRecorder
}

async function round(
  stack: Stack,
  clusterIds: readonly string[],
  options: MatrixOptions,
  r: number,
  maxParallel: number,
  progress: (line: string) => void,
): Promise<{ summary: RoundSummary; samples: RolloverSample[] }> {
  const label = `round ${r} (max-parallel ${maxParallel})`
  const width = String(options.apps).length
  const apps: BenchApp[] = await Promise.all(
    Array.from({ length: options.apps }, async (_, i) => ({
      app: await stack.addApp(`r${r}-app-${String(i + 1).padStart(width, '0')}`, {
        clusterId: clusterIds[i % clusterIds.length] as string,
      }),
      recorder: await EmrRecorder.start(stack.emrEndpoint),
    })),
  )
  try {
    const env = (a: BenchApp) => ({ ...stack.env, AWS_ENDPOINT_URL_EMR: a.recorder.endpoint })
    const inputs = (a: BenchApp, jar: string) =>
      a.app.inputs({ jar, 'stable-for': options.stableFor })
    const onOutput = (a: BenchApp) =>
      options.verbose
        ? (chunk: string) => {
            for (const line of chunk.split('\n').filter((l) => l !== '')) {
              process.stderr.write(`    ${a.app.appName} │ ${line}\n`)
            }
          }
        : undefined
    const run = (a: BenchApp, jar: string): Promise<ActionRun> => {
      const out = onOutput(a)
      return stack.runAction(inputs(a, jar), {
        env: env(a),
        timeoutMs: RUN_TIMEOUT_MS,
        ...(out ? { onOutput: out } : {}),
      })
    }

    // ---- first deploys: quotas off, not measured.
    stack.emr.setFaults({ realRateLimits: false })
    const v1 = await stack.makeJar(`r${r}-v1`, 'ok', { upload: true })
    const v2 = await stack.makeJar(`r${r}-v2`, 'ok', { upload: true })
    progress(`${label}: first deploys of ${apps.length} apps (quotas off, not measured)`)
    const firstStarted = Date.now()
    const firsts = await runLimited(apps, maxParallel, async (a) => {
      const result = await run(a, v1)
      expectSuccess(result, `the first deploy of ${a.app.appName}`)
      return result.outputs['step-id'] as string
    })
    progress(`${label}: first deploys done in ${value(Date.now() - firstStarted, 's')} s`)
    await waitForActivity(
      stack,
      (events) =>
        firsts.every(
          (stepId) =>
            events.filter((e) => e.event === 'batch-end' && e.stepId === stepId).length >= 2,
        ),
      60_000,
      'every first driver to commit batches',
    )

    // ---- the rollovers: a quiet account's full buckets, at most maxParallel at once.
    stack.emr.setFaults({ realRateLimits: true })
    stack.emr.resetCounts()
    const from = apps.map((a) => a.recorder.calls.length)
    let maxLoad = loadavg()[0] as number
    const sampler = setInterval(() => {
      maxLoad = Math.max(maxLoad, loadavg()[0] as number)
    }, 1000)
    progress(`${label}: ${apps.length} rollovers under EMR's quotas`)
    const roundStarted = Date.now()
    let done = 0
    const results = await runLimited(apps, maxParallel, async (a) => {
      const startedAt = Date.now()
      const result = await run(a, v2)
      const endedAt = Date.now()
      done += 1
      const error =
        result.exitCode === 0
          ? undefined
          : (/^::error::(.*)$/m.exec(result.stdout)?.[1] ??
            `exit ${result.exitCode}${result.timedOut ? ' (timed out)' : ''}: ${result.stderr.slice(-300)}`)
      progress(
        `${label}: ${done}/${apps.length} ${a.app.appName} ${error ? `FAILED: ${error}` : 'ok'} in ${value(endedAt - startedAt, 's')} s`,
      )
      return { result, startedAt, endedAt, error }
    })
    const wallMs = Date.now() - roundStarted
    clearInterval(sampler)
    stack.emr.setFaults({ realRateLimits: false })
    const emulatorCalls = Object.values(stack.emr.counts).reduce((a, b) => a + b, 0)
    const emulatorThrottled = Object.values(stack.emr.throttled).reduce((a, b) => a + b, 0)

    // ---- the new drivers at work, then every driver stopped the contract's way; verdicts.
    await waitForActivity(
      stack,
      (events) =>
        results.every(
          ({ result }) =>
            result.exitCode !== 0 ||
            events.some((e) => e.event === 'batch-end' && e.stepId === result.outputs['step-id']),
        ),
      60_000,
      'every new driver to commit a batch',
    ).catch((error: unknown) => progress(`${label}: ${String(error)}`))
    for (const a of apps) {
      for (const key of await a.app.markers()) {
        await stack.s3.send(new DeleteObjectCommand({ Bucket: stack.bucket, Key: key }))
      }
    }
    const states = new Set(apps.map((a) => a.app.statePrefix))
    await until(
      () => stack.emr.liveApps().every((x) => !states.has(x.state ?? '')),
      60_000,
      'every driver of the round to stop',
    )
    const samples: RolloverSample[] = []
    for (const [i, a] of apps.entries()) {
      const { result, startedAt, endedAt, error } = results[i] as (typeof results)[number]
      const verdict = await a.app.checkInvariants()
      const oldStep = result.outputs['previous-step-id']
      const newStep = result.outputs['step-id']
      const handover = verdict.handovers.find(
        (h) => h.from.stepId === oldStep && h.to.stepId === newStep,
      )
      const tally = tallyCalls(a.recorder.calls.slice(from[i]))
      const reported = Number(result.outputs['downtime-seconds'])
      samples.push({
        app: a.app.appName,
        clusterId: a.app.clusterId,
        ok: error === undefined,
        ...(error === undefined ? {} : { error }),
        startedAt,
        endedAt,
        emrCalls: tally.calls,
        throttled: tally.throttled,
        emrCallsByOp: tally.byOp,
        ...startupAndConfirm(result, a.recorder.calls.slice(from[i]), startedAt),
        emrCallLog: callLog(a.recorder.calls.slice(from[i]), startedAt),
        timeline: timeline(result, startedAt),
        ...(result.outputs['downtime-seconds'] && Number.isFinite(reported)
          ? { reportedDowntimeS: reported }
          : {}),
        ...(handover ? { processingGapMs: handover.gapMs } : {}),
        ...(() => {
          const problem =
            dataVerdict(verdict) ??
            (error === undefined && !handover
              ? 'no handover from the old driver to the new one'
              : undefined)
          return problem ? { dataProblem: problem } : {}
        })(),
      })
    }
    const summary = summarizeRound({ maxParallel, samples, wallMs, maxLoad })
    if (summary.totalCalls !== emulatorCalls || summary.throttledCalls !== emulatorThrottled) {
      progress(
        `${label}: the recorders saw ${summary.totalCalls} calls (${summary.throttledCalls} throttled), ` +
          `the emulator ${emulatorCalls} (${emulatorThrottled})`,
      )
    }
    progress(
      `${label}: ${summary.succeeded}/${summary.runs} succeeded in ${value(wallMs, 's')} s, ` +
        `${summary.throttledCalls} of ${summary.totalCalls} EMR calls throttled`,
    )
    return { summary, samples }
  } finally {
    await Promise.all(apps.map((a) => a.recorder.close()))
  }
}

/** Polls the activity log (the whole file: every half second, not every 50 ms). */
async function waitForActivity(
  stack: Stack,
  check: (events: Awaited<ReturnType<Stack['readActivity']>>) => boolean,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms
  while (!check(await stack.readActivity())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(500)
  }
}

/** `+seconds operation [step] [state] [HTTP status]`, relative to the run's start. */
function callLog(calls: readonly EmrCall[], startedAt: number): string[] {
  return calls.map(
    (c) =>
      `+${((c.receivedAt - startedAt) / 1000).toFixed(2)} ${c.op}` +
      `${c.stepId ? ` ${c.stepId}` : ''}${c.state ? ` ${c.state}` : ''}${c.status === 200 ? '' : ` HTTP ${c.status}`}`,
  )
}

const TIMELINE =
  /^(::group::|Deleted \d+ marker|.* acknowledged its stop|.* ended [A-Z]+\.|Submitted step|Step .* is RUNNING|EMR busy|.* committed \d+ batch|Result:|::error::)/

/** The action's log lines that mark its phases and waits, `+seconds text` (cut at 160 chars). */
function timeline(run: ActionRun, startedAt: number): string[] {
  return run.chunks
    .filter((c) => c.stream === 'stdout')
    .flatMap((c) =>
      c.text
        .split('\n')
        .filter((line) => TIMELINE.test(line))
        .map((line) => `+${((c.t - startedAt) / 1000).toFixed(2)} ${line.slice(0, 160)}`),
    )
}

const TERMINAL = new Set(['COMPLETED', 'CANCELLED', 'FAILED', 'INTERRUPTED'])

/**
 * From the run's output and calls: its start-up (process start → first log line), and how long
 * it waited for EMR once the old driver had acknowledged its stop (the `acknowledged` line → the
 * first DescribeStep answer showing the old step ended).
 */
export function startupAndConfirm(
  run: Pick<ActionRun, 'chunks' | 'outputs'>,
  calls: readonly EmrCall[],
  startedAt: number,
): { startupMs?: number; confirmWaitMs?: number } {
  const first = run.chunks.find((c) => c.stream === 'stdout')?.t
  const oldStep = run.outputs['previous-step-id']
  const acked = run.chunks.find(
    (c) => c.stream === 'stdout' && / acknowledged its stop: /.test(c.text),
  )?.t
  const confirmed =
    acked === undefined || !oldStep
      ? undefined
      : calls.find(
          (c) =>
            c.op === 'DescribeStep' &&
            c.stepId === oldStep &&
            TERMINAL.has(c.state ?? '') &&
            c.answeredAt >= acked - 1000,
        )?.answeredAt
  return {
    ...(first === undefined ? {} : { startupMs: first - startedAt }),
    ...(acked !== undefined && confirmed !== undefined
      ? { confirmWaitMs: Math.max(0, confirmed - acked) }
      : {}),
  }
}
