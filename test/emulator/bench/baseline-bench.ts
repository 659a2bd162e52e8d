// `npm run bench -- baseline`: rollover timings and EMR call counts of the action (dist/index.js,
// run as the GitHub runner runs it) on the local stack, against a naive baseline (../baseline.ts)
// in the same run.
//
//   npm run bench -- baseline          5 rollovers of each
//   npm run bench -- baseline --runs 3 --json bench.json [--jar-mb 40] [--stable-for 2s] [--verbose]
//
// Every figure comes from what the bench can observe from outside the tools: the EMR emulator
// (step state history, YARN process exits), a recording proxy in front of it (when each EMR call
// was received and what it answered), the drivers' activity log, and the action's log lines as
// they arrive. Definitions are printed under the table.
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { cpus } from 'node:os'
import AdmZip from 'adm-zip'
import { EMRClient } from '@aws-sdk/client-emr'
import { DeleteObjectCommand } from '@aws-sdk/client-s3'
import { naiveRollover, type NaiveRolloverResult } from '../baseline.ts'
import { JAR_CONFIG_ENTRY, type ActivityEvent, type DriverConfig } from '../contract.ts'
import { listAllKeys } from '../s3-read.ts'
import { startStack, type Stack } from '../stack.ts'
import { EmrRecorder } from './emr-recorder.ts'
import {
  batchesOf,
  cell,
  dataVerdict,
  durationMs,
  expectSuccess,
  positiveInt,
  ratio,
  sleep,
  stat,
  type Stat,
  until,
  UsageError,
  value,
} from './measure.ts'

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
      if (v === undefined) throw new UsageError(`${arg} needs a value`)
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
      throw new UsageError(
        `unknown argument ${arg}\nusage: npm run bench -- baseline [--runs N] [--json FILE] [--jar-mb MB] [--stable-for 2s] [--verbose]`,
      )
    }
  }
  return options
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

// ------------------------------------------------------------------ statistics and table

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

// ------------------------------------------------------------------ the bench

/** `npm run bench -- baseline [...]`: the action against the naive baseline. Exit code. */
export async function baselineBench(argv: string[]): Promise<number> {
  const options = parseArgs(argv)
  return main(options)
}

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
