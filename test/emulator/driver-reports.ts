// The simulated driver's reports next to its marker, as the driver library writes them (the
// test vectors in src/contract/vectors/ fix the documents): `.ready` (standby), `.progress`
// after committed batches (the first at once, then at most every `progressMs`), `.stopped`
// after a graceful stop with the final committed offsets.
import { PROGRESS_SUFFIX, READY_SUFFIX, STOPPED_SUFFIX } from '../../src/contract/reports.ts'
import { sourceDescription, sourceOffset } from './contract.ts'
import { getText, putJson, type S3Object } from './driver-io.ts'

export interface Batch {
  readonly batchId: number
  readonly start: number
  readonly end: number
  readonly committedAt: number
  readonly durationMs: number
}

export interface ReportIdentity {
  readonly applicationId?: string
  readonly deploymentId?: string
  readonly stateUri: string
  /** The simulated trigger interval (the source's batch cadence). */
  readonly triggerIntervalMs: number
}

/** `.progress` firstBatch: the deployment's first committed batch, across re-attempts. */
interface FirstBatchDoc {
  readonly batchId: number
  readonly committedAt: string
  readonly sources: readonly unknown[]
}

const iso = (t: number) => new Date(t).toISOString()

function sources(id: ReportIdentity, start: number | undefined, end: number) {
  return [
    {
      description: sourceDescription(id.stateUri),
      startOffset: start === undefined ? null : sourceOffset(id.stateUri, start),
      endOffset: sourceOffset(id.stateUri, end),
      ...(start === undefined ? {} : { numInputRows: end - start }),
    },
  ]
}

export async function writeReady(marker: S3Object, id: ReportIdentity): Promise<void> {
  await putJson(marker.bucket, `${marker.key}${READY_SUFFIX}`, {
    version: 1,
    readyAt: iso(Date.now()),
    ...(id.applicationId ? { applicationId: id.applicationId } : {}),
    ...(id.deploymentId ? { deploymentId: id.deploymentId } : {}),
  })
}

/** Writes `.progress` after committed batches, rate-limited, one write at a time, in order. */
export class ProgressReporter {
  private first?: Batch
  private inherited?: FirstBatchDoc
  private last?: Batch
  private writtenAt = 0
  private pendingTimer?: NodeJS.Timeout
  private chain: Promise<void> = Promise.resolve()
  private readonly marker: S3Object
  private readonly id: ReportIdentity
  private readonly everyMs: number
  private readonly startedAt = Date.now()
  private readonly onError: (error: Error) => void

  constructor(
    marker: S3Object,
    id: ReportIdentity,
    everyMs: number,
    onError: (error: Error) => void,
  ) {
    this.marker = marker
    this.id = id
    this.everyMs = everyMs
    this.onError = onError
  }

  /**
   * A YARN re-attempt is the same deployment in a new process: its `.progress` keeps the first
   * batch of the deployment's first attempt, which is the one the handoff check compares with
   * the old driver's final offsets. Without it, the re-attempt's own first batch (resuming from
   * the checkpoint its predecessor advanced) looks like a gap.
   */
  async inheritFirstBatch(): Promise<void> {
    const text = await getText(this.marker.bucket, `${this.marker.key}${PROGRESS_SUFFIX}`)
    if (text === undefined) return
    const earlier = JSON.parse(text) as { deploymentId?: string; firstBatch?: FirstBatchDoc }
    if (earlier.deploymentId !== this.id.deploymentId || !earlier.firstBatch) return
    this.inherited = earlier.firstBatch
  }

  committed(batch: Batch): void {
    this.first ??= batch
    this.last = batch
    const due = this.writtenAt === 0 ? 0 : this.writtenAt + this.everyMs - Date.now()
    if (due <= 0) return this.write()
    // A trailing write, so that the last batch is reported even if no other commits.
    this.pendingTimer ??= setTimeout(() => {
      this.pendingTimer = undefined
      this.write()
    }, due)
  }

  /** Waits for writes in flight; no further write after this. */
  async stop(): Promise<void> {
    if (this.pendingTimer) clearTimeout(this.pendingTimer)
    this.pendingTimer = undefined
    await this.chain
  }

  private write(): void {
    const first = this.first
    const last = this.last
    if (!first || !last) return
    this.writtenAt = Date.now()
    const id = this.id
    const firstBatch: FirstBatchDoc = this.inherited ?? {
      batchId: first.batchId,
      committedAt: iso(first.committedAt),
      sources: sources(id, first.start, first.end),
    }
    const body = {
      version: 1,
      api: 'structured-streaming',
      ...(id.applicationId ? { applicationId: id.applicationId } : {}),
      ...(id.deploymentId ? { deploymentId: id.deploymentId } : {}),
      startedAt: iso(this.startedAt),
      batchId: last.batchId,
      committedAt: iso(last.committedAt),
      firstBatchId: firstBatch.batchId,
      firstBatch,
      sources: sources(id, last.start, last.end),
      numInputRows: last.end - last.start,
      inputRowsPerSecond: ((last.end - last.start) * 1000) / id.triggerIntervalMs,
      processedRowsPerSecond: ((last.end - last.start) * 1000) / Math.max(1, last.durationMs),
      batchDurationMs: last.durationMs,
      triggerIntervalMs: id.triggerIntervalMs,
    }
    this.chain = this.chain
      .then(() => putJson(this.marker.bucket, `${this.marker.key}${PROGRESS_SUFFIX}`, body))
      .catch((error: unknown) => this.onError(error as Error))
  }
}

/** The `.stopped` body: the final committed offsets; the emulator's older fields kept too. */
export function stoppedBody(
  id: ReportIdentity,
  final: { offset: number; lastBatch?: Batch; drainMs: number },
  legacy: { jarVersion: string; stepId: string },
): Record<string, unknown> {
  return {
    version: 1,
    api: 'structured-streaming',
    ...(id.applicationId ? { applicationId: id.applicationId } : {}),
    ...(id.deploymentId ? { deploymentId: id.deploymentId } : {}),
    stoppedAt: iso(Date.now()),
    batchId: final.lastBatch?.batchId ?? null,
    sources: sources(id, final.lastBatch?.start, final.offset),
    drainMs: final.drainMs,
    graceful: true,
    // The emulator's own fields (older tests and the demo read them).
    offset: final.offset,
    jarVersion: legacy.jarVersion,
    stepId: legacy.stepId,
    appId: id.applicationId,
  }
}

/** A standby retired before it ran (its marker deleted while it waited): nothing is its own. */
export function retiredBody(id: ReportIdentity): Record<string, unknown> {
  return {
    version: 1,
    api: 'structured-streaming',
    ...(id.applicationId ? { applicationId: id.applicationId } : {}),
    ...(id.deploymentId ? { deploymentId: id.deploymentId } : {}),
    stoppedAt: iso(Date.now()),
    batchId: null,
    sources: [],
    graceful: true,
    retired: true,
  }
}

export async function writeStopped(marker: S3Object, body: Record<string, unknown>): Promise<void> {
  await putJson(marker.bucket, `${marker.key}${STOPPED_SUFFIX}`, body)
}
