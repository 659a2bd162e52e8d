// A picture of the handoff: a Mermaid gantt (GitHub renders ```mermaid blocks in job summaries)
// of the old driver draining, the time no driver committed a batch, and the new driver starting
// (for standby, its wait). Only what the report knows is drawn; with less than two bars, nothing.
import type { LaunchRecord, RunReport } from '../rollover/report.ts'

interface Bar {
  readonly label: string
  readonly start: number
  readonly end: number
  /** Mermaid task tags: `crit` is red, `done` grey, `milestone` a diamond. */
  readonly tags?: readonly ('crit' | 'done' | 'active' | 'milestone')[]
}

interface Section {
  readonly title: string
  readonly bars: readonly Bar[]
}

/** The ```mermaid block, or no lines when too little is known to draw. */
export function handoffChart(report: RunReport): string[] {
  const sections = chartSections(report)
    .map((s) => ({ ...s, bars: s.bars.filter(valid) }))
    .filter((s) => s.bars.length > 0)
  if (sections.flatMap((s) => s.bars).filter((b) => !b.tags?.includes('milestone')).length < 2) {
    return []
  }
  return [
    '```mermaid',
    // Room on the left for the section names (Mermaid's default is narrower).
    '%%{init: {"gantt": {"leftPadding": 100}}}%%',
    'gantt',
    '  dateFormat x',
    '  axisFormat %H:%M:%S',
    '  todayMarker off',
    ...sections.flatMap((s) => [
      `  section ${label(s.title)}`,
      ...s.bars.map(
        (b) =>
          `    ${label(b.label)} :${tags(b)}${Math.round(b.start)}, ${Math.max(Math.round(b.end), Math.round(b.start) + 1)}`,
      ),
    ]),
    '```',
    '',
  ]
}

function chartSections(report: RunReport): Section[] {
  const t = report.handoffTimes ?? {}
  const stopAt = t.stopRequestedAt ?? report.stopStartedAt
  const stoppedAt = t.oldStoppedAt ?? report.oldStoppedAt
  const old: Bar[] =
    report.previous.length === 0
      ? []
      : [
          ...(stopAt !== undefined && stoppedAt !== undefined
            ? [
                {
                  label: 'Draining, then stopping',
                  start: stopAt,
                  end: stoppedAt,
                  tags: ['done'] as const,
                },
              ]
            : []),
          ...(t.oldLastBatchAt !== undefined
            ? [milestone('Last batch committed', t.oldLastBatchAt)]
            : []),
        ]
  const gap: Bar[] = []
  if (t.oldLastBatchAt !== undefined && t.newFirstBatchAt !== undefined) {
    const between = secondsBetween(t.oldLastBatchAt, t.newFirstBatchAt)
    gap.push({
      label: `No batch committed, ${between}`,
      start: t.oldLastBatchAt,
      end: t.newFirstBatchAt,
      tags: ['crit'],
    })
  } else if (report.previous.length > 0 && stoppedAt !== undefined && report.launch?.runningAt) {
    // Without the drivers' batch times: the downtime as the action saw it.
    const runningAt = report.launch.runningAt
    gap.push({
      label: `No driver running, ${secondsBetween(stoppedAt, runningAt)}`,
      start: stoppedAt,
      end: runningAt,
      tags: ['crit'],
    })
  }
  return [
    { title: 'Old driver', bars: old },
    { title: 'Handoff', bars: gap },
    ...launchSection('New driver', report.launch, t.newFirstBatchAt, report),
    ...launchSection('Rollback', report.rollback, undefined, report),
  ]
}

function launchSection(
  title: string,
  launch: LaunchRecord | undefined,
  firstBatchAt: number | undefined,
  report: RunReport,
): Section[] {
  if (!launch?.submittedAt) return []
  const bars: Bar[] = []
  const submitted = launch.submittedAt
  if (launch.readyAt !== undefined) {
    bars.push({ label: 'Starting as standby', start: submitted, end: launch.readyAt })
    if (launch.switchedAt !== undefined) {
      bars.push({
        label: 'Standby, waiting for the old driver',
        start: launch.readyAt,
        end: launch.switchedAt,
        tags: ['active'],
      })
    }
  } else if (launch.runningAt !== undefined) {
    bars.push({ label: 'Submitted, starting', start: submitted, end: launch.runningAt })
  }
  if (launch.outcome && launch.outcome !== 'running') {
    const end = phaseEnd(report, launch) ?? launch.runningAt
    if (end !== undefined) {
      const from = launch.runningAt ?? submitted
      bars.push({
        label: launch.runningAt ? 'Ran, then stopped' : 'Did not start',
        start: from,
        end,
        tags: ['crit'],
      })
    }
  }
  const first = firstBatchAt ?? launch.readiness?.firstCommittedAt
  if (first !== undefined) bars.push(milestone('First batch committed', first))
  return [{ title, bars }]
}

/** When the phase that watched this launch ended. */
function phaseEnd(report: RunReport, launch: LaunchRecord): number | undefined {
  const name = launch === report.rollback ? 'Rollback' : 'Verify'
  return report.phases.find((p) => p.name === name)?.endedAt
}

function milestone(labelText: string, at: number): Bar {
  return { label: labelText, start: at, end: at, tags: ['milestone'] }
}

function valid(bar: Bar): boolean {
  return (
    Number.isFinite(bar.start) && Number.isFinite(bar.end) && bar.end >= bar.start && bar.start > 0
  )
}

function tags(bar: Bar): string {
  return bar.tags && bar.tags.length > 0 ? ` ${bar.tags.join(', ')}, ` : ' '
}

function secondsBetween(from: number, to: number): string {
  const s = (to - from) / 1000
  return s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`
}

/**
 * A task or section name Mermaid cannot misread: `:` ends a task name, `;` and a newline end a
 * statement, `#` and `%%` start comments. Only plain characters are kept.
 */
export function label(value: string): string {
  return (
    value
      .replace(/[^A-Za-z0-9 .,()'+/-]/g, ' ')
      .replace(/\s+/g, ' ')
      .trim() || '-'
  )
}
