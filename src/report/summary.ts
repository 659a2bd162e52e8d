// The job summary, rendered from the run report. Pure: main.ts writes it. Read top-down it
// answers, in order: what happened (title, and the error once), which version ran and which runs
// now, whether that is verified and the handoff clean, a picture of the handoff, then details.
import type { RunReport } from '../rollover/report.ts'
import { code, text } from './markdown.ts'
import { handoffChart } from './summary-chart.ts'
import {
  factLines,
  failureLines,
  planLines,
  timelineLines,
  warningLines,
} from './summary-details.ts'
import { verdictLines } from './summary-verdict.ts'
import { versionLines } from './summary-versions.ts'

export { clusterConsoleUrl, s3ConsoleUrl } from './summary-details.ts'

export function renderSummary(report: RunReport): string {
  return [
    `## ${title(report)}: ${code(report.appName)}`,
    '',
    ...errorLines(report),
    ...versionLines(report),
    ...verdictLines(report),
    ...handoffChart(report),
    ...planLines(report),
    ...factLines(report),
    ...timelineLines(report),
    ...failureLines(report),
    ...warningLines(report),
  ].join('\n')
}

export function title(report: RunReport): string {
  if (report.status === 'failed' && report.result !== 'rolled-back') return '❌ Rollover failed'
  switch (report.result) {
    case 'deployed':
      return '✅ Rolled over'
    case 'first-deploy':
      return '✅ First deploy'
    case 'rolled-back':
      return '⚠️ Rolled back'
    case 'planned':
      return '📝 Dry run: plan'
    default:
      return report.status === 'in-progress' ? '⏳ Rollover did not finish' : 'Rollover'
  }
}

/** The error, once, quoted line by line; every line as plain text. */
function errorLines(report: RunReport): string[] {
  if (!report.error) return []
  const lines = report.error.split(/\r?\n/).filter((l) => l.trim() !== '')
  return [...lines.map((l) => `> ${text(l)}`), '']
}
