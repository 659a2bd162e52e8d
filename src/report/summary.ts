// The job summary, rendered from the run report. Pure: main.ts writes it.
import { stopFailed } from './outputs.ts'
import { formatDuration } from '../clock.ts'
import { downtimeSeconds, seconds, type LaunchRecord, type RunReport } from '../rollover/report.ts'

export function clusterConsoleUrl(region: string, clusterId: string): string {
  return `https://${region}.console.aws.amazon.com/emr/home?region=${region}#/clusterDetails/${clusterId}`
}

export function s3ConsoleUrl(region: string, uri: string): string {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri)
  if (!match) return uri
  return `https://s3.console.aws.amazon.com/s3/object/${match[1]}?region=${region}&prefix=${encodeURIComponent(match[2] ?? '')}`
}

const RESULT_TITLE: Record<string, string> = {
  deployed: '✅ Rolled over',
  'first-deploy': '✅ First deploy',
  'rolled-back': '⚠️ Rolled back',
  planned: '📝 Dry run: plan',
}

export function renderSummary(report: RunReport): string {
  const region = report.region ?? 'us-east-1'
  const title =
    report.status === 'failed' && report.result !== 'rolled-back'
      ? '❌ Rollover failed'
      : (RESULT_TITLE[report.result ?? ''] ?? 'Rollover')
  const lines: string[] = [`## ${title}: \`${report.appName}\``, '']
  if (report.error) lines.push(`> ${report.error.replace(/\n/g, '\n> ')}`, '')

  const cluster = report.clusterId
    ? `[${report.clusterId}](${clusterConsoleUrl(region, report.clusterId)})${report.clusterName ? ` (${report.clusterName})` : ''}`
    : 'not resolved'
  const facts: Array<[string, string]> = [
    ['Cluster', cluster],
    ['Deployment', `\`${report.deploymentId}\``],
    ['Jar', report.jarUri ? `\`${report.jarUri}\`${report.jarUploaded ? ' (uploaded)' : ''}` : '—'],
    [
      'Stopped',
      stopFailed(report)
        ? `not stopped: ${report.found?.map((f) => `\`${f.stepId}\` ${f.state}`).join(', ') || 'see the error above'}`
        : report.previous.length === 0
          ? 'nothing was running'
          : report.previous.map((p) => `\`${p.stepId}\` ${p.state}`).join(', ') +
            (report.forcedStop ? ' (forced: YARN kill)' : ''),
    ],
  ]
  addLaunch(facts, 'New step', report.launch, region)
  addLaunch(facts, 'Rollback step', report.rollback, region)
  const stop = seconds(report.stopStartedAt, report.oldStoppedAt)
  if (stop !== undefined) facts.push(['Stop took', `${stop} s`])
  const downtime = downtimeSeconds(report)
  if (downtime !== undefined)
    facts.push(['Downtime', `${downtime} s (old driver stopped → new one running)`])
  if (report.emrCalls !== undefined) facts.push(['EMR API calls', String(report.emrCalls)])
  lines.push('| | |', '|---|---|', ...facts.map(([k, v]) => `| ${k} | ${cell(v)} |`), '')

  if (report.plan) {
    lines.push('### Plan', '', `Would stop: ${report.plan.stop.join(', ') || 'nothing'}`, '')
    lines.push(`Would write the marker \`${report.plan.markerUri}\` and submit:`, '')
    lines.push('```json', JSON.stringify(report.plan.step, null, 2), '```', '')
  }

  if (report.phases.length > 0) {
    const start = report.phases[0]?.startedAt ?? 0
    lines.push(
      '### Timeline',
      '',
      '| Phase | Started | Took | Status | Detail |',
      '|---|---|---|---|---|',
    )
    for (const p of report.phases) {
      const took = p.endedAt === undefined ? '—' : formatDuration(p.endedAt - p.startedAt)
      const detail = cell(p.detail ?? '')
      lines.push(
        `| ${p.name} | +${formatDuration(p.startedAt - start)} | ${took} | ${p.status ?? 'in progress'} | ${detail} |`,
      )
    }
    lines.push('')
  }
  if (report.warnings.length > 0) {
    lines.push('### Warnings', '', ...report.warnings.map((w) => `- ${w}`), '')
  }
  return lines.join('\n')
}

/**
 * A table cell on one line. Pipes are escaped even inside code spans (GFM splits cells before it
 * parses inline code), so a cluster name or an S3 key containing '|' cannot break the table.
 */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

function addLaunch(
  facts: Array<[string, string]>,
  label: string,
  launch: LaunchRecord | undefined,
  region: string,
): void {
  if (!launch) return
  const outcome = launch.outcome ? ` — ${launch.outcome}` : ''
  facts.push([label, `\`${launch.stepId ?? 'not submitted'}\`${outcome}`])
  facts.push([
    `${label} marker`,
    `[\`${launch.markerUri}\`](${s3ConsoleUrl(region, launch.markerUri)})`,
  ])
}
