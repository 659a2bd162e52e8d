// The driver's reports next to its marker (DESIGN.md, "The contract"): `.ready` (standby),
// `.progress` (after committed batches) and `.stopped` (after a graceful stop). Parsing is
// lenient, as the contract says: unknown fields are ignored, a missing field is undefined, and a
// body that is not a version-1 JSON object is no report at all. Test vectors: ./vectors/.

export const READY_SUFFIX = '.ready'
export const PROGRESS_SUFFIX = '.progress'
export const STOPPED_SUFFIX = '.stopped'
export const REPORT_SUFFIXES = [READY_SUFFIX, PROGRESS_SUFFIX, STOPPED_SUFFIX] as const

/** A source's offsets as Spark prints them (JSON values), or null when the driver cannot tell. */
export interface SourceOffsets {
  readonly description: string
  readonly startOffset: unknown
  readonly endOffset: unknown
  readonly numInputRows?: number
}

export interface ReadyReport {
  readonly readyAt?: string
  readonly applicationId?: string
  readonly deploymentId?: string
}

export interface ProgressReport {
  readonly api?: string
  readonly applicationId?: string
  readonly deploymentId?: string
  readonly startedAt?: string
  /** The last committed batch. */
  readonly batchId?: number
  readonly committedAt?: string
  /** The first batch this driver ran (its own, not the checkpoint's). */
  readonly firstBatchId?: number
  readonly firstBatch?: {
    readonly batchId?: number
    readonly committedAt?: string
    readonly sources: readonly SourceOffsets[]
  }
  /** The last committed batch's sources. */
  readonly sources: readonly SourceOffsets[]
  readonly numInputRows?: number
  readonly inputRowsPerSecond?: number
  readonly processedRowsPerSecond?: number
  readonly batchDurationMs?: number
  /** The trigger (Structured Streaming) or batch (DStreams) interval, when the driver knows it. */
  readonly triggerIntervalMs?: number
}

export interface StoppedReport {
  readonly api?: string
  readonly applicationId?: string
  readonly deploymentId?: string
  readonly stoppedAt?: string
  /** The last committed batch; null when the driver committed none. */
  readonly batchId?: number | null
  /** The final committed offsets per source. */
  readonly sources: readonly SourceOffsets[]
  readonly drainMs?: number
  readonly graceful?: boolean
}

type Json = Record<string, unknown>

function object(text: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(text)
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
    return (value as Json).version === 1 ? (value as Json) : undefined
  } catch {
    return undefined
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : undefined

function sources(value: unknown): SourceOffsets[] {
  if (!Array.isArray(value)) return []
  return value.flatMap((s): SourceOffsets[] => {
    if (s === null || typeof s !== 'object') return []
    const o = s as Json
    const description = str(o.description)
    if (description === undefined) return []
    return [
      {
        description,
        startOffset: o.startOffset ?? null,
        endOffset: o.endOffset ?? null,
        ...(num(o.numInputRows) === undefined ? {} : { numInputRows: num(o.numInputRows) }),
      },
    ]
  })
}

function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}

export function parseReady(text: string): ReadyReport | undefined {
  const o = object(text)
  if (!o) return undefined
  return defined({
    readyAt: str(o.readyAt),
    applicationId: str(o.applicationId),
    deploymentId: str(o.deploymentId),
  })
}

export function parseProgress(text: string): ProgressReport | undefined {
  const o = object(text)
  if (!o) return undefined
  const first =
    o.firstBatch !== null && typeof o.firstBatch === 'object' ? (o.firstBatch as Json) : undefined
  return defined({
    api: str(o.api),
    applicationId: str(o.applicationId),
    deploymentId: str(o.deploymentId),
    startedAt: str(o.startedAt),
    batchId: num(o.batchId),
    committedAt: str(o.committedAt),
    firstBatchId: num(o.firstBatchId),
    firstBatch: first && {
      ...defined({ batchId: num(first.batchId), committedAt: str(first.committedAt) }),
      sources: sources(first.sources),
    },
    sources: sources(o.sources),
    numInputRows: num(o.numInputRows),
    inputRowsPerSecond: num(o.inputRowsPerSecond),
    processedRowsPerSecond: num(o.processedRowsPerSecond),
    batchDurationMs: num(o.batchDurationMs),
    triggerIntervalMs: num(o.triggerIntervalMs),
  })
}

export function parseStopped(text: string): StoppedReport | undefined {
  const o = object(text)
  if (!o) return undefined
  return defined({
    api: str(o.api),
    applicationId: str(o.applicationId),
    deploymentId: str(o.deploymentId),
    stoppedAt: str(o.stoppedAt),
    batchId: o.batchId === null ? null : num(o.batchId),
    sources: sources(o.sources),
    drainMs: num(o.drainMs),
    graceful: typeof o.graceful === 'boolean' ? o.graceful : undefined,
  })
}

/** `<marker key>` of a report key, or undefined when the key is no report. */
export function markerKeyOfReport(key: string): string | undefined {
  const suffix = REPORT_SUFFIXES.find((s) => key.endsWith(s))
  return suffix === undefined ? undefined : key.slice(0, -suffix.length)
}
