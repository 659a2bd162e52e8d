import { readFileSync } from 'node:fs'
import { appIdentity } from '../../../src/contract/identity.ts'
import { describe, expect, it } from 'vitest'
import { newReport, type LaunchRecord, type RunReport } from '../../../src/rollover/report.ts'
import { buildSparkStep } from '../../../src/contract/step.ts'
import { outputsOf } from '../../../src/report/outputs.ts'
import { clusterConsoleUrl, renderSummary, s3ConsoleUrl } from '../../../src/report/summary.ts'

const ACTION_YML = readFileSync(new URL('../../../action.yml', import.meta.url), 'utf8')
const OUTPUT_KEYS = [
  ...(/^outputs:\n([\s\S]*?)(?=^\S)/m.exec(ACTION_YML)?.[1] ?? '').matchAll(
    /^ {2}([a-z][a-z-]*):\s*$/gm,
  ),
].map((m) => m[1] as string)

const REGION = 'us-west-2'
const CLUSTER = 'j-2AXXXXXXGAPLF'
const ID = '20250102t030405z-a1b2c3'
const OLD_ID = '20241231t235959z-ffeedd'
const JAR = 's3://acme-artifacts/jars/clickstream/5f2b.jar'
const markerOf = (id: string) => `s3://acme-rollover/streaming/clickstream/markers/${id}`

function launch(id: string, extra: Partial<LaunchRecord> = {}): LaunchRecord {
  return {
    deploymentId: id,
    markerUri: markerOf(id),
    jarUri: JAR,
    step: buildSparkStep({
      app: appIdentity({ bucket: 'acme-rollover', key: 'streaming' }, 'clickstream'),
      deploymentId: id,
      mainClass: 'com.acme.Main',
      sparkSubmitArgs: [],
      appArgs: [],
      jarUri: JAR,
      markerUri: markerOf(id),
    }),
    ...extra,
  }
}

function base(): RunReport {
  return {
    ...newReport(ID, 'clickstream', REGION),
    clusterId: CLUSTER,
    clusterName: 'analytics-prod',
    jarUri: JAR,
    emrCalls: 14,
  }
}

function deployed(): RunReport {
  return {
    ...base(),
    result: 'deployed',
    status: 'succeeded',
    jarUploaded: true,
    previous: [{ stepId: 's-OLDSTEP0001', state: 'COMPLETED' }],
    stopStartedAt: 10_000,
    oldStoppedAt: 22_400,
    launch: launch(ID, {
      stepId: 's-NEWSTEP0001',
      submittedAt: 23_000,
      runningAt: 29_000,
      outcome: 'running',
    }),
    phases: [
      { name: 'Preflight', startedAt: 1_000, endedAt: 2_500, status: 'ok', detail: 'one step' },
      { name: 'Stage', startedAt: 2_500, endedAt: 2_500, status: 'skipped', detail: 'in S3' },
      { name: 'Lock', startedAt: 2_500, endedAt: 3_000, status: 'ok' },
      { name: 'Stop', startedAt: 10_000, endedAt: 22_400, status: 'ok', detail: 'stopped' },
      { name: 'Submit', startedAt: 22_400, endedAt: 23_000, status: 'ok' },
      { name: 'Verify', startedAt: 23_000, endedAt: 151_000, status: 'ok' },
    ],
  }
}

function firstDeploy(): RunReport {
  return {
    ...base(),
    result: 'first-deploy',
    status: 'succeeded',
    stopStartedAt: 5_000,
    oldStoppedAt: 5_000,
    launch: launch(ID, { stepId: 's-NEWSTEP0001', runningAt: 9_000, outcome: 'running' }),
  }
}

function rolledBack(): RunReport {
  return {
    ...base(),
    result: 'rolled-back',
    status: 'failed',
    error:
      'The new step s-NEWSTEP0001 died: step ended FAILED.\nRolled back: s-RBSTEP00001 runs the previous version again.',
    previous: [{ stepId: 's-OLDSTEP0001', state: 'KILLED' }],
    forcedStop: true,
    stopStartedAt: 10_000,
    oldStoppedAt: 70_000,
    launch: launch(ID, {
      stepId: 's-NEWSTEP0001',
      runningAt: 75_000,
      outcome: 'died',
      failure: 'step ended FAILED',
    }),
    rollback: launch(`${ID}-rb`, {
      stepId: 's-RBSTEP00001',
      runningAt: 95_500,
      outcome: 'running',
    }),
  }
}

function planned(): RunReport {
  return {
    ...base(),
    result: 'planned',
    status: 'succeeded',
    plan: {
      stop: ['step s-OLDSTEP0001 (RUNNING)', `marker ${markerOf(OLD_ID)}`],
      markerUri: markerOf(ID),
      step: launch(ID).step,
    },
  }
}

function failedEarly(): RunReport {
  return {
    ...newReport(ID, 'clickstream', REGION),
    status: 'failed',
    error: "cluster-name 'analytics-prod': no active cluster has this exact name.",
    phases: [{ name: 'Preflight', startedAt: 1_000, endedAt: 1_800, status: 'failed' }],
  }
}

describe('outputsOf', () => {
  it('action.yml declares the outputs this test expects', () => {
    expect(OUTPUT_KEYS).toEqual([
      'result',
      'deployment-id',
      'cluster-id',
      'step-id',
      'previous-step-id',
      'previous-step-state',
      'marker-uri',
      'jar-uri',
      'stop-seconds',
      'downtime-seconds',
    ])
  })

  it.each([
    ['deployed', deployed],
    ['first-deploy', firstDeploy],
    ['rolled-back', rolledBack],
    ['planned', planned],
    ['failed before the cluster was resolved', failedEarly],
  ])('gives every output of action.yml, and only those: %s', (_name, make) => {
    const outputs = outputsOf(make())
    expect(Object.keys(outputs).sort()).toEqual([...OUTPUT_KEYS].sort())
    for (const value of Object.values(outputs)) expect(typeof value).toBe('string')
  })

  it('deployed', () => {
    expect(outputsOf(deployed())).toEqual({
      result: 'deployed',
      'deployment-id': ID,
      'cluster-id': CLUSTER,
      'step-id': 's-NEWSTEP0001',
      'previous-step-id': 's-OLDSTEP0001',
      'previous-step-state': 'COMPLETED',
      'marker-uri': markerOf(ID),
      'jar-uri': JAR,
      'stop-seconds': '12.4',
      'downtime-seconds': '6.6',
    })
  })

  it('first-deploy', () => {
    expect(outputsOf(firstDeploy())).toEqual({
      result: 'first-deploy',
      'deployment-id': ID,
      'cluster-id': CLUSTER,
      'step-id': 's-NEWSTEP0001',
      'previous-step-id': '',
      'previous-step-state': '',
      'marker-uri': markerOf(ID),
      'jar-uri': JAR,
      'stop-seconds': '0',
      'downtime-seconds': '4',
    })
  })

  it('rolled-back: the rollback step is what runs now', () => {
    expect(outputsOf(rolledBack())).toEqual({
      result: 'rolled-back',
      'deployment-id': ID,
      'cluster-id': CLUSTER,
      'step-id': 's-RBSTEP00001',
      'previous-step-id': 's-OLDSTEP0001',
      'previous-step-state': 'KILLED',
      'marker-uri': markerOf(`${ID}-rb`),
      'jar-uri': JAR,
      'stop-seconds': '60',
      'downtime-seconds': '25.5',
    })
  })

  it('planned: the marker that would be written, no step', () => {
    expect(outputsOf(planned())).toEqual({
      result: 'planned',
      'deployment-id': ID,
      'cluster-id': CLUSTER,
      'step-id': '',
      'previous-step-id': '',
      'previous-step-state': '',
      'marker-uri': markerOf(ID),
      'jar-uri': JAR,
      'stop-seconds': '',
      'downtime-seconds': '',
    })
  })

  it('failed before the cluster was resolved: only the deployment id', () => {
    expect(outputsOf(failedEarly())).toEqual({
      result: '',
      'deployment-id': ID,
      'cluster-id': '',
      'step-id': '',
      'previous-step-id': '',
      'previous-step-state': '',
      'marker-uri': '',
      'jar-uri': '',
      'stop-seconds': '',
      'downtime-seconds': '',
    })
  })
})

/** The cells of a markdown table row, split on unescaped pipes. */
function cells(row: string): string[] {
  return row
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim())
}

function tableRows(markdown: string, header: string): string[] {
  const lines = markdown.split('\n')
  const start = lines.indexOf(header)
  expect(start).toBeGreaterThanOrEqual(0)
  const rows: string[] = []
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break
    rows.push(line)
  }
  return rows
}

describe('renderSummary', () => {
  it.each([
    [deployed, '## ✅ Rolled over: `clickstream`'],
    [firstDeploy, '## ✅ First deploy: `clickstream`'],
    [rolledBack, '## ⚠️ Rolled back: `clickstream`'],
    [planned, '## 📝 Dry run: plan: `clickstream`'],
    [failedEarly, '## ❌ Rollover failed: `clickstream`'],
  ])('titles the result (%#)', (make, title) => {
    expect(renderSummary(make()).split('\n')[0]).toBe(title)
  })

  it('titles a failure after a result was set as failed', () => {
    expect(renderSummary({ ...deployed(), status: 'failed', error: 'x' })).toMatch(
      /^## ❌ Rollover failed/,
    )
  })

  it('lists the timeline with offsets, durations, status and detail', () => {
    const rows = tableRows(
      renderSummary(deployed()),
      '| Phase | Started | Took | Status | Detail |',
    )
    expect(rows).toEqual([
      '| Preflight | +0ms | 1.5s | ok | one step |',
      '| Stage | +1.5s | 0ms | skipped | in S3 |',
      '| Lock | +1.5s | 500ms | ok |  |',
      '| Stop | +9.0s | 12.4s | ok | stopped |',
      '| Submit | +21.4s | 600ms | ok |  |',
      '| Verify | +22.0s | 2m8s | ok |  |',
    ])
  })

  it('shows a phase still in progress', () => {
    const report = deployed()
    report.phases.push({ name: 'Rollback', startedAt: 160_000 })
    const rows = tableRows(renderSummary(report), '| Phase | Started | Took | Status | Detail |')
    expect(rows.at(-1)).toBe('| Rollback | +2m39s | — | in progress |  |')
  })

  it('links the cluster and the markers to the AWS console', () => {
    const text = renderSummary(rolledBack())
    const clusterUrl = `https://us-west-2.console.aws.amazon.com/emr/home?region=us-west-2#/clusterDetails/${CLUSTER}`
    expect(clusterConsoleUrl(REGION, CLUSTER)).toBe(clusterUrl)
    expect(text).toContain(`| Cluster | [${CLUSTER}](${clusterUrl}) (analytics-prod) |`)
    const markerUrl = `https://s3.console.aws.amazon.com/s3/object/acme-rollover?region=us-west-2&prefix=streaming%2Fclickstream%2Fmarkers%2F${ID}`
    expect(s3ConsoleUrl(REGION, markerOf(ID))).toBe(markerUrl)
    expect(text).toContain(`| New step marker | [\`${markerOf(ID)}\`](${markerUrl}) |`)
    expect(text).toContain(
      `| Rollback step marker | [\`${markerOf(`${ID}-rb`)}\`](${markerUrl}-rb) |`,
    )
    expect(text).toContain('| New step | `s-NEWSTEP0001` — died |')
    expect(text).toContain('| Rollback step | `s-RBSTEP00001` — running |')
  })

  it('states the facts of a deploy', () => {
    const text = renderSummary(deployed())
    expect(text).toContain(`| Deployment | \`${ID}\` |`)
    expect(text).toContain(`| Jar | \`${JAR}\` (uploaded) |`)
    expect(text).toContain('| Stopped | `s-OLDSTEP0001` COMPLETED |')
    expect(text).toContain('| Stop took | 12.4 s |')
    expect(text).toContain('| Downtime | 6.6 s (old driver stopped → new one running) |')
    expect(text).toContain('| EMR API calls | 14 |')
    expect(text).not.toContain('> ')
  })

  it('marks a forced stop', () => {
    expect(renderSummary(rolledBack())).toContain(
      '| Stopped | `s-OLDSTEP0001` KILLED (forced: YARN kill) |',
    )
  })

  it('quotes the error on failure, every line of it', () => {
    const text = renderSummary(rolledBack())
    expect(text).toContain(
      '> The new step s-NEWSTEP0001 died: step ended FAILED.\n> Rolled back: s-RBSTEP00001 runs the previous version again.\n',
    )
    const early = renderSummary(failedEarly())
    expect(early).toContain(
      "\n> cluster-name 'analytics-prod': no active cluster has this exact name.\n",
    )
    expect(early).toContain('| Cluster | not resolved |')
    expect(early).toContain('| Jar | — |')
    expect(early).toContain('| Stopped | nothing was running |')
  })

  it('escapes pipes and newlines in details so the table holds', () => {
    const report = deployed()
    report.phases.push({
      name: 'Rollback',
      startedAt: 160_000,
      endedAt: 161_000,
      status: 'failed',
      detail: 'exit | code 1\nsee stderr | tail',
    })
    const text = renderSummary(report)
    const rows = tableRows(text, '| Phase | Started | Took | Status | Detail |')
    expect(rows.at(-1)).toBe(
      '| Rollback | +2m39s | 1.0s | failed | exit \\| code 1 see stderr \\| tail |',
    )
    for (const row of rows) expect(cells(row)).toHaveLength(5)
  })

  it('escapes pipes in the facts too (a cluster name or an S3 key may hold one)', () => {
    const report = { ...deployed(), clusterName: 'analytics | prod', jarUri: 's3://b/a|b.jar' }
    const rows = tableRows(renderSummary(report), '| | |')
    expect(rows.length).toBeGreaterThan(5)
    for (const row of rows) expect(cells(row)).toHaveLength(2)
    expect(rows).toContain('| Jar | `s3://b/a\\|b.jar` (uploaded) |')
  })

  it('prints the plan of a dry run with the exact step', () => {
    const report = planned()
    const text = renderSummary(report)
    expect(text).toContain(
      `### Plan\n\nWould stop: step s-OLDSTEP0001 (RUNNING), marker ${markerOf(OLD_ID)}\n`,
    )
    expect(text).toContain(`Would write the marker \`${markerOf(ID)}\` and submit:`)
    const json = /```json\n([\s\S]*?)\n```/.exec(text)?.[1]
    expect(JSON.parse(json as string)).toEqual(report.plan?.step)
  })

  it('says so when a dry run would stop nothing', () => {
    const report = planned()
    const text = renderSummary({
      ...report,
      plan: { ...(report.plan as NonNullable<RunReport['plan']>), stop: [] },
    })
    expect(text).toContain('Would stop: nothing')
  })

  it('lists the warnings', () => {
    const report = { ...deployed(), warnings: ['Could not renew the lock', 'slow S3'] }
    expect(renderSummary(report)).toContain(
      '### Warnings\n\n- Could not renew the lock\n- slow S3\n',
    )
    expect(renderSummary(deployed())).not.toContain('### Warnings')
  })
})

describe('a stop that failed', () => {
  function stopTimedOut(): RunReport {
    const report = base()
    report.status = 'failed'
    report.error = 'The running driver s-OLD did not stop within stop-timeout (15m).'
    report.found = [{ stepId: 's-OLD', state: 'RUNNING' }]
    report.phases.push({ name: 'Stop', startedAt: 0, endedAt: 900_000, status: 'failed' })
    return report
  }

  it('names the step that still runs, in the outputs and the summary', () => {
    const report = stopTimedOut()
    expect(outputsOf(report)).toMatchObject({
      'previous-step-id': 's-OLD',
      'previous-step-state': 'RUNNING',
      'step-id': '',
    })
    const summary = renderSummary(report)
    expect(summary).toContain('not stopped: `s-OLD` RUNNING')
    expect(summary).not.toContain('nothing was running')
  })
})
