// The details under the verdict: facts, where things are in S3, the phase timeline, why a step
// failed (EMR's FailureDetails and the stderr tail, folded), the plan of a dry run, warnings.
// Long S3 URIs stay out of tables (GitHub gives a table the width of its longest cell, and then
// a scroll bar): they go in a list, where the page wraps them.
import { formatDuration } from '../clock.ts'
import {
  stepDowntimeSeconds,
  seconds,
  type LaunchRecord,
  type PhaseRecord,
  type RunReport,
  type StepFailureDetails,
} from '../rollover/report.ts'
import { clip, code, fenced, html, link, table, text } from './markdown.ts'
import { stopFailed } from './outputs.ts'
import { jarName } from './summary-versions.ts'
import { OUTCOME, PHASE_STATUS, STRATEGY } from './words.ts'

export function clusterConsoleUrl(region: string, clusterId: string): string {
  return `https://${region}.console.aws.amazon.com/emr/home?region=${region}#/clusterDetails/${clusterId}`
}

export function s3ConsoleUrl(region: string, uri: string): string {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri)
  if (!match) return uri
  return `https://s3.console.aws.amazon.com/s3/object/${match[1]}?region=${region}&prefix=${encodeURIComponent(match[2] ?? '')}`
}

/** Characters of a phase's note in the timeline; the whole text is in the error or the log. */
const MAX_NOTE = 90

export function factLines(report: RunReport): string[] {
  const region = report.region ?? 'us-east-1'
  const rows: Array<[string, string]> = [
    [
      'Cluster',
      report.clusterId
        ? `${link(code(report.clusterId), clusterConsoleUrl(region, report.clusterId))}${report.clusterName ? ` (${text(report.clusterName)})` : ''}`
        : 'not resolved',
    ],
  ]
  if (report.strategy) rows.push(['Strategy', text(STRATEGY[report.strategy] ?? report.strategy)])
  // A dry run stops nothing: its plan says what it would stop.
  if (!report.plan) rows.push(['Stopped', stoppedText(report)])
  const stop = seconds(report.stopStartedAt, report.oldStoppedAt)
  if (stop !== undefined && report.previous.length > 0) rows.push(['Stop took', `${stop} s`])
  for (const [label, launch] of launches(report)) {
    rows.push([
      label,
      `${code(launch.stepId ?? 'not submitted')} — ${launch.outcome ? OUTCOME[launch.outcome] : 'not verified'}`,
    ])
  }
  // The name only: the whole URI is in the list below, where it can wrap.
  if (report.jarUri) {
    rows.push(['Jar', `${code(jarName(report.jarUri))}${report.jarUploaded ? ' (uploaded)' : ''}`])
  }
  const downtime = report.previous.length > 0 ? stepDowntimeSeconds(report) : undefined
  if (downtime !== undefined) {
    // The `downtime-seconds` output; the verdict above may give the drivers' own measure.
    rows.push(['Downtime', `${downtime} s between the steps (old step ended → new step running)`])
  }
  if (report.emrCalls !== undefined) rows.push(['EMR API calls', String(report.emrCalls)])
  return ['### Details', '', ...table(['Fact', 'Value'], rows), '', ...whereLines(report, region)]
}

/** The stopped steps with EMR's state (as the console shows it) and what it means. */
function stoppedText(report: RunReport): string {
  if (stopFailed(report)) {
    const found = report.found?.map((f) => `${code(f.stepId)} still ${f.state}`).join(', ')
    return `not stopped: ${found || 'see the error above'}`
  }
  if (report.previous.length === 0) {
    // Failed before the Stop (a standby that never got ready, a refusal): what ran still runs.
    const untouched = report.phases.some((p) => p.name === 'Stop') ? [] : (report.found ?? [])
    if (untouched.length === 0) return 'nothing was running'
    return `nothing: ${untouched.map((f) => `${code(f.stepId)} still ${f.state}`).join(', ')} (not touched)`
  }
  const how = report.forcedStop ? ' (forced: YARN kill)' : ''
  return (
    report.previous
      .map(
        (p) =>
          `${code(p.stepId)} ${p.state}${p.state === 'COMPLETED' && !how ? ' (stopped cleanly)' : ''}`,
      )
      .join(', ') + how
  )
}

function launches(report: RunReport): Array<[string, LaunchRecord]> {
  return [
    ...(report.launch ? [['New step', report.launch] as [string, LaunchRecord]] : []),
    ...(report.rollback ? [['Rollback step', report.rollback] as [string, LaunchRecord]] : []),
  ]
}

/** The S3 objects of this run, one per line, each linked to the S3 console. */
function whereLines(report: RunReport, region: string): string[] {
  const items: Array<[string, string | undefined]> = [
    ['Jar', report.jarUri],
    ['New marker', report.launch?.markerUri],
    ['Rollback marker', report.rollback?.markerUri],
  ]
  const lines = items
    .filter((i): i is [string, string] => i[1] !== undefined)
    .map(([label, uri]) => `- ${label}: ${link(code(uri), s3ConsoleUrl(region, uri))}`)
  return lines.length > 0 ? [...lines, ''] : []
}

export function timelineLines(report: RunReport): string[] {
  if (report.phases.length === 0) return []
  const start = report.phases[0]?.startedAt ?? 0
  const rows = report.phases.map((p) => [
    p.name,
    `+${formatDuration(p.startedAt - start)}`,
    p.endedAt === undefined ? '—' : formatDuration(p.endedAt - p.startedAt),
    p.status ? PHASE_STATUS[p.status] : 'in progress',
    note(p, report),
  ])
  return ['### Timeline', '', ...table(['Phase', 'Started', 'Took', 'Status', 'Note'], rows), '']
}

/** A phase's detail, unless a failed phase only repeats the error quoted at the top. */
function note(phase: PhaseRecord, report: RunReport): string {
  const detail = phase.detail?.trim()
  if (!detail) return ''
  const error = report.error
  if (phase.status === 'failed' && error && (error.includes(detail) || detail.includes(error))) {
    return 'the error above'
  }
  return text(clip(detail, MAX_NOTE))
}

/** Why each step failed, folded: EMR's words, where the log is, its last lines. */
export function failureLines(report: RunReport): string[] {
  return launches(report).flatMap(([label, launch]) => {
    const d = launch.failureDetails
    if (!d) return []
    const who = label === 'New step' ? 'the new step' : 'the rollback step'
    return failureBlock(`${who} ${launch.stepId ?? ''}`.trim(), d)
  })
}

function failureBlock(label: string, d: StepFailureDetails): string[] {
  const emr = [d.reason, d.message]
    .filter((x): x is string => !!x)
    .reduce(
      (all, part) => (all === '' ? part : `${all}${/[.:!?]$/.test(all) ? '' : ':'} ${part}`),
      '',
    )
  // The error itself is quoted at the top: the fold only says what it holds.
  const holds = [
    emr ? "EMR's failure details" : '',
    d.stderrTail?.length ? 'the end of its stderr' : '',
  ]
    .filter(Boolean)
    .join(' and ')
  const summary = `Why ${label} failed${holds ? `: ${holds}` : ''}`
  const body: string[] = []
  if (emr) body.push(`EMR says: ${text(clip(emr, 2000))}`, '')
  if (d.logFile) body.push(`Log: ${code(d.logFile)}`, '')
  if (d.stderrTail && d.stderrTail.length > 0) {
    // The diagnosis caps the tail already; a summary must stay small whatever it is given.
    const tail = d.stderrTail.slice(-MAX_TAIL_LINES)
    const lines = tail.map((l) => clipLine(stripControl(l))).flatMap(wrap)
    body.push(`Last ${tail.length} lines of stderr:`, '', ...fenced(lines), '')
  }
  if (d.stderrNote) body.push(text(d.stderrNote), '')
  // <details> opens an HTML block; the blank line after </summary> lets Markdown resume inside.
  return [`<details><summary>${html(summary)}</summary>`, '', ...body, '</details>', '']
}

const MAX_TAIL_LINES = 50
const MAX_TAIL_LINE = 1000

function clipLine(line: string): string {
  return line.length > MAX_TAIL_LINE ? `${line.slice(0, MAX_TAIL_LINE - 1)}…` : line
}

/** Characters of a stderr line shown on one line: a code block does not wrap, so we do. */
const WRAP_AT = 96

/** A long line as continuation lines, so the exception at its end is on the page. */
function wrap(raw: string): string[] {
  const line = raw.replace(/\t/g, '    ') // GitHub shows a tab 8 wide; 4 keeps a trace readable
  const indent = `${/^\s*/.exec(line)?.[0] ?? ''}  ↪ `
  const parts: string[] = []
  let rest = line
  while (rest.length > 0) {
    const width = parts.length === 0 ? WRAP_AT : WRAP_AT - indent.length
    if (rest.length <= width) {
      parts.push(rest)
      break
    }
    // At the last space of the line's last third, else mid-word.
    const space = rest.lastIndexOf(' ', width)
    const cut = space > width * 0.66 ? space + 1 : width
    parts.push(rest.slice(0, cut).trimEnd())
    rest = rest.slice(cut)
  }
  return parts.map((part, i) => (i === 0 ? part : `${indent}${part}`))
}

function stripControl(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
}

export function planLines(report: RunReport): string[] {
  const plan = report.plan
  if (!plan) return []
  return [
    '### Plan',
    '',
    `Would stop: ${plan.stop.map(text).join(', ') || 'nothing'}`,
    '',
    `Would write the marker ${code(plan.markerUri)} and submit:`,
    '',
    ...fenced(JSON.stringify(plan.step, null, 2).split('\n'), 'json'),
    '',
  ]
}

/** GitHub refuses a step summary over 1 MiB: warnings are many only when something loops. */
const MAX_WARNINGS = 20

/** Warnings, once each, leaving out any the error or the handoff verdict above already says. */
export function warningLines(report: RunReport): string[] {
  const seen = new Set<string>()
  // Each partition's or shard's part of a handoff detail, as a warning may quote it.
  const said = (report.handoff?.sources ?? [])
    .flatMap((s) => s.detail?.split('; ') ?? [])
    .filter((part) => part.length >= 20)
  const warnings = report.warnings.filter((w) => {
    const key = w.trim()
    if (key === '' || seen.has(key) || (report.error && report.error.includes(key))) return false
    if (said.some((part) => key.includes(part))) return false
    seen.add(key)
    return true
  })
  if (warnings.length === 0) return []
  const shown = warnings.slice(0, MAX_WARNINGS).map((w) => `- ${text(clip(w, 1000))}`)
  const more =
    warnings.length > MAX_WARNINGS
      ? [`- and ${warnings.length - MAX_WARNINGS} more in the log`]
      : []
  return ['### Warnings', '', ...shown, ...more, '']
}
