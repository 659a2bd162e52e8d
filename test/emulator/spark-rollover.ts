// One rollover of a real Structured Streaming app, v1 to v2, with the real action bundle, on a
// stack in the real-Spark mode: shared by test/e2e/spark.e2e.test.ts (which asserts) and
// `npm run demo:spark` (which tells). Ends with v2 stopped the contract's way, so that its
// `.stopped` names the last committed offset and the sink can be checked against it.
import { DeleteObjectCommand } from '@aws-sdk/client-s3'
import type { ActivityEvent } from './contract.ts'
import type { ActionRun, RunActionOptions } from './run-action.ts'
import { readText } from './s3-read.ts'
import type { SparkSink } from './spark-verdict.ts'
import type { Stack } from './stack.ts'

/** The sample app's rate, given explicitly in its arguments: values are seconds × this. */
export const ROWS_PER_SECOND = 10

/**
 * Real Spark takes seconds to start, and a loaded two-core machine more: generous, explicit
 * bounds as inputs (not code changes), and verification by the driver's progress, so that a
 * deploy is only green once Spark is committing batches.
 */
export const SPARK_INPUTS: Readonly<Record<string, string>> = {
  'start-timeout': '5m',
  'stop-timeout': '3m',
  'stable-for': '8s',
  'lock-timeout': '1m',
  'verify-by': 'progress',
  // The library's defaults (5 s) suit a cluster; a test wants the stop and the reports sooner.
  'spark-submit-args': [
    '--conf',
    'spark.rollover.pollInterval=1s',
    '--conf',
    'spark.rollover.progressInterval=1s',
  ].join('\n'),
}

export interface SparkRollover {
  readonly first: ActionRun
  readonly second: ActionRun
  /** v2's `.stopped` after the final, graceful stop (the last committed offset). */
  readonly finalStopped: { batchId: number | null; endOffset: unknown }
  /** The rollover's deployment record (handoff offsets on both sides). */
  readonly record: {
    handoff?: { verdict: string; sources: Array<{ oldEnd?: unknown; newStart?: unknown }> }
  }
  readonly sink: SparkSink
  /** YARN's app-start / app-exit of the two drivers (pids, times). */
  readonly lifetimes: ReadonlyArray<{ stepId: string; startedAt: number; exitedAt?: number }>
}

const failed = (what: string, run: ActionRun): Error =>
  new Error(
    `${what}: exit ${run.exitCode}${run.timedOut ? ' (timed out)' : ''}\n` +
      `${/^::error::(.*)$/m.exec(run.stdout)?.[1] ?? run.stderr.trim().slice(-2000)}`,
  )

/** Deploys v1, rolls over to v2, stops v2 gracefully; throws with the transcript on a failure. */
export async function rollOverRealSpark(
  stack: Stack,
  options: { runOptions?: RunActionOptions; log?: (line: string) => void } = {},
): Promise<SparkRollover> {
  const log = options.log ?? (() => {})
  const inputs = stack.inputs({
    ...SPARK_INPUTS,
    'app-args': `--state\n${stack.statePrefix}\n--rows-per-second\n${ROWS_PER_SECOND}`,
  })
  const runOptions = { timeoutMs: 8 * 60_000, ...options.runOptions }
  const first = await stack.runAction({ ...inputs, jar: await stack.makeJar('v1') }, runOptions)
  if (first.exitCode !== 0) throw failed('the first deploy (v1) failed', first)
  log(`v1 deployed: ${first.outputs.result}, step ${first.outputs['step-id']}`)

  const second = await stack.runAction({ ...inputs, jar: await stack.makeJar('v2') }, runOptions)
  if (second.exitCode !== 0) throw failed('the rollover to v2 failed', second)
  log(`v2 deployed: ${second.outputs.result}, handoff ${second.outputs.handoff}`)

  const finalStopped = await stopGracefully(stack, second.outputs['marker-uri'] ?? '')
  const events = await stack.readActivity(stack.statePrefix)
  const recordKey = `rollover/${stack.appName}/deployments/${second.outputs['deployment-id']}.json`
  return {
    first,
    second,
    finalStopped,
    record: JSON.parse((await readText(stack.s3, stack.bucket, recordKey)) ?? '{}'),
    sink: await stack.sparkSink(),
    lifetimes: lifetimes(events, [first.outputs['step-id'], second.outputs['step-id']]),
  }
}

/** The contract's stop (delete the marker), then the driver's `.stopped` once its step ended. */
async function stopGracefully(
  stack: Stack,
  markerUri: string,
): Promise<SparkRollover['finalStopped']> {
  const markerKey = markerUri.replace(`s3://${stack.bucket}/`, '')
  await stack.s3.send(new DeleteObjectCommand({ Bucket: stack.bucket, Key: markerKey }))
  await stack.emr.waitFor(() => stack.emr.liveApps().length === 0, 180_000, 'v2 to stop')
  const text = await readText(stack.s3, stack.bucket, `${markerKey}.stopped`)
  if (!text) throw new Error(`v2 ended without ${markerUri}.stopped`)
  const stopped = JSON.parse(text) as {
    batchId: number | null
    sources: Array<{ endOffset: unknown }>
  }
  return { batchId: stopped.batchId, endOffset: stopped.sources[0]?.endOffset }
}

function lifetimes(
  events: readonly ActivityEvent[],
  stepIds: ReadonlyArray<string | undefined>,
): SparkRollover['lifetimes'] {
  return stepIds.map((stepId = '') => ({
    stepId,
    startedAt: events.find((e) => e.event === 'app-start' && e.stepId === stepId)?.t ?? NaN,
    exitedAt: events.findLast((e) => e.event === 'app-exit' && e.stepId === stepId)?.t,
  }))
}

/** A rate-source offset (seconds) as the first value of the next batch. */
export function valueAt(offset: unknown): number {
  // The rate source's offset is a JSON number: seconds since the query's first start.
  return typeof offset === 'number' ? offset * ROWS_PER_SECOND : NaN
}

/**
 * Everything that must hold, as sentences; empty when the rollover was exactly once: every value
 * up to v2's last commit once, v1 then v2, the boundary where both drivers said the handoff was.
 */
export function sparkProblems(r: SparkRollover): string[] {
  const end = valueAt(r.finalStopped.endOffset)
  const handoff = r.record.handoff?.sources[0]
  const boundary = valueAt(handoff?.oldEnd)
  const [v1, v2] = r.sink.ranges
  const [old, next] = r.lifetimes
  return [
    ...(r.second.outputs.result === 'deployed' ? [] : [`result ${r.second.outputs.result}`]),
    ...(r.second.outputs.handoff === 'contiguous' ? [] : [`handoff ${r.second.outputs.handoff}`]),
    ...(r.sink.missing.length ? [`values never written: ${r.sink.missing.join(', ')}`] : []),
    ...(r.sink.duplicated.length ? [`values written twice: ${r.sink.duplicated.join(', ')}`] : []),
    ...(r.sink.maxValue + 1 === end
      ? []
      : [`the sink ends at ${r.sink.maxValue + 1}, v2's .stopped at ${end}`]),
    ...(r.sink.ranges.length === 2 && v1?.version === 'v1' && v2?.version === 'v2' && v1.from === 0
      ? []
      : [
          `versions ran as ${r.sink.ranges.map((x) => `${x.version} ${x.from}..${x.to}`).join(', ')}`,
        ]),
    ...(v2?.from === boundary && valueAt(handoff?.newStart) === boundary
      ? []
      : [
          `v2 took over at value ${v2?.from}; the drivers reported ${handoff?.oldEnd} → ${handoff?.newStart}`,
        ]),
    ...(old?.exitedAt !== undefined && next !== undefined && old.exitedAt <= next.startedAt
      ? []
      : ['v1 was still running when v2 started']),
  ]
}
