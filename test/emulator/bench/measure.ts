// What every bench shares: argument parsing, waiting, the data verdict, and statistics.
import type { Invariants } from '../invariants.ts'
import type { ActivityEvent } from '../contract.ts'
import type { ActionRun } from '../run-action.ts'

/** `2s`, `2m`, `1m30s`: enough of the action's duration syntax for the benches' options. */
/** Bad bench arguments: printed without a stack, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

export function durationMs(text: string, name = '--stable-for'): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000 }
  const parts = [...text.matchAll(/(\d+)(h|m|s)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new UsageError(`${name}: expected a duration like 2s, 2m or 1m30s, got ${text}`)
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * (units[p[2] as string] as number), 0)
}

export function positiveInt(name: string, text: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${name}: expected a positive integer, got ${text}`)
  return n
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function until(check: () => Promise<boolean> | boolean, ms: number, what: string) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(50)
  }
}

export function batchesOf(events: readonly ActivityEvent[], stepId: string): number {
  return events.filter((e) => e.event === 'batch-end' && e.stepId === stepId).length
}

export function expectSuccess(run: ActionRun, what: string): void {
  if (run.exitCode === 0) return
  const error = /^::error::(.*)$/m.exec(run.stdout)?.[1]
  throw new Error(`${what} failed (exit ${run.exitCode}): ${error ?? run.stderr.slice(-1000)}`)
}

/** Completed batches tile [0, committed) once each; no loss, overlap or second live driver. */
export function dataVerdict(v: Invariants): string | undefined {
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

export interface Stat {
  readonly median: number
  readonly min: number
  readonly max: number
}

export function stat(values: readonly number[]): Stat {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
  return { median, min: sorted[0] ?? Number.NaN, max: sorted.at(-1) ?? Number.NaN }
}

export function value(v: number, unit: 's' | 'n' | 'r'): string {
  if (!Number.isFinite(v)) return '—'
  if (unit === 's') return v < 10_000 ? `${(v / 1000).toFixed(2)}` : `${(v / 1000).toFixed(1)}`
  if (unit === 'n') return Number.isInteger(v) ? String(v) : v.toFixed(1)
  return v.toFixed(2)
}

export function cell(s: Stat, unit: 's' | 'n' | 'r'): string {
  const suffix = unit === 's' ? ' s' : unit === 'r' ? '/s' : ''
  const range = s.min === s.max ? '' : ` (${value(s.min, unit)}–${value(s.max, unit)})`
  return `${value(s.median, unit)}${suffix}${range}`
}

export function ratio(baseline: number, action: number): string {
  if (!Number.isFinite(baseline) || !Number.isFinite(action)) return '—'
  if (action === 0) return baseline === 0 ? '×1' : '∞'
  const r = baseline / action
  return `×${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toFixed(2)}`
}
