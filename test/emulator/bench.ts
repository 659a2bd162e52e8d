// `npm run bench`: rollover timings and EMR call counts of the action (dist/index.js, run as the
// GitHub runner runs it) on the local stack, against a naive baseline (baseline.ts) in the same run.
//
//   npm run bench                      5 rollovers of each
//   npm run bench -- --runs 3 --json bench.json [--jar-mb 40] [--stable-for 2s] [--verbose]
//
// Every figure comes from what the bench can observe from outside the tools: the EMR emulator
// (step state history, YARN process exits), a recording proxy in front of it (when each EMR call
// was received and what it answered), the drivers' activity log, and the action's log lines as
// they arrive. Definitions are printed under the table.
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { cpus } from 'node:os'
import AdmZip from 'adm-zip'
import { EMRClient } from '@aws-sdk/client-emr'
import { DeleteObjectCommand } from '@aws-sdk/client-s3'
import { naiveRollover, type NaiveRolloverResult } from './baseline.ts'
import { JAR_CONFIG_ENTRY, type ActivityEvent, type DriverConfig } from './contract.ts'
import type { Invariants } from './invariants.ts'
import type { ActionRun } from './run-action.ts'
import { listAllKeys } from './s3-read.ts'
import { startStack, type Stack } from './stack.ts'

// ------------------------------------------------------------------ options

interface Options {
  readonly runs: number
  readonly json?: string
  readonly jarMb: number
  readonly stableFor: string
  readonly verbose: boolean
  /** Baseline rollovers start this far apart, so that their uploads do not overlap. */
  readonly staggerMs: number
}

function parseArgs(argv: string[]): Options {
  const options = { runs: 5, jarMb: 40, stableFor: '2s', verbose: false, staggerMs: 6000 } as {
    -readonly [K in keyof Options]: Options[K]
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const value = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${arg} needs a value`)
      return v
    }
    if (arg === '--runs') options.runs = positiveInt(arg, value())
    else if (arg === '--json') options.json = value()
    else if (arg === '--jar-mb') options.jarMb = positiveInt(arg, value())
    else if (arg === '--stable-for') {
      options.stableFor = value()
      durationMs(options.stableFor)
    } else if (arg === '--verbose') options.verbose = true
    else {
      throw new Error(
        `unknown argument ${arg}\nusage: npm run bench -- [--runs N] [--json FILE] [--jar-mb MB] [--stable-for 2s] [--verbose]`,
      )
    }
  }
  return options
}

/** `2s`, `2m`, `1m30s`: enough of the action's duration syntax for --stable-for. */
function durationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000 }
  const parts = [...text.matchAll(/(\d+)(h|m|s)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`--stable-for: expected a duration like 2s, 2m or 1m30s, got ${text}`)
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * (units[p[2] as string] as number), 0)
}

function positiveInt(name: string, text: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${name}: expected a positive integer, got ${text}`)
  return n
}

// ------------------------------------------------------------------ EMR recording proxy

interface EmrCall {
  readonly op: string
  readonly clusterId?: string
  readonly stepId?: string
  /** Received from the client / answered by the emulator. */
  readonly receivedAt: number
  readonly answeredAt: number
  readonly status: number
  /** DescribeStep: the state answered. */
  readonly state?: string
  /** AddJobFlowSteps: the step ids answered. */
  readonly stepIds?: readonly string[]
}

/** Forwards every EMR call to the emulator and records when it came and what it answered. */
class EmrRecorder {
  readonly calls: EmrCall[] = []
  private readonly server: Server
  private readonly upstream: URL

  private constructor(upstream: URL) {
    this.upstream = upstream
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const receivedAt = Date.now()
        const body = Buffer.concat(chunks)
        const headers: IncomingHttpHeaders = { ...req.headers, host: this.upstream.host }
        const forward = request(
          {
            host: this.upstream.hostname,
            port: this.upstream.port,
            method: req.method,
            path: req.url,
            headers,
          },
          (up) => {
            const out: Buffer[] = []
            up.on('data', (c: Buffer) => out.push(c))
            up.on('end', () => {
              const answer = Buffer.concat(out)
              this.record(req.headers, body, up.statusCode ?? 0, answer, receivedAt)
              res.writeHead(up.statusCode ?? 502, up.headers)
              res.end(answer)
            })
          },
        )
        forward.on('error', (error) => {
          res.writeHead(502, { 'content-type': 'text/plain' })
          res.end(String(error))
        })
        forward.end(body)
      })
    })
  }

  static async start(upstream: string): Promise<EmrRecorder> {
    const recorder = new EmrRecorder(new URL(upstream))
    await new Promise<void>((resolve) => recorder.server.listen(0, '127.0.0.1', resolve))
    return recorder
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  private record(
    headers: IncomingHttpHeaders,
    body: Buffer,
    status: number,
    answer: Buffer,
    receivedAt: number,
  ): void {
    const target = String(headers['x-amz-target'] ?? '')
    if (!target.startsWith('ElasticMapReduce.')) return
    const parse = (b: Buffer): Record<string, unknown> => {
      try {
        return JSON.parse(b.toString('utf8')) as Record<string, unknown>
      } catch {
        return {}
      }
    }
    const input = parse(body)
    const output = parse(answer) as {
      Step?: { Status?: { State?: string } }
      StepIds?: string[]
    }
    this.calls.push({
      op: target.slice('ElasticMapReduce.'.length),
      clusterId: (input.ClusterId ?? input.JobFlowId) as string | undefined,
      stepId: input.StepId as string | undefined,
      receivedAt,
      answeredAt: Date.now(),
      status,
      state: output.Step?.Status?.State,
      stepIds: output.StepIds,
    })
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

// ------------------------------------------------------------------ measurements

interface Sample {
  readonly run: number
  readonly oldStepId: string
  readonly newStepId: string
  /** Marker deleted → old driver process gone. */
  readonly drainMs: number
  /** Old driver gone → the tool's first DescribeStep answer showing the step ended. */
  readonly detectMs: number
  /** That answer → AddJobFlowSteps of the new step received by EMR. */
  readonly submitMs: number
  /** Old driver gone → AddJobFlowSteps received (detect + submit). */
  readonly addedDowntimeMs: number
  /** AddJobFlowSteps received → the new driver's first batch. */
  readonly newDriverStartMs: number
  /** The old driver's last batch end → the new driver's first batch start. */
  readonly processingGapMs: number
  /** Jar upload time that fell inside the downtime. */
  readonly uploadInDowntimeMs: number
  readonly emrCalls: number
  readonly emrCallsByOp: Record<string, number>
  /** Every EMR call of the run: `+seconds operation [state answered] [HTTP status if not 200]`. */
  readonly emrCallLog: readonly string[]
  readonly runMs: number
  readonly callsPerSecond: number
  /** The action's own downtime-seconds output (action only). */
  readonly reportedDowntimeS?: number
}

const TERMINAL = new Set(['COMPLETED', 'CANCELLED', 'FAILED', 'INTERRUPTED'])

function measure(
  stack: Stack,
  recorder: EmrRecorder,
  events: readonly ActivityEvent[],
  m: {
    run: number
    clusterId: string
    oldStepId: string
    newStepId: string
    markerDeletedAt: number
    startedAt: number
    endedAt: number
    uploadInDowntimeMs: number
    reportedDowntimeS?: number
  },
): Sample {
  const oldApp = stack.emr.apps().find((a) => a.stepId === m.oldStepId)
  const oldEnded = stack.emr.step(m.oldStepId)?.history.find((h) => TERMINAL.has(h.state))?.t
  const exitedAt = oldApp?.endedAt ?? oldEnded
  const noticed = recorder.calls.find(
    (c) =>
      c.op === 'DescribeStep' &&
      c.stepId === m.oldStepId &&
      TERMINAL.has(c.state ?? '') &&
      c.receivedAt >= m.startedAt,
  )?.answeredAt
  const submitted = recorder.calls.find(
    (c) => c.op === 'AddJobFlowSteps' && c.stepIds?.includes(m.newStepId),
  )?.receivedAt
  const firstBatch = events.find((e) => e.event === 'batch-start' && e.stepId === m.newStepId)?.t
  const lastOldBatch = events
    .filter((e) => e.event === 'batch-end' && e.stepId === m.oldStepId)
    .reduce<number | undefined>((t, e) => Math.max(t ?? e.t, e.t), undefined)
  const missing = Object.entries({ exitedAt, noticed, submitted, firstBatch, lastOldBatch }).filter(
    ([, v]) => v === undefined,
  )
  if (missing.length > 0) {
    throw new Error(`run ${m.run}: not observed: ${missing.map(([k]) => k).join(', ')}`)
  }
  const calls = recorder.calls.filter(
    (c) => c.clusterId === m.clusterId && c.receivedAt >= m.startedAt && c.receivedAt <= m.endedAt,
  )
  const byOp: Record<string, number> = {}
  for (const c of calls) byOp[c.op] = (byOp[c.op] ?? 0) + 1
  const runMs = m.endedAt - m.startedAt
  const [exit, seen, sub, first, last] = [
    exitedAt,
    noticed,
    submitted,
    firstBatch,
    lastOldBatch,
  ] as [number, number, number, number, number]
  return {
    run: m.run,
    oldStepId: m.oldStepId,
    newStepId: m.newStepId,
    drainMs: exit - m.markerDeletedAt,
    detectMs: seen - exit,
    submitMs: sub - seen,
    addedDowntimeMs: sub - exit,
    newDriverStartMs: first - sub,
    processingGapMs: first - last,
    uploadInDowntimeMs: m.uploadInDowntimeMs,
    emrCalls: calls.length,
    emrCallsByOp: byOp,
    emrCallLog: calls.map(
      (c) =>
        `+${((c.receivedAt - m.startedAt) / 1000).toFixed(2)} ${c.op}` +
        `${c.stepId ? ` ${c.stepId}` : ''}${c.state ? ` ${c.state}` : ''}${c.status === 200 ? '' : ` HTTP ${c.status}`}`,
    ),
    runMs,
    callsPerSecond: calls.length / (runMs / 1000),
    reportedDowntimeS: m.reportedDowntimeS,
  }
}

// ------------------------------------------------------------------ helpers

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A jar of realistic size: the driver's config plus an incompressible (random, stored) blob. */
async function bigJar(dir: string, version: string, mb: number): Promise<string> {
  await mkdir(dir, { recursive: true })
  const zip = new AdmZip()
  const config: DriverConfig = { version, behavior: 'ok' }
  zip.addFile('META-INF/MANIFEST.MF', Buffer.from(`Manifest-Version: 1.0\n`))
  zip.addFile(JAR_CONFIG_ENTRY, Buffer.from(JSON.stringify(config)))
  zip.addFile('lib/dependencies.bin', randomBytes(mb * 1024 * 1024))
  const blob = zip.getEntry('lib/dependencies.bin')
  if (blob) blob.header.method = 0 // stored: random bytes do not compress anyway
  const path = join(dir, `app-${version}.jar`)
  await writeFile(path, zip.toBuffer())
  return path
}

async function until(check: () => Promise<boolean> | boolean, ms: number, what: string) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(50)
  }
}

function batchesOf(events: readonly ActivityEvent[], stepId: string): number {
  return events.filter((e) => e.event === 'batch-end' && e.stepId === stepId).length
}

function expectSuccess(run: ActionRun, what: string): void {
  if (run.exitCode === 0) return
  const error = /^::error::(.*)$/m.exec(run.stdout)?.[1]
  throw new Error(`${what} failed (exit ${run.exitCode}): ${error ?? run.stderr.slice(-1000)}`)
}

/** Completed batches tile [0, committed) once each; no loss, overlap or second live driver. */
function dataVerdict(v: Invariants): string | undefined {
  const done = v.batches.filter((b) => b.completed).sort((a, b) => a.start - b.start)
  let next = 0
  for (const b of done) {
    if (b.start !== next) return `gap or repeat at offset ${next}`
    next = b.end
  }
  if (next !== v.committedOffset)
    return `batches end at ${next}, checkpoint at ${v.committedOffset}`
  if (!v.ok)
    return `lost ${v.lostOffsets.length}, corrupt ${v.corruptBatches.length}, overlaps ${v.overlaps.length}`
  if (v.duplicateBatches.length) return `${v.duplicateBatches.length} batches processed twice`
  if (v.driverOverlaps.length) return 'two drivers alive at once'
  return undefined
}

// ------------------------------------------------------------------ statistics and table

interface Stat {
  readonly median: number
  readonly min: number
  readonly max: number
}

function stat(values: readonly number[]): Stat {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
  return { median, min: sorted[0] ?? Number.NaN, max: sorted.at(-1) ?? Number.NaN }
}

const METRICS = [
  ['drain', 'drainMs', 's'],
  ['detection latency', 'detectMs', 's'],
  ['submit latency', 'submitMs', 's'],
  ['action-added downtime', 'addedDowntimeMs', 's'],
  ['  of which jar upload', 'uploadInDowntimeMs', 's'],
  ['new-driver start', 'newDriverStartMs', 's'],
  ['processing gap', 'processingGapMs', 's'],
  ['EMR calls per rollover', 'emrCalls', 'n'],
  ['EMR calls per second', 'callsPerSecond', 'r'],
] as const

type MetricKey = (typeof METRICS)[number][1]

function summarize(samples: readonly Sample[]): Record<MetricKey, Stat> {
  const out = {} as Record<MetricKey, Stat>
  for (const [, key] of METRICS) out[key] = stat(samples.map((s) => s[key]))
  return out
}

function value(v: number, unit: 's' | 'n' | 'r'): string {
  if (!Number.isFinite(v)) return '—'
  if (unit === 's') return v < 10_000 ? `${(v / 1000).toFixed(2)}` : `${(v / 1000).toFixed(1)}`
  if (unit === 'n') return Number.isInteger(v) ? String(v) : v.toFixed(1)
  return v.toFixed(2)
}

function cell(s: Stat, unit: 's' | 'n' | 'r'): string {
  const suffix = unit === 's' ? ' s' : unit === 'r' ? '/s' : ''
  const range = s.min === s.max ? '' : ` (${value(s.min, unit)}–${value(s.max, unit)})`
  return `${value(s.median, unit)}${suffix}${range}`
}

function ratio(baseline: number, action: number): string {
  if (!Number.isFinite(baseline) || !Number.isFinite(action)) return '—'
  if (action === 0) return baseline === 0 ? '×1' : '∞'
  const r = baseline / action
  return `×${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toFixed(2)}`
}

// ------------------------------------------------------------------ the bench

async function main(options: Options): Promise<number> {
  const started = Date.now()
  const log = (line: string) => console.log(line)
  const progress = (line: string) => process.stderr.write(`  · ${line}\n`)
  const baselineClusters = Array.from({ length: options.runs }, (_, i) => ({
    name: `baseline-${i + 1}`,
  }))
  const stack = await startStack({
    appName: 'bench',
    source: { ratePerSec: 50 },
    extraClusters: baselineClusters,
  })
  const recorder = await EmrRecorder.start(stack.emrEndpoint)
  const emr = new EMRClient({
    endpoint: recorder.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  })
  try {
    const env = { ...stack.env, AWS_ENDPOINT_URL_EMR: recorder.endpoint }
    const jarDir = join(stack.tmpDir, 'bench-jars')
    const inputs = stack.inputs({ 'stable-for': options.stableFor })
    log(
      `emr-streaming-rollover bench: ${options.runs} rollovers each, ${options.jarMb} MB jar, ` +
        `stable-for ${options.stableFor}, ${cpus().length} CPUs, action = dist/index.js`,
    )

    // ---- the action: a first deploy, then `runs` rollovers one after the other.
    progress('action: first deploy (not measured)')
    const first = await stack.runAction(
      { ...inputs, 'stable-for': '2s', jar: await stack.makeJar('a0', 'ok', { upload: true }) },
      { env },
    )
    expectSuccess(first, 'the first deploy')
    const actionSamples: Sample[] = []
    for (let run = 1; run <= options.runs; run++) {
      const jar = await bigJar(jarDir, `a${run}`, options.jarMb)
      const current = actionSamples.at(-1)?.newStepId ?? (first.outputs['step-id'] as string)
      await until(
        async () => batchesOf(await stack.readActivity(), current) >= 3,
        20_000,
        'the running driver to work',
      )
      const lines: Array<{ t: number; text: string }> = []
      const startedAt = Date.now()
      const result = await stack.runAction(
        { ...inputs, jar },
        {
          env,
          timeoutMs: 120_000 + durationMs(options.stableFor),
          onOutput: (chunk, stream) => {
            if (options.verbose) process.stderr.write(chunk)
            if (stream !== 'stdout') return
            for (const text of chunk.split('\n')) lines.push({ t: Date.now(), text })
          },
        },
      )
      const endedAt = Date.now()
      expectSuccess(result, `action rollover ${run}`)
      const deleted = lines.find((l) => /^Deleted \d+ marker/.test(l.text))?.t
      if (deleted === undefined) throw new Error(`run ${run}: no 'Deleted marker' line in the log`)
      await until(
        async () => batchesOf(await stack.readActivity(), result.outputs['step-id'] as string) > 0,
        20_000,
        'the new driver to work',
      )
      const sample = measure(stack, recorder, await stack.readActivity(), {
        run,
        clusterId: stack.clusterId,
        oldStepId: result.outputs['previous-step-id'] as string,
        newStepId: result.outputs['step-id'] as string,
        markerDeletedAt: deleted,
        startedAt,
        endedAt,
        // Staged before the stop (Stage phase): none of the upload is downtime.
        uploadInDowntimeMs: 0,
        reportedDowntimeS: Number(result.outputs['downtime-seconds']),
      })
      actionSamples.push(sample)
      progress(
        `action run ${run}: added downtime ${value(sample.addedDowntimeMs, 's')} s, ` +
          `${sample.emrCalls} EMR calls in ${value(sample.runMs, 's')} s`,
      )
    }

    // ---- the naive baseline: one app per cluster, first deploys, then staggered rollovers
    // (each waits ~30 s in the SDK waiter; staggering keeps their uploads apart).
    progress('baseline: first deploys (not measured)')
    const apps = await Promise.all(
      baselineClusters.map(async (c, i) => {
        const clusterId = [...stack.emr.state.clusters.values()].find((x) => x.name === c.name)
          ?.id as string
        const name = `naive-${i + 1}`
        const state = await stack.newStream(name, { ratePerSec: 50 })
        const base = {
          emr,
          s3: stack.s3,
          clusterId,
          appName: name,
          bucket: stack.bucket,
          markerKey: `naive/${name}/marker`,
          mainClass: stack.mainClass,
          appArgs: ['--state', state],
        }
        return { base, state, name }
      }),
    )
    const smallJar = await bigJar(jarDir, 'b0', 1)
    const firstSteps = await Promise.all(
      apps.map((a) =>
        naiveRollover({ ...a.base, jarPath: smallJar, jarKey: `naive/${a.name}/app-b0.jar` }),
      ),
    )
    const bigJars = await Promise.all(
      apps.map((_, i) => bigJar(jarDir, `b${i + 1}`, options.jarMb)),
    )
    await until(
      async () => {
        const events = await stack.readActivity()
        return firstSteps.every((s) => batchesOf(events, s.stepId) >= 3)
      },
      30_000,
      'the baseline drivers to work',
    )
    progress(
      `baseline: ${options.runs} rollovers, ${options.staggerMs / 1000} s apart (the waiter's first re-check comes after 30 s)`,
    )
    const results: NaiveRolloverResult[] = await Promise.all(
      apps.map(async (a, i) => {
        await sleep(i * options.staggerMs)
        return naiveRollover({
          ...a.base,
          jarPath: bigJars[i] as string,
          jarKey: `naive/${a.name}/app-b${i + 1}.jar`,
        })
      }),
    )
    await until(
      async () => {
        const events = await stack.readActivity()
        return results.every((r) => batchesOf(events, r.stepId) > 0)
      },
      30_000,
      'the new baseline drivers to work',
    )
    const events = await stack.readActivity()
    const baselineSamples = results.map((r, i) =>
      measure(stack, recorder, events, {
        run: i + 1,
        clusterId: apps[i]?.base.clusterId as string,
        oldStepId: r.stoppedStepId as string,
        newStepId: r.stepId,
        markerDeletedAt: r.markerDeletedAt as number,
        startedAt: r.startedAt,
        endedAt: r.submittedAt,
        uploadInDowntimeMs: r.uploadMs,
      }),
    )

    // ---- data safety of every stream, on quiet streams: stop every driver the contract's way.
    for (const key of [
      ...(await listAllKeys(stack.s3, stack.bucket, `rollover/${stack.appName}/markers/`)),
      ...(await listAllKeys(stack.s3, stack.bucket, 'naive/')).filter((k) => k.endsWith('/marker')),
    ]) {
      await stack.s3.send(new DeleteObjectCommand({ Bucket: stack.bucket, Key: key }))
    }
    await until(() => stack.emr.liveApps().length === 0, 20_000, 'every driver to stop')
    const verdicts = [
      ['action', await stack.checkInvariants()],
      ...(await Promise.all(
        apps.map(async (a) => [a.name, await stack.checkInvariants({ state: a.state })] as const),
      )),
    ] as const
    const problems = verdicts.flatMap(([name, v]) => {
      const problem = dataVerdict(v)
      return problem ? [`${name}: ${problem}`] : []
    })

    // ---- report
    const a = summarize(actionSamples)
    const b = summarize(baselineSamples)
    const w = [24, 24, 26]
    log('')
    log(
      `${'per rollover'.padEnd(w[0] as number)}${'action'.padEnd(w[1] as number)}${'naive baseline'.padEnd(w[2] as number)}baseline/action`,
    )
    for (const [label, key, unit] of METRICS) {
      log(
        `${label.padEnd(w[0] as number)}${cell(a[key], unit).padEnd(w[1] as number)}${cell(b[key], unit).padEnd(w[2] as number)}${ratio(b[key].median, a[key].median)}`,
      )
    }
    log('median (min–max) over the runs.')
    const ops = (samples: readonly Sample[]) => {
      const total: Record<string, number> = {}
      for (const s of samples) {
        for (const [op, n] of Object.entries(s.emrCallsByOp)) total[op] = (total[op] ?? 0) + n
      }
      return Object.entries(total)
        .map(([op, n]) => `${op} ${(n / samples.length).toFixed(1)}`)
        .join(', ')
    }
    log(`action EMR calls/rollover: ${ops(actionSamples)}`)
    log(`naive  EMR calls/rollover: ${ops(baselineSamples)}`)
    log('')
    log(
      'drain: marker deleted (action: its log line; naive: DeleteObject returned) → old driver process exited',
    )
    log(
      "detection: old driver exited → the tool's first DescribeStep answer showing its step ended",
    )
    log(
      'submit: that answer → AddJobFlowSteps of the new step received by EMR (marker write, naive: + jar upload)',
    )
    log(
      'action-added downtime = detection + submit: old driver exited → new step submitted; the part of the',
    )
    log(
      '  downtime a deploy tool adds (drain is the app, new-driver start is EMR/Spark/the jar download)',
    )
    log("new-driver start: AddJobFlowSteps received → the new driver's first batch")
    log(
      "processing gap: the old driver's last batch → the new driver's first batch (what the stream sees)",
    )
    log(
      `EMR calls per second: calls / the tool's run (action: process start → exit, incl. stable-for ${options.stableFor}; naive: start → submit)`,
    )
    const downtimeOk = a.addedDowntimeMs.median < 1000
    const rateOk = a.callsPerSecond.median <= 0.5
    log('')
    log(
      `target: action-added downtime < 1 s median: ${downtimeOk ? '✔' : '✘'} ${value(a.addedDowntimeMs.median, 's')} s; ` +
        `≤ 1 EMR call per 2 s on average: ${rateOk ? '✔' : '✘'} ${value(a.callsPerSecond.median, 'r')}/s ` +
        `(${value(a.emrCalls.median, 'n')} calls in a ${value(stat(actionSamples.map((s) => s.runMs)).median, 's')} s run)`,
    )
    log(
      problems.length === 0
        ? `data: ✔ every stream (action + ${apps.length} naive) contiguous from offset 0, each record processed once, no two drivers at once`
        : `data: ✘ ${problems.join('; ')}`,
    )
    log(`bench took ${value(Date.now() - started, 's')} s`)

    if (options.json) {
      const json = {
        config: { ...options, cpus: cpus().length, node: process.version },
        definitions: Object.fromEntries(METRICS.map(([label, key]) => [key, label])),
        action: { median: a, samples: actionSamples },
        baseline: { median: b, samples: baselineSamples },
        ratios: Object.fromEntries(METRICS.map(([, key]) => [key, b[key].median / a[key].median])),
        targets: { addedDowntimeUnder1s: downtimeOk, atMostOneCallPer2s: rateOk },
        data: { ok: problems.length === 0, problems },
      }
      await writeFile(options.json, JSON.stringify(json, null, 2) + '\n')
      log(`results written to ${options.json}`)
    }
    return problems.length === 0 ? 0 : 1
  } finally {
    emr.destroy()
    await recorder.close()
    await stack.stop()
  }
}

let interrupted = false
process.once('SIGINT', () => {
  interrupted = true
  process.stderr.write('\ninterrupted: stopping the drivers, moto and the emulator…\n')
})

let options: Options
try {
  options = parseArgs(process.argv.slice(2))
} catch (error) {
  console.error((error as Error).message)
  process.exit(2)
}
main(options).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    if (interrupted) return
    console.error(`✘ ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    process.exitCode = 1
  },
)
