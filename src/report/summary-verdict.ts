// The verdict of a run in three lines: how the new driver was verified, whether the handoff lost
// or repeated records (per source, with the offsets), and the downtime with how it was measured.
import type { Handoff } from '../contract/handoff.ts'
import { stepDowntimeSeconds, type LaunchRecord, type RunReport } from '../rollover/report.ts'
import { clip, code, text } from './markdown.ts'
import { DOWNTIME_MEASURE, HANDOFF, OUTCOME, READINESS, SOURCE_HANDOFF } from './words.ts'

/** Sources named one by one; a query reading more is summarised. */
const MAX_SOURCES = 8

export function verdictLines(report: RunReport): string[] {
  if (report.result === 'planned') return []
  const lines = [...verification(report), ...handoff(report.handoff), ...downtime(report)]
  return lines.length > 0 ? [...lines, ''] : []
}

/** The launch whose verification decides what runs: the rollback when there was one. */
function judged(report: RunReport): Array<{ launch: LaunchRecord; label: string }> {
  return [
    ...(report.launch ? [{ launch: report.launch, label: 'New driver' }] : []),
    ...(report.rollback ? [{ launch: report.rollback, label: 'Rollback driver' }] : []),
  ]
}

function verification(report: RunReport): string[] {
  return judged(report).map(({ launch, label }) => {
    const step = launch.stepId ? ` ${code(launch.stepId)}` : ''
    if (launch.outcome !== 'running') {
      const outcome = launch.outcome
        ? OUTCOME[launch.outcome]
        : launch.stepId
          ? 'not verified'
          : 'not submitted'
      return `- ❌ **${label}${step} ${outcome}.**`
    }
    const r = launch.readiness
    if (!r || r.method === 'emr-state') {
      return `- ⚠️ **${label}${step} verified ${READINESS['emr-state']}**: the step stayed RUNNING through stable-for, but the driver reported no progress, so no batch was seen committed.`
    }
    const batches =
      r.batches === undefined ? 'batches' : `${r.batches} batch${r.batches === 1 ? '' : 'es'}`
    const range =
      r.firstBatchId !== undefined && r.lastBatchId !== undefined
        ? ` (#${r.firstBatchId}–#${r.lastBatchId})`
        : ''
    return `- ✅ **${label}${step} verified ${READINESS.progress}**: it committed ${batches}${range} of its own.`
  })
}

function handoff(h: Handoff | undefined): string[] {
  if (!h) return []
  const icon = { contiguous: '✅', gap: '❌', overlap: '❌', unknown: '➖' }[h.verdict]
  const why = h.verdict === 'unknown' && h.reason ? `: ${text(clip(h.reason, 200))}` : ''
  const head = `- ${icon} **Handoff ${HANDOFF[h.verdict]}**${why}`
  const sources = h.sources.slice(0, MAX_SOURCES).map((s) => {
    const detail = s.detail ? ` — ${text(clip(s.detail, 300))}` : ''
    return `  - ${code(clip(s.description, 120))}: ${SOURCE_HANDOFF[s.verdict]}${detail}`
  })
  const more =
    h.sources.length > MAX_SOURCES ? [`  - and ${h.sources.length - MAX_SOURCES} more sources`] : []
  // An unknown verdict already says why; its sources add nothing when they say the same.
  const list =
    h.verdict === 'unknown' && h.sources.every((s) => s.verdict === 'unknown') ? [] : sources
  return [head, ...list, ...(list.length > 0 ? more : [])]
}

function downtime(report: RunReport): string[] {
  const measured = report.downtime
  if (measured) {
    return [
      `- ⏱️ **Downtime ${seconds(measured.seconds)}**, ${DOWNTIME_MEASURE[measured.measuredBy]}.`,
    ]
  }
  // A first deploy stopped nothing: there was no downtime to measure.
  const fallback = report.previous.length > 0 ? stepDowntimeSeconds(report) : undefined
  return fallback === undefined
    ? []
    : [`- ⏱️ **Downtime ${seconds(fallback)}**, ${DOWNTIME_MEASURE.action}.`]
}

function seconds(value: number): string {
  return `${Number.isInteger(value) ? value : value.toFixed(1)} s`
}
