// The driver of a fake spark-submit step, on the fake clock: it honours the marker contract the
// way the driver library does (src/contract/vectors/). It processes a virtual stream whose
// checkpoint lives in the MemoryStore next to the app's markers (`<app>/fake-checkpoint`), in
// batches of 10 offsets, reports `.progress` after each committed batch, writes `.stopped` with
// its final committed offsets, and supports `mode: standby` (`.ready`, then wait for `run`).
// Each app records the batches it committed, so tests can prove none was lost or repeated.
import type { Clock } from '../../src/clock.ts'
import { markerMode } from '../../src/contract/markers.ts'
import type { MemoryStore } from './memory-store.ts'

export const BATCH_SIZE = 10
export const SOURCE = 'FakeSource[orders]'

export interface FakeDriverScript {
  /** From RUNNING (or from `run`, for a standby) to the first batch. Default 0. */
  readonly initMs: number
  /** Time between committed batches. Default 1s. */
  readonly batchMs: number
  /** How often the driver checks its marker. */
  readonly markerPollMs: number
  /** From seeing its marker gone to its last commit and exit. */
  readonly drainMs: number
  /** Writes `.stopped`. */
  readonly ack: boolean
  /** Writes `.progress` after committed batches (and `.ready`, `.stopped` bodies of version 1). */
  readonly reports: boolean
  /** Never commits a batch (stuck in initialisation). */
  readonly stuck: boolean
  /** Starts this many offsets after (positive: a gap) or before (an overlap) the checkpoint. */
  readonly offsetShift: number
  /** Writes `.stopped` and then never returns from main. */
  readonly stayAfterAck: boolean
  /** Never looks at its marker: runs until killed. */
  readonly ignoreMarker: boolean
}

export interface FakeDriverHost {
  readonly clock: Clock
  readonly store: MemoryStore
  readonly appId: string
  readonly markerUri?: string
  /** Runs `fn` after `ms` unless the world was disposed. */
  later(ms: number, fn: () => void): void
  isAlive(): boolean
  /** The application returns from main (exit 0). */
  exit(): void
  /** The driver saw its marker gone. */
  markerGone?(): void
}

/** What one driver did, for the tests' invariants. */
export interface DriverLog {
  /** Committed batches: [start, end) offsets. */
  readonly batches: Array<readonly [number, number]>
  standby?: boolean
  readyAt?: number
  runningAt?: number
  retired?: boolean
}

export function checkpointUri(markerUri: string): string {
  return `${markerUri.slice(0, markerUri.indexOf('/markers/'))}/fake-checkpoint`
}

function offsets(value: number): Record<string, Record<string, number>> {
  return { orders: { '0': value } }
}

export function runFakeDriver(host: FakeDriverHost, script: FakeDriverScript): DriverLog {
  const { clock, store, markerUri } = host
  const log: DriverLog = { batches: [] }
  const iso = (): string => new Date(clock.now()).toISOString()
  const put = (uri: string, body: unknown): void => store.seed(uri, JSON.stringify(body))
  let first: { batchId: number; committedAt: string; start: number; end: number } | undefined
  let batchId = 0
  let offset = 0
  const startedAt = iso()

  const markerText = (): string | undefined => (markerUri ? store.text(markerUri) : undefined)

  const report = (): void => {
    if (!markerUri || !script.reports || !first) return
    const last = log.batches.at(-1) as readonly [number, number]
    put(`${markerUri}.progress`, {
      version: 1,
      api: 'structured-streaming',
      applicationId: host.appId,
      startedAt,
      batchId,
      committedAt: iso(),
      firstBatchId: first.batchId,
      firstBatch: {
        batchId: first.batchId,
        committedAt: first.committedAt,
        sources: [
          { description: SOURCE, startOffset: offsets(first.start), endOffset: offsets(first.end) },
        ],
      },
      sources: [
        { description: SOURCE, startOffset: offsets(last[0]), endOffset: offsets(last[1]) },
      ],
      numInputRows: BATCH_SIZE,
      triggerIntervalMs: script.batchMs,
    })
  }

  const stop = (): void => {
    host.later(script.drainMs, () => {
      if (!host.isAlive()) return
      if (markerUri && script.ack) {
        const last = log.batches.at(-1)
        put(`${markerUri}.stopped`, {
          version: 1,
          api: 'structured-streaming',
          applicationId: host.appId,
          stoppedAt: iso(),
          batchId: last ? batchId : null,
          sources: last
            ? [{ description: SOURCE, startOffset: offsets(last[0]), endOffset: offsets(last[1]) }]
            : [],
          graceful: true,
        })
      }
      if (!script.stayAfterAck) host.exit()
    })
  }

  const commit = (): void => {
    const start = offset
    const end = start + BATCH_SIZE
    offset = end
    batchId += 1
    log.batches.push([start, end])
    if (markerUri) put(checkpointUri(markerUri), { offset: end, batchId })
    first ??= { batchId, committedAt: iso(), start, end }
    report()
  }

  const process = (initMs: number): void => {
    log.runningAt = clock.now()
    if (markerUri) {
      const saved = store.text(checkpointUri(markerUri))
      const checkpoint = saved
        ? (JSON.parse(saved) as { offset: number; batchId: number })
        : undefined
      offset = Math.max(0, (checkpoint?.offset ?? 0) + script.offsetShift)
      batchId = checkpoint?.batchId ?? 0
    }
    let stopping = false
    const tick = (): void =>
      host.later(Math.min(script.markerPollMs, script.batchMs), () => {
        if (!host.isAlive() || stopping) return
        if (!script.ignoreMarker && markerUri !== undefined && markerText() === undefined) {
          stopping = true
          host.markerGone?.()
          return stop()
        }
        tick()
      })
    const batch = (): void =>
      host.later(script.batchMs, () => {
        if (!host.isAlive() || stopping) return
        commit()
        batch()
      })
    host.later(initMs, () => {
      if (!host.isAlive() || stopping || script.stuck) return
      batch()
    })
    tick()
  }

  const text = markerText()
  if (markerUri && text !== undefined && markerMode(text) === 'standby') {
    log.standby = true
    host.later(script.initMs, () => {
      if (!host.isAlive()) return
      log.readyAt = clock.now()
      if (script.reports)
        put(`${markerUri}.ready`, { version: 1, applicationId: host.appId, readyAt: iso() })
      const wait = (): void =>
        host.later(script.markerPollMs, () => {
          if (!host.isAlive()) return
          const now = markerText()
          if (now === undefined) {
            log.retired = true
            return host.exit()
          }
          // Spark is up already: the query starts at once.
          if (markerMode(now) === 'run') return process(0)
          wait()
        })
      wait()
    })
    return log
  }
  process(script.initMs)
  return log
}
