// The handoff verdict: the old driver's final committed offsets (`.stopped`) against the start
// offsets of the new driver's first batch (`.progress` firstBatch), per source. Pure.
import type { SourceOffsets } from './reports.ts'

export type HandoffVerdict = 'contiguous' | 'gap' | 'overlap' | 'unknown'

export interface SourceHandoff {
  readonly description: string
  /** `added`/`removed`: the source is on one side only (the application changed its sources). */
  readonly verdict: HandoffVerdict | 'added' | 'removed'
  readonly oldEnd?: unknown
  readonly newStart?: unknown
  /** For a person: which partition or shard, and by how much. */
  readonly detail?: string
}

export interface Handoff {
  readonly verdict: HandoffVerdict
  readonly sources: readonly SourceHandoff[]
  /** Why the verdict is unknown (no offsets reported, no source in common, …). */
  readonly reason?: string
}

/** Placeholder until the comparison lands: every handoff is unknown. */
export function compareHandoff(
  oldEnd: readonly SourceOffsets[],
  newStart: readonly SourceOffsets[],
): Handoff {
  void oldEnd
  void newStart
  return { verdict: 'unknown', sources: [], reason: 'not compared' }
}
