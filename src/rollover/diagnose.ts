// Why a step failed, for the summary (DESIGN.md phase 9): EMR's FailureDetails, and the tail of
// the step's stderr from the cluster's LogUri when the workflow may read it. A diagnosis only
// explains: it never throws, and it never holds up the run (the read has a timeout, and the bytes
// read and inflated are capped, because a step's stderr can be any size).
import { createGunzip, constants as zlib } from 'node:zlib'
import type { ClusterInfo, StepInfo } from '../aws/emr-port.ts'
import { AccessDenied, type ObjectStore } from '../aws/object-store.ts'
import type { S3Location } from '../aws/s3-location.ts'
import { formatDuration, type Clock } from '../clock.ts'
import { describeError } from '../errors.ts'
import type { Log } from '../log.ts'
import type { StepFailureDetails } from './report.ts'

/** The optional statement of examples/iam-policy.json that lets the workflow read step logs. */
export const STEP_LOGS_STATEMENT_SID = 'OptionalReadEmrStepLogs'

export interface DiagnoseContext {
  readonly store: ObjectStore
  readonly clock: Clock
  readonly log: Log
}

export interface DiagnoseOptions {
  /** How long the read may take. */
  readonly timeoutMs?: number
  /** Bytes of the (compressed) object read at most. */
  readonly maxBytes?: number
  /** Bytes inflated at most (a small gzip can hold a huge log). */
  readonly maxInflatedBytes?: number
  /** Lines of the tail. */
  readonly lines?: number
}

const DEFAULTS = {
  timeoutMs: 10_000,
  maxBytes: 2 * 1024 * 1024,
  maxInflatedBytes: 64 * 1024 * 1024,
  lines: 30,
}
/** Characters of one line kept: a stack trace line is short, a dumped config is not. */
const MAX_LINE = 400
// Terminal colours and control characters mean nothing in a web page (tabs stay).
// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\x1b\[[0-9;?]*[A-Za-z]/g
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\x00-\x08\x0b-\x1f\x7f]/g
/** Decoded text kept while inflating: enough for the tail, whatever the log's size. */
const TAIL_WINDOW = 64 * 1024

/** EMR's FailureDetails of a failed step, and the tail of its stderr when it can be read. */
export async function diagnoseStepFailure(
  ctx: DiagnoseContext,
  step: Pick<StepInfo, 'id' | 'failure'>,
  cluster: Pick<ClusterInfo, 'id' | 'logUri'>,
  options: DiagnoseOptions = {},
): Promise<StepFailureDetails> {
  const o = { ...DEFAULTS, ...options }
  const base: StepFailureDetails = {
    ...(clean(step.failure?.reason) && { reason: clean(step.failure?.reason) }),
    ...(clean(step.failure?.message) && { message: clean(step.failure?.message) }),
  }
  try {
    const where = stderrLocation(step, cluster)
    if (!where) {
      return {
        ...base,
        stderrNote: `The cluster has no log URI, so EMR keeps the step's logs only on its primary node (/mnt/var/log/hadoop/steps/${step.id}/). Create the cluster with a LogUri to see them here.`,
      }
    }
    const withLog = { ...base, logFile: where.uri }
    if (!ctx.store.getBytes)
      return { ...withLog, stderrNote: `Read the step's stderr at ${where.uri}.` }
    const read = await readWithin(ctx, where.location, o)
    if (read.kind === 'missing') {
      return {
        ...withLog,
        stderrNote: `The step's stderr is not in S3 yet (EMR uploads step logs every few minutes); it will be at ${where.uri}.`,
      }
    }
    if (read.kind === 'denied') {
      return {
        ...withLog,
        stderrNote: `S3 refused to read the step's logs (403): the workflow's role lacks s3:GetObject there (or the logs' KMS key, or the bucket's owner is not expected-bucket-owner). To see them here, add the optional statement ${STEP_LOGS_STATEMENT_SID} of examples/iam-policy.json: s3:GetObject on arn:aws:s3:::${where.location.bucket}/${logPrefix(where.location)}*.`,
      }
    }
    if (read.kind === 'timeout') {
      return {
        ...withLog,
        stderrNote: `Reading the step's stderr took longer than ${formatDuration(o.timeoutMs)}; it is at ${where.uri}.`,
      }
    }
    if (read.kind === 'error') {
      return { ...withLog, stderrNote: `Could not read ${where.uri}: ${read.message}.` }
    }
    const text = await decode(read.bytes, o.maxInflatedBytes)
    // A log read or inflated only in part ends mid-line: that line is dropped too.
    const cutShort = text.cut || read.size > read.bytes.length
    const tail = lastLines(text.tail, o.lines, { partialStart: text.partial, partialEnd: cutShort })
    ctx.log.debug(`Read ${read.bytes.length} of ${read.size} bytes of ${where.uri}.`)
    const notes = [
      cutShort
        ? `The log is longer than the action reads (${mib(read.size)} in S3): these are the last lines of its first ${text.cut ? mib(o.maxInflatedBytes) + ' inflated' : mib(read.bytes.length)}; the whole log is at ${where.uri}.`
        : undefined,
      driverLogHint(tail, cluster),
      tail.length === 0 ? `The step's stderr at ${where.uri} is empty.` : undefined,
    ].filter((n): n is string => n !== undefined)
    return {
      ...withLog,
      ...(tail.length > 0 && { stderrTail: tail }),
      ...(notes.length > 0 && { stderrNote: notes.join(' ') }),
    }
  } catch (error) {
    return { ...base, stderrNote: `Could not read the step's stderr: ${describeError(error)}.` }
  }
}

/** EMR's LogFile, or `<LogUri>/<cluster-id>/steps/<step-id>/stderr.gz`. */
export function stderrLocation(
  step: Pick<StepInfo, 'id' | 'failure'>,
  cluster: Pick<ClusterInfo, 'id' | 'logUri'>,
): { location: S3Location; uri: string } | undefined {
  const fromEmr = step.failure?.logFile ? parseLogUri(step.failure.logFile) : undefined
  if (fromEmr && fromEmr.key !== '') return { location: fromEmr, uri: step.failure!.logFile! }
  const root = cluster.logUri ? parseLogUri(cluster.logUri) : undefined
  if (!root) return undefined
  const key = [root.key, cluster.id, 'steps', step.id, 'stderr.gz'].filter((p) => p).join('/')
  const location = { bucket: root.bucket, key }
  return { location, uri: `s3://${location.bucket}/${location.key}` }
}

/** `s3://`, `s3n://` or `s3a://` (EMR writes LogUri with any of them); the key without slashes. */
export function parseLogUri(uri: string): S3Location | undefined {
  const m = /^s3[na]?:\/\/([^/\s]+)\/*(.*?)\/*$/i.exec(uri.trim())
  return m ? { bucket: m[1] as string, key: (m[2] as string).replace(/\/{2,}/g, '/') } : undefined
}

type ReadOutcome =
  | { kind: 'bytes'; bytes: Uint8Array; size: number }
  | { kind: 'missing' }
  | { kind: 'denied' }
  | { kind: 'timeout' }
  | { kind: 'error'; message: string }

/** The read, raced against the injected clock; a late answer is aborted and ignored. */
async function readWithin(
  ctx: DiagnoseContext,
  location: S3Location,
  o: typeof DEFAULTS,
): Promise<ReadOutcome> {
  const request = new AbortController()
  const timer = new AbortController()
  const reading = ctx.store.getBytes!(location, {
    maxBytes: o.maxBytes,
    signal: request.signal,
  }).then(
    (r): ReadOutcome => (r ? { kind: 'bytes', bytes: r.bytes, size: r.size } : { kind: 'missing' }),
    (error: unknown): ReadOutcome =>
      error instanceof AccessDenied
        ? { kind: 'denied' }
        : { kind: 'error', message: describeError(error) },
  )
  const timeout = ctx.clock.sleep(o.timeoutMs, timer.signal).then(
    (): ReadOutcome => ({ kind: 'timeout' }),
    (): ReadOutcome => ({ kind: 'timeout' }),
  )
  try {
    const outcome = await Promise.race([reading, timeout])
    if (outcome.kind === 'timeout') request.abort(new Error('diagnosis timed out'))
    return outcome
  } finally {
    timer.abort()
  }
}

/**
 * The end of the decoded text. Gzip (EMR's step logs) is inflated as a stream, keeping only a
 * window of the end, and stops at `maxInflated`; a gzip cut short by the byte cap yields what it
 * holds. Anything else is taken as text.
 */
async function decode(
  bytes: Uint8Array,
  maxInflated: number,
): Promise<{ tail: string; cut: boolean; partial: boolean }> {
  const gzip = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b
  if (!gzip) {
    const partial = bytes.length > TAIL_WINDOW
    return { tail: Buffer.from(bytes.subarray(-TAIL_WINDOW)).toString('utf8'), cut: false, partial }
  }
  return new Promise((resolve) => {
    const gunzip = createGunzip({ finishFlush: zlib.Z_SYNC_FLUSH })
    let window: Buffer = Buffer.alloc(0)
    let total = 0
    let done = false
    const finish = (cut: boolean): void => {
      if (done) return
      done = true
      gunzip.destroy()
      resolve({ tail: window.toString('utf8'), cut, partial: total > window.length })
    }
    gunzip.on('data', (chunk: Buffer) => {
      const room = maxInflated - total
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk
      total += part.length
      const joined = Buffer.concat([window, part])
      window = joined.length > TAIL_WINDOW ? joined.subarray(joined.length - TAIL_WINDOW) : joined
      if (total >= maxInflated) finish(true)
    })
    gunzip.on('end', () => finish(false))
    // A corrupt or truncated stream still gives what was inflated before it.
    gunzip.on('error', () => finish(false))
    gunzip.end(bytes)
  })
}

/** The last `count` lines, each clipped; a partial first or last line is dropped. */
export function lastLines(
  text: string,
  count: number,
  cut: { readonly partialStart?: boolean; readonly partialEnd?: boolean } = {},
): string[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n')
  if (cut.partialStart) lines.shift()
  if (cut.partialEnd) lines.pop() // '' when the text ends with a newline
  while (lines.length > 0 && lines.at(-1)!.trim() === '') lines.pop()
  return lines.slice(-count).map((line) => {
    const plain = line.replace(ANSI_ESCAPE, '').replace(CONTROL_CHARACTERS, '')
    return plain.length > MAX_LINE ? `${plain.slice(0, MAX_LINE - 1)}…` : plain
  })
}

/**
 * spark-submit's stderr names the YARN application; the driver's own log, where the real cause
 * usually is, is in that application's containers.
 */
function driverLogHint(
  tail: readonly string[],
  cluster: Pick<ClusterInfo, 'id' | 'logUri'>,
): string | undefined {
  const app = tail
    .join('\n')
    .match(/application_\d+_\d+/g)
    ?.at(-1)
  const root = cluster.logUri ? parseLogUri(cluster.logUri) : undefined
  if (!app || !root) return undefined
  const key = [root.key, cluster.id, 'containers', app].filter((p) => p).join('/')
  return `The driver's own log is in s3://${root.bucket}/${key}/ (its first container).`
}

function logPrefix(location: S3Location): string {
  // The statement covers the cluster's whole log folder, not this one step.
  const parts = location.key.split('/')
  const steps = parts.lastIndexOf('steps')
  const kept = steps >= 1 ? parts.slice(0, steps - 1) : parts.slice(0, -1)
  return kept.length > 0 ? `${kept.join('/')}/` : ''
}

function clean(text: string | undefined): string | undefined {
  const trimmed = text?.trim()
  return trimmed ? trimmed : undefined
}

function mib(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MiB`
    : `${Math.ceil(bytes / 1024)} KiB`
}
