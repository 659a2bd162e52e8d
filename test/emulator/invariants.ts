// The data-safety verdict of a run, from three independent witnesses: the activity log (who
// processed what, when), the output objects and the committed checkpoint in S3.
import type { ActivityEvent } from './contract.ts'
import type { AppInfo } from './yarn.ts'

export interface BatchRun {
  readonly pid: number
  readonly stepId?: string
  readonly version?: string
  readonly start: number
  readonly end: number
  readonly from: number
  /** batch-end, or the moment the process stopped, or now while it runs. */
  readonly to: number
  readonly completed: boolean
}

export interface DriverLife {
  readonly pid: number
  readonly stepId?: string
  readonly appId?: string
  readonly from: number
  readonly to: number
  readonly alive: boolean
}

export interface Invariants {
  /** checkpoint.json's offset (0 when absent). */
  readonly committedOffset: number
  /** Records the source holds now. */
  readonly sourceOffset: number
  /** Offsets below the checkpoint that no output object holds: data loss. Capped at 1000. */
  readonly lostOffsets: number[]
  /** Output objects whose records are not exactly the source's records for their range. */
  readonly corruptBatches: Array<{ readonly key: string; readonly reason: string }>
  /**
   * Committed ranges that share offsets with another committed range without being the same
   * range: a driver re-read records (started before the checkpoint).
   */
  readonly overlappingBatches: Array<readonly [BatchRun, BatchRun]>
  /** Ranges committed more than once (by batch-end): a second driver redid finished work. */
  readonly duplicateBatches: Array<{
    readonly start: number
    readonly end: number
    readonly times: number
  }>
  /** Batches of different processes in flight at the same instant: two drivers writing. */
  readonly overlaps: Array<readonly [BatchRun, BatchRun]>
  /**
   * Two drivers of this stream active at the same time, busy or idle: from reading the
   * checkpoint (driver-start) to the end of the process. A standby waiting for `run` has read
   * nothing and is not active yet.
   */
  readonly driverOverlaps: Array<readonly [DriverLife, DriverLife]>
  readonly batches: BatchRun[]
  /** Where processing passed from one driver to the next; gapMs is the real downtime. */
  readonly handovers: Array<{
    readonly from: BatchRun
    readonly to: BatchRun
    readonly gapMs: number
  }>
  readonly liveApps: AppInfo[]
  /** Marker objects (s3:// URIs) present under the marker prefix, the driver reports excluded. */
  readonly markers: string[]
  /** No loss, no corruption, no overlap, no re-read records. */
  readonly ok: boolean
}

export interface InvariantInput {
  readonly events: readonly ActivityEvent[]
  readonly outputs: ReadonlyArray<{ key: string; start: number; end: number; problem?: string }>
  readonly committedOffset: number
  readonly sourceOffset: number
  readonly liveApps: AppInfo[]
  readonly markers: string[]
  readonly now: number
}

const MAX_LOST = 1000

export function computeInvariants(input: InvariantInput): Invariants {
  const { events, now } = input
  const lostOffsets: number[] = []
  const covered = new Set<number>()
  for (const o of input.outputs) for (let i = o.start; i < o.end; i++) covered.add(i)
  for (let i = 0; i < input.committedOffset && lostOffsets.length < MAX_LOST; i++) {
    if (!covered.has(i)) lostOffsets.push(i)
  }
  const corruptBatches = input.outputs
    .filter((o) => o.problem !== undefined)
    .map((o) => ({ key: o.key, reason: o.problem as string }))

  const byPid = new Map<number, ActivityEvent[]>()
  for (const e of [...events].sort((a, b) => a.t - b.t)) {
    byPid.set(e.pid, [...(byPid.get(e.pid) ?? []), e])
  }
  const batches: BatchRun[] = []
  const lives: DriverLife[] = []
  for (const [pid, list] of byPid) {
    const exit = list.find((e) => e.event === 'app-exit' || e.event === 'crash')
    const endOfLife = exit?.t ?? now
    const info = list.find((e) => e.stepId !== undefined) ?? list[0]
    const started = list.find((e) => e.event === 'driver-start')
    if (started) {
      lives.push({
        pid,
        stepId: info?.stepId,
        appId: info?.appId,
        from: started.t,
        to: endOfLife,
        alive: exit === undefined,
      })
    }
    let open: ActivityEvent | undefined
    for (const e of list) {
      if (e.event === 'batch-start') open = e
      if (e.event === 'batch-end' && open) {
        batches.push(run(pid, open, e.t, true))
        open = undefined
      }
    }
    // Killed mid-batch: it was in flight until the process was gone.
    if (open) batches.push(run(pid, open, endOfLife, false))
  }

  // A driver killed after its checkpoint write reached S3 but before it logged 'batch-end' did
  // commit that batch (the next driver resumes after it): count it as completed.
  const completedRanges = new Set(
    batches.filter((b) => b.completed).map((b) => `${b.start}-${b.end}`),
  )
  for (const [i, b] of batches.entries()) {
    if (
      !b.completed &&
      b.end <= input.committedOffset &&
      !completedRanges.has(`${b.start}-${b.end}`)
    ) {
      batches[i] = { ...b, completed: true }
      completedRanges.add(`${b.start}-${b.end}`)
    }
  }

  const overlaps: Array<readonly [BatchRun, BatchRun]> = []
  for (let i = 0; i < batches.length; i++) {
    for (let j = i + 1; j < batches.length; j++) {
      const a = batches[i] as BatchRun
      const b = batches[j] as BatchRun
      if (a.pid !== b.pid && a.from < b.to && b.from < a.to) overlaps.push([a, b])
    }
  }
  const driverOverlaps: Array<readonly [DriverLife, DriverLife]> = []
  for (let i = 0; i < lives.length; i++) {
    for (let j = i + 1; j < lives.length; j++) {
      const a = lives[i] as DriverLife
      const b = lives[j] as DriverLife
      if (a.from < b.to && b.from < a.to) driverOverlaps.push([a, b])
    }
  }
  const ends = new Map<string, number>()
  for (const b of batches) {
    if (b.completed) ends.set(`${b.start}-${b.end}`, (ends.get(`${b.start}-${b.end}`) ?? 0) + 1)
  }
  const duplicateBatches = [...ends]
    .filter(([, times]) => times > 1)
    .map(([range, times]) => {
      const [start, end] = range.split('-').map(Number) as [number, number]
      return { start, end, times }
    })

  const committed = batches.filter((b) => b.completed).sort((a, b) => a.start - b.start)
  const overlappingBatches: Array<readonly [BatchRun, BatchRun]> = []
  for (let i = 0; i < committed.length; i++) {
    const a = committed[i] as BatchRun
    for (let j = i + 1; j < committed.length && (committed[j] as BatchRun).start < a.end; j++) {
      const b = committed[j] as BatchRun
      if (a.start !== b.start || a.end !== b.end) overlappingBatches.push([a, b])
    }
  }

  const ordered = [...batches].sort((a, b) => a.from - b.from)
  const handovers = ordered.slice(1).flatMap((to, i) => {
    const from = ordered[i] as BatchRun
    return from.pid === to.pid ? [] : [{ from, to, gapMs: to.from - from.to }]
  })

  return {
    committedOffset: input.committedOffset,
    sourceOffset: input.sourceOffset,
    lostOffsets,
    corruptBatches,
    duplicateBatches,
    overlappingBatches,
    overlaps,
    driverOverlaps,
    batches,
    handovers,
    liveApps: input.liveApps,
    markers: input.markers,
    ok:
      lostOffsets.length === 0 &&
      corruptBatches.length === 0 &&
      overlaps.length === 0 &&
      overlappingBatches.length === 0,
  }
}

function run(pid: number, start: ActivityEvent, to: number, completed: boolean): BatchRun {
  return {
    pid,
    stepId: start.stepId,
    version: start.version,
    start: start.start ?? -1,
    end: start.end ?? -1,
    from: start.t,
    to,
    completed,
  }
}
