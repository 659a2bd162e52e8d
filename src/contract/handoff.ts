// The handoff verdict: the old driver's final committed offsets (`.stopped`) against the start
// offsets of the new driver's first batch (`.progress` firstBatch), per source, matched by
// description. Spark resumes a query from its checkpoint with the next batch's start equal to the
// last committed end, so on a clean handoff the two are equal. Pure; the offsets themselves are
// read and ordered in ./offsets.ts.
import {
  canonical,
  clip,
  comparePart,
  normalise,
  parseOffset,
  type PartResult,
  type PartVerdict,
} from './offsets.ts'
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

/** At most this many partitions or shards are named in a source's detail. */
const MAX_NAMED_PARTS = 5

export function compareHandoff(
  oldEnd: readonly SourceOffsets[],
  newStart: readonly SourceOffsets[],
): Handoff {
  const sources = pairByDescription(oldEnd, newStart).map(([o, n]): SourceHandoff => {
    if (!n) return { description: o!.description, verdict: 'removed', oldEnd: o!.endOffset }
    if (!o) return { description: n.description, verdict: 'added', newStart: n.startOffset }
    const { verdict, detail } = compareSafely(o.endOffset, n.startOffset)
    return {
      description: o.description,
      verdict,
      oldEnd: o.endOffset,
      newStart: n.startOffset,
      detail,
    }
  })
  const common = sources.filter((s) => s.verdict !== 'added' && s.verdict !== 'removed')
  if (common.some((s) => s.verdict === 'gap')) return { verdict: 'gap', sources }
  if (common.some((s) => s.verdict === 'overlap')) return { verdict: 'overlap', sources }
  if (common.length > 0 && common.every((s) => s.verdict === 'contiguous')) {
    return { verdict: 'contiguous', sources }
  }
  return { verdict: 'unknown', sources, reason: unknownReason(oldEnd, newStart, common) }
}

function unknownReason(
  oldEnd: readonly SourceOffsets[],
  newStart: readonly SourceOffsets[],
  common: readonly SourceHandoff[],
): string {
  if (oldEnd.length === 0 && newStart.length === 0) return 'neither driver reported offsets'
  if (oldEnd.length === 0) {
    return 'the old driver reported no final offsets (no .stopped with sources, or no batch committed)'
  }
  if (newStart.length === 0) return 'the new driver reported no offsets of its first batch'
  if (common.length === 0) {
    const names = (list: readonly SourceOffsets[]): string =>
      list.map((s) => s.description).join(', ')
    return `no source in common: the old driver read ${names(oldEnd)}; the new one reads ${names(newStart)}`
  }
  const unsure = common.filter((s) => s.verdict === 'unknown')
  return unsure.map((s) => `${s.description}: ${s.detail ?? 'not comparable'}`).join('; ')
}

/** Sources matched by description; a description seen twice pairs in order of appearance. */
function pairByDescription(
  oldEnd: readonly SourceOffsets[],
  newStart: readonly SourceOffsets[],
): Array<[SourceOffsets | undefined, SourceOffsets | undefined]> {
  const unmatched = [...newStart]
  const pairs: Array<[SourceOffsets | undefined, SourceOffsets | undefined]> = oldEnd.map((o) => {
    const i = unmatched.findIndex((n) => n.description === o.description)
    return [o, i === -1 ? undefined : unmatched.splice(i, 1)[0]]
  })
  return [...pairs, ...unmatched.map((n): [undefined, SourceOffsets] => [undefined, n])]
}

/** The verdict is a report, never a reason to fail a run: odd input (say, JSON nested 100,000 deep) is unknown. */
function compareSafely(
  oldEnd: unknown,
  newStart: unknown,
): { verdict: HandoffVerdict; detail: string } {
  try {
    return compareSource(oldEnd, newStart)
  } catch (error) {
    return {
      verdict: 'unknown',
      detail: `offsets could not be compared (${error instanceof Error ? error.name : 'error'})`,
    }
  }
}

// --- One source -----------------------------------------------------------------------------

function compareSource(
  oldEnd: unknown,
  newStart: unknown,
): { verdict: HandoffVerdict; detail: string } {
  const before = normalise(oldEnd)
  const after = normalise(newStart)
  if (before === null && after === null) {
    return { verdict: 'unknown', detail: 'neither driver reports offsets for this source' }
  }
  if (before === null) {
    return { verdict: 'unknown', detail: 'the old driver reported no end offset' }
  }
  if (after === null) {
    return {
      verdict: 'unknown',
      detail:
        "the new driver's first batch has no start offset: it began a new query (another checkpoint?) instead of resuming",
    }
  }
  const o = parseOffset(before)
  const n = parseOffset(after)
  if (!o || !n || o.family !== n.family) {
    if (canonical(before) === canonical(after)) {
      return { verdict: 'contiguous', detail: 'same offset' }
    }
    return {
      verdict: 'unknown',
      detail: `offsets of a form the action cannot order differ: ${clip(canonical(before))} then ${clip(canonical(after))}`,
    }
  }
  if (o.stream !== n.stream) {
    return { verdict: 'unknown', detail: `stream ${o.stream} then ${n.stream}` }
  }
  const results = [...new Set([...o.parts.keys(), ...n.parts.keys()])].map((name) =>
    comparePart(o.family, name, o.parts.get(name), n.parts.get(name)),
  )
  return summarise(results)
}

function summarise(results: readonly PartResult[]): { verdict: HandoffVerdict; detail: string } {
  const of = (v: PartVerdict): PartResult[] => results.filter((r) => r.verdict === v)
  const named = (list: readonly PartResult[]): string[] => {
    const shown = list.slice(0, MAX_NAMED_PARTS).map((r) => r.text)
    return list.length > MAX_NAMED_PARTS
      ? [...shown, `${list.length - MAX_NAMED_PARTS} more`]
      : shown
  }
  const problems = [...of('gap'), ...of('overlap'), ...of('unknown')]
  const verdict: HandoffVerdict =
    of('gap').length > 0
      ? 'gap'
      : of('overlap').length > 0
        ? 'overlap'
        : of('unknown').length > 0 || of('contiguous').length === 0
          ? 'unknown'
          : 'contiguous'
  const contiguous = of('contiguous')
  const lines =
    verdict === 'contiguous'
      ? named(contiguous)
      : [...named(problems), ...(contiguous.length > 0 ? [`${contiguous.length} contiguous`] : [])]
  const notes = named(of('neutral'))
  const detail = [...lines, ...notes].join('; ')
  return { verdict, detail: detail || 'no partition or shard in common' }
}
