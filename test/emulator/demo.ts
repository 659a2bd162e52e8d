// `npm run demo`: a full rollover on the local stack, told in ~30 lines. Starts moto (S3) and the
// EMR emulator, deploys v1 of a sample streaming app with the real action bundle (dist/index.js,
// run as the GitHub runner runs it), lets it stream, rolls it over to v2 with the same bundle, and
// proves from the drivers' own records that no record was lost or processed twice.
//
//   npm run demo                 # DEMO_VERBOSE=1 also streams the action's own log
//
// Exit status: 0 when every invariant holds, 1 when one fails, 130 on Ctrl-C (everything started
// here is stopped first: drivers, moto, the emulator's port, the temp dir).
import { DeleteObjectCommand } from '@aws-sdk/client-s3'
import type { ActivityEvent } from './contract.ts'
import type { Invariants } from './invariants.ts'
import type { ActionRun } from './run-action.ts'
import { listAllKeys } from './s3-read.ts'
import { colors, runDemo } from './demo-run.ts'
import { startStack, type Stack } from './stack.ts'

const VERBOSE = ['1', 'true', 'yes'].includes((process.env.DEMO_VERBOSE ?? '').toLowerCase())
const RATE = 50
const STREAM_FOR_MS = 3000
const FAST = { 'stable-for': '2s', 'start-timeout': '1m', 'stop-timeout': '1m' }

const { enabled: color, bold, dim, green, red } = colors

/** A run of the action with the arrival time of every stdout line, for the timeline. */
interface TimedRun {
  readonly run: ActionRun
  readonly lines: ReadonlyArray<{ readonly t: number; readonly text: string }>
}

function fmt(ms: number): string {
  if (!Number.isFinite(ms)) return '—'
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}

async function runTimed(
  stack: Stack,
  label: string,
  inputs: Record<string, string>,
): Promise<TimedRun> {
  const lines: Array<{ t: number; text: string }> = []
  let partial = ''
  const run = await stack.runAction(inputs, {
    timeoutMs: 90_000,
    onOutput: (chunk, stream) => {
      if (VERBOSE) {
        for (const line of chunk.split('\n').filter((l) => l !== '')) {
          process.stdout.write(
            dim(`    ${label} │ ${stream === 'stderr' ? '! ' : ''}${line}`) + '\n',
          )
        }
      }
      if (stream !== 'stdout') return
      const now = Date.now()
      const parts = (partial + chunk).split('\n')
      partial = parts.pop() ?? ''
      for (const text of parts) lines.push({ t: now, text })
    },
  })
  if (partial) lines.push({ t: Date.now(), text: partial })
  return { run, lines }
}

function failed(run: ActionRun): string | undefined {
  if (run.exitCode === 0) return undefined
  const error = /^::error::(.*)$/m.exec(run.stdout)?.[1]
  return (
    error ??
    `exit ${run.exitCode}${run.timedOut ? ' (timed out)' : ''}: ${run.stderr.trim().slice(-500)}`
  )
}

/** The Timeline table of the job summary: phase, start, took, status, detail. */
function timelineRows(summary: string): string[][] {
  const section = summary.split('### Timeline')[1] ?? ''
  return section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| Phase') && !l.startsWith('|---'))
    .map((l) =>
      l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim().replace(/\\\|/g, '|')),
    )
}

/** A phase's detail on one short line: step names left out, markers counted. */
function short(text: string, max: number): string {
  const compact = text
    .replace(/, rollover:[^)]*\)/g, ')')
    .replace(/markers: (s3:\/\/[^\s,;]+(, )?)+/g, (m) => `${m.split('s3://').length - 1} marker(s)`)
  return compact.length <= max ? compact : `${compact.slice(0, max - 1)}…`
}

/** What the completed batches say: contiguous from 0, who handled which range. */
function tiling(verdict: Invariants): {
  contiguous: boolean
  end: number
  ranges: Array<{ version: string; from: number; to: number }>
} {
  const done = verdict.batches.filter((b) => b.completed).sort((a, b) => a.start - b.start)
  let next = 0
  let contiguous = true
  const ranges: Array<{ version: string; from: number; to: number }> = []
  for (const b of done) {
    if (b.start !== next) contiguous = false
    next = b.end
    const last = ranges.at(-1)
    const version = b.version ?? '?'
    if (last && last.version === version && last.to === b.start - 1) last.to = b.end - 1
    else ranges.push({ version, from: b.start, to: b.end - 1 })
  }
  return { contiguous: contiguous && next === verdict.committedOffset, end: next, ranges }
}

/** Deletes the app's markers (the contract's stop) and waits until its drivers have exited. */
async function stopGracefully(stack: Stack): Promise<void> {
  for (const key of await listAllKeys(
    stack.s3,
    stack.bucket,
    `rollover/${stack.appName}/markers/`,
  )) {
    await stack.s3.send(new DeleteObjectCommand({ Bucket: stack.bucket, Key: key }))
  }
  await stack.emr.waitFor(() => stack.emr.liveApps().length === 0, 15_000, 'the driver to stop')
}

async function waitUntil(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${fmt(ms)} waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function main(): Promise<number> {
  const started = Date.now()
  console.log(
    bold('emr-streaming-rollover demo') +
      dim(' — moto S3 + EMR emulator; each step runs a real driver process'),
  )
  const stack = await startStack({ source: { ratePerSec: RATE } })
  try {
    const step = (what: string, detail: string, ms?: number) =>
      console.log(`  ${what.padEnd(9)}${detail}${ms === undefined ? '' : dim(`  (${fmt(ms)})`)}`)
    step(
      'stack',
      `cluster ${stack.clusterId}, stream ${stack.appName} at ${RATE} records/s`,
      Date.now() - started,
    )

    const v1Jar = await stack.makeJar('v1')
    const v2Jar = await stack.makeJar('v2')
    const base = stack.inputs(FAST)

    const first = await runTimed(stack, 'v1', { ...base, jar: v1Jar })
    const firstError = failed(first.run)
    if (firstError) throw new Error(`the first deploy failed: ${firstError}`)
    step(
      'deploy',
      `v1 → ${first.run.outputs.result}, step ${first.run.outputs['step-id']} running`,
      first.run.durationMs,
    )

    await new Promise((resolve) => setTimeout(resolve, STREAM_FOR_MS))
    const midway = await stack.checkInvariants()
    step('stream', `v1 processed offsets 0..${midway.committedOffset - 1} in ${fmt(STREAM_FOR_MS)}`)

    const second = await runTimed(stack, 'v2', { ...base, jar: v2Jar })
    const secondError = failed(second.run)
    if (secondError) throw new Error(`the rollover failed: ${secondError}`)
    const out = second.run.outputs
    step(
      'rollover',
      `v1 → v2 → ${out.result}, step ${out['step-id']} running`,
      second.run.durationMs,
    )

    // Let v2 work off the backlog of the handover, then stop it the contract's way for the count.
    const backlog = Math.floor((await stack.checkInvariants()).sourceOffset / 10) * 10
    await waitUntil(
      async () => (await stack.checkInvariants()).committedOffset >= backlog,
      15_000,
      `v2 to catch up to offset ${backlog}`,
    )
    const oneDriver =
      stack.emr.liveApps().length === 1 &&
      stack.emr.liveApps()[0]?.stepId === out['step-id'] &&
      (await stack.checkInvariants()).markers.length === 1
    await stopGracefully(stack)
    const verdict = await stack.checkInvariants()
    const events = await stack.readActivity()

    printTimeline(second, events, out['previous-step-id'] ?? '', out['step-id'] ?? '')
    console.log(bold('\nOutputs'))
    for (const [name, value] of Object.entries(out)) {
      console.log(`  ${name.padEnd(20)}${dim(value || '—')}`)
    }
    console.log()
    return printVerdict(verdict, out, oneDriver)
  } finally {
    await stack.stop()
  }
}

function printTimeline(
  timed: TimedRun,
  events: readonly ActivityEvent[],
  oldStep: string,
  newStep: string,
): void {
  // The summary's times are relative to the start of Preflight: anchor them on its log line.
  const at = (pattern: RegExp) => timed.lines.find((l) => pattern.test(l.text))?.t
  const zero = at(/^::group::Preflight/) ?? timed.lines[0]?.t ?? 0
  const rel = (t: number | undefined) => (t === undefined ? '—' : `+${fmt(t - zero)}`)
  console.log(bold('\nRollover timeline') + dim(' (phases from the job summary)'))
  for (const [name = '', start = '', took = '', status = '', detail = ''] of timelineRows(
    timed.run.summary,
  )) {
    const mark = status === 'ok' ? green('ok') : status === 'failed' ? red(status) : status
    console.log(
      `  ${name.padEnd(10)}${start.padEnd(8)}${took.padStart(6)}  ${mark.padEnd(color ? 16 : 7)} ${dim(short(detail, 64))}`,
    )
  }
  const first = (event: string, stepId: string) =>
    events.find((e) => e.event === event && e.stepId === stepId)
  const oldExit = events.find(
    (e) => e.event === 'app-exit' && e.pid === first('driver-start', oldStep)?.pid,
  )
  const newBatch = first('batch-start', newStep)
  console.log(dim('  drivers (from their activity log, same clock):'))
  console.log(
    `  ${rel(at(/^Deleted \d+ marker/)).padEnd(9)} marker deleted → v1 saw it ${rel(first('stop-requested', oldStep)?.t)}, ` +
      `committed ${first('stopped', oldStep)?.offset ?? '?'}, exited ${oldExit?.exitCode ?? '?'} ${rel(oldExit?.t)}`,
  )
  console.log(
    `  ${rel(at(/^Submitted step/)).padEnd(9)} v2 submitted → started ${rel(first('driver-start', newStep)?.t)}, ` +
      `first batch ${rel(newBatch?.t)} at offset ${newBatch?.start ?? '?'}`,
  )
}

function printVerdict(
  verdict: Invariants,
  out: Record<string, string>,
  oneDriver: boolean,
): number {
  const { contiguous, end, ranges } = tiling(verdict)
  const handled = ranges.map((r) => `${r.version} handled ${r.from}..${r.to}`).join(', ')
  const gap = verdict.handovers[0]?.gapMs
  const problems = [
    ...(verdict.lostOffsets.length ? [`${verdict.lostOffsets.length} offsets lost`] : []),
    ...(verdict.duplicateBatches.length
      ? [`${verdict.duplicateBatches.length} batches processed twice`]
      : []),
    ...(verdict.corruptBatches.length ? [`${verdict.corruptBatches.length} corrupt outputs`] : []),
    ...(verdict.overlaps.length ? [`${verdict.overlaps.length} overlapping batches`] : []),
    ...(verdict.driverOverlaps.length ? [`two drivers alive at once`] : []),
    ...(contiguous ? [] : ['offsets not contiguous']),
    ...(end === 0 ? ['nothing processed'] : []),
    ...(ranges.map((r) => r.version).join(',') === 'v1,v2' ? [] : [`versions ran as ${handled}`]),
    ...(oneDriver ? [] : ['not exactly one driver and one marker after the rollover']),
  ]
  const downtime = `downtime ${out['downtime-seconds']} s${gap === undefined ? '' : ` (processing gap ${fmt(gap)})`}`
  if (problems.length > 0) {
    console.log(red(`✘ ${problems.join('; ')}`) + dim(` — ${handled}; ${downtime}`))
    return 1
  }
  console.log(
    green('✔') +
      ` ${end} records, offsets 0..${end - 1} contiguous, processed exactly once; ${handled}; ` +
      `0 overlaps; ${downtime}`,
  )
  return 0
}

runDemo(main, 'stopping the drivers, moto and the emulator…')
