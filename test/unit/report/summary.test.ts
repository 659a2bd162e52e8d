// The job summary as a person reads it: structure (tables with headers, the error once, words
// for enums, a chart that Mermaid can read), what runs now, and text it does not control.
import { describe, expect, it } from 'vitest'
import type { LaunchRecord, RunReport } from '../../../src/rollover/report.ts'
import { label as chartLabel } from '../../../src/report/summary-chart.ts'
import { clusterConsoleUrl, renderSummary, s3ConsoleUrl } from '../../../src/report/summary.ts'
import {
  CLUSTER,
  deployedContiguous,
  deployedEmrStateOnly,
  dryRun,
  failedFirstDeploy,
  markerOf,
  NEW_ID,
  REGION,
  rolledBackGap,
  SAMPLES,
  standbyDeploy,
} from '../../visual/samples.ts'

/** The cells of a markdown table row, split on unescaped pipes. */
function cells(row: string): string[] {
  return row
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim())
}

/** Every table: its header cells and rows (lines outside code blocks only). */
function tables(markdown: string): Array<{ header: string[]; rows: string[][] }> {
  const found: Array<{ header: string[]; rows: string[][] }> = []
  const lines = outsideCode(markdown)
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]?.startsWith('|') || !/^\|(-+\|)+$/.test(lines[i + 1] ?? '')) continue
    const header = cells(lines[i] as string)
    const rows: string[][] = []
    for (let j = i + 2; lines[j]?.startsWith('|'); j++) rows.push(cells(lines[j] as string))
    found.push({ header, rows })
  }
  return found
}

function outsideCode(markdown: string): string[] {
  let fence: string | undefined
  return markdown.split('\n').filter((line) => {
    const open = /^(`{3,})/.exec(line)?.[1]
    if (fence === undefined && open) {
      fence = open
      return false
    }
    if (fence !== undefined) {
      if (line.startsWith(fence) && line.trim() === fence) fence = undefined
      return false
    }
    return true
  })
}

function mermaidBlocks(markdown: string): string[][] {
  return [...markdown.matchAll(/^```mermaid\n([\s\S]*?)\n```$/gm)].map((m) =>
    (m[1] as string).split('\n'),
  )
}

/** Mermaid's gantt grammar, as far as the summary uses it: each line must be one of these. */
const GANTT_LINE = [
  /^%%\{init: \{.*\}\}%%$/,
  /^gantt$/,
  /^ {2}dateFormat x$/,
  /^ {2}axisFormat [%A-Za-z:]+$/,
  /^ {2}todayMarker off$/,
  /^ {2}section [^:;#%\n]+$/,
  /^ {4}[^:;#%\n]+ : ((crit|done|active|milestone), )*\d{13}, \d{13}$/,
]

const RAW_ENUMS = [
  'failed-to-start',
  'not-verified',
  'first-deploy',
  'rolled-back',
  'emr-state',
  'in-progress',
  'stop-start',
]

describe('renderSummary: structure of every sample', () => {
  it.each(SAMPLES)('%s: tables have headers that say what the columns hold', (_name, make) => {
    const all = tables(renderSummary(make()))
    expect(all.length).toBeGreaterThan(0)
    for (const t of all) {
      for (const h of t.header) expect(h).not.toBe('')
      for (const row of t.rows) expect(row).toHaveLength(t.header.length)
    }
  })

  it.each(SAMPLES)('%s: no raw enum reaches the page', (_name, make) => {
    const prose = outsideCode(renderSummary(make())).join('\n')
    for (const raw of RAW_ENUMS) expect(prose).not.toContain(raw)
  })

  it.each(SAMPLES)('%s: no long S3 URI in a table cell (tables do not wrap)', (_name, make) => {
    for (const t of tables(renderSummary(make()))) {
      for (const row of t.rows) for (const c of row) expect(c).not.toMatch(/s3:\/\/\S{40,}/)
    }
  })

  it.each(SAMPLES)('%s: every Mermaid line parses as a gantt entry', (_name, make) => {
    for (const block of mermaidBlocks(renderSummary(make()))) {
      for (const line of block)
        expect(
          GANTT_LINE.some((re) => re.test(line)),
          line,
        ).toBe(true)
    }
  })
})

describe('renderSummary: the top', () => {
  it.each([
    [deployedContiguous, '## ✅ Rolled over: `clickstream`'],
    [rolledBackGap, '## ⚠️ Rolled back: `clickstream`'],
    [failedFirstDeploy, '## ❌ Rollover failed: `clickstream`'],
    [dryRun, '## 📝 Dry run: plan: `clickstream`'],
  ])('titles the outcome (%#)', (make, title) => {
    expect(renderSummary(make()).split('\n')[0]).toBe(title)
  })

  it('says from which version to which, with jar names, commits and deployment ids', () => {
    const text = renderSummary(deployedContiguous())
    expect(text).toContain(
      '**From** `clickstream-assembly-1.4.2.jar` at [`3f2a9c1`](https://github.com/acme/streaming/commit/3f2a9c1d4b5e6f708192a3b4c5d6e7f801234567) (v1.4.2) **→ to** `clickstream-assembly-1.5.0.jar` at [`9b8c7d6`](https://github.com/acme/streaming/commit/9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c) (v1.5.0)',
    )
    expect(text).toContain(
      `Deployment \`20261201t090000z-0a1b2c\` → \`${NEW_ID}\` · Step \`s-OLDSTEP0001\` → \`s-NEWSTEP0001\``,
    )
    // In that order: versions, verdict, chart, details.
    const order = [
      '**From**',
      '**Runs now:**',
      'verified',
      '```mermaid',
      '### Details',
      '### Timeline',
    ]
    const at = order.map((s) => text.indexOf(s))
    expect(at).toEqual([...at].sort((a, b) => a - b))
    expect(at.every((i) => i >= 0)).toBe(true)
  })

  it('names a content-addressed jar by its hash, and a first deploy as such', () => {
    const report = failedFirstDeploy()
    report.after = { jarUri: `s3://a/b/${'ab12'.repeat(16)}.jar` }
    expect(renderSummary(report)).toContain('**First deploy:** `jar ab12ab12ab12`')
  })

  it('falls back to the launch when the phases did not fill before/after', () => {
    const report = deployedContiguous()
    report.before = undefined
    report.after = undefined
    const text = renderSummary(report)
    expect(text).toContain('**From** an unknown jar **→ to** `clickstream-assembly-1.5.0.jar`')
    expect(text).toContain('Step `s-OLDSTEP0001` → `s-NEWSTEP0001`')
  })
})

describe('renderSummary: what runs now', () => {
  const runsNow = (report: RunReport): string =>
    /^\*\*Runs now:\*\* (.*)$/m.exec(renderSummary(report))?.[1] ?? ''

  it('the new version after a deploy', () => {
    expect(runsNow(deployedContiguous())).toBe('the new version, step `s-NEWSTEP0001` (verified).')
  })

  it('the previous version after a rollback, and what became of the new one', () => {
    expect(runsNow(rolledBackGap())).toMatch(
      /^the previous version again \(`clickstream-assembly-1\.4\.2\.jar` at .*\), rollback step `s-RBSTEP00001`\. The new step `s-NEWSTEP0001` stopped after it started\.$/,
    )
  })

  it('nothing, in bold, when the new step did not start and there is nothing to roll back to', () => {
    expect(runsNow(failedFirstDeploy())).toBe(
      '**nothing.** Nothing was running, and the new step `s-NEWSTEP0001` did not start. Re-run, or roll back by hand.',
    )
  })

  it('the old version when the stop failed', () => {
    const report = deployedContiguous()
    Object.assign(report, { status: 'failed', result: undefined, launch: undefined })
    report.found = [{ stepId: 's-OLDSTEP0001', state: 'RUNNING' }]
    report.phases = [{ name: 'Stop', startedAt: 1, endedAt: 2, status: 'failed' }]
    expect(runsNow(report)).toBe(
      'the old version, unchanged: step `s-OLDSTEP0001` (running). Nothing new was submitted.',
    )
  })

  it('unchanged when the run failed before the stop', () => {
    const report = deployedContiguous()
    Object.assign(report, { status: 'failed', result: undefined, launch: undefined })
    report.phases = [{ name: 'Preflight', startedAt: 1, endedAt: 2, status: 'failed' }]
    expect(runsNow(report)).toBe(
      'unchanged: nothing was stopped (step `s-OLDSTEP0001` runs as before). Nothing new was submitted.',
    )
  })

  it('standby: unchanged when the standby failed before the stop, and what became of it', () => {
    const report = standbyDeploy()
    Object.assign(report, { status: 'failed', result: undefined })
    report.launch = { ...(report.launch as LaunchRecord), outcome: 'failed-to-start' }
    report.phases = report.phases.filter((p) => p.name !== 'Stop' && p.name !== 'Verify')
    expect(runsNow(report)).toBe(
      'unchanged: nothing was stopped (step `s-OLDSTEP0001` runs as before). The new step `s-NEWSTEP0001` did not start.',
    )
  })

  it('possibly the new step when it was submitted but not verified', () => {
    const report = deployedContiguous()
    report.status = 'failed'
    report.result = undefined
    report.launch = { ...(report.launch as LaunchRecord), outcome: 'not-verified' }
    expect(runsNow(report)).toMatch(
      /^possibly step `s-NEWSTEP0001`: it was submitted but not verified/,
    )
  })

  it('the new version when it runs but the run failed anyway (say, a handoff gap)', () => {
    const report = deployedContiguous()
    report.status = 'failed'
    report.result = undefined
    report.error = 'Handoff gap'
    expect(runsNow(report)).toBe(
      'the new version, step `s-NEWSTEP0001`: it runs, but the run failed (the error above says why).',
    )
  })

  it('not known when the run ended while stopping', () => {
    const report = deployedContiguous()
    Object.assign(report, { status: 'failed', result: undefined, launch: undefined })
    report.phases = [{ name: 'Stop', startedAt: 1 }]
    expect(runsNow(report)).toMatch(/^not known: the run ended while the old driver was stopping/)
  })

  it('unchanged on a dry run', () => {
    expect(runsNow(dryRun())).toBe('unchanged (a dry run changes nothing).')
  })
})

describe('renderSummary: the verdict', () => {
  it('verified by progress, the handoff contiguous with its offsets, downtime and how measured', () => {
    const text = renderSummary(deployedContiguous())
    expect(text).toContain(
      "- ✅ **New driver `s-NEWSTEP0001` verified by the driver's progress**: it committed 12 batches (#1208–#1219) of its own.",
    )
    expect(text).toContain('- ✅ **Handoff contiguous**')
    expect(text).toContain(
      '  - `KafkaV2[Subscribe[clicks]]`: contiguous — clicks\\[0\\]: at 1204331; clicks\\[1\\]: at 1198870; clicks\\[2\\]: at 1201002',
    )
    expect(text).toContain(
      "- ⏱️ **Downtime 26.2 s**, between the old driver's last batch and the new driver's first, on the drivers' clocks.",
    )
  })

  it('a gap, per source, with the partition and the count', () => {
    const text = renderSummary(rolledBackGap())
    expect(text).toContain('- ❌ **Handoff gap: records skipped**')
    expect(text).toContain(
      '`KafkaV2[Subscribe[clicks]]`: gap — clicks\\[1\\]: 1000 offsets skipped (old end 1198870, new start 1199870); 1 contiguous',
    )
    expect(text).toContain('- ❌ **New driver `s-NEWSTEP0001` stopped after it started.**')
  })

  it('says when the driver was verified by EMR state only, and why the handoff is unknown', () => {
    const text = renderSummary(deployedEmrStateOnly())
    expect(text).toContain('⚠️ **New driver `s-NEWSTEP0001` verified by EMR state only**')
    expect(text).toContain(
      '- ➖ **Handoff not checked**: input-0: neither driver reports offsets for this source',
    )
    expect(text).toContain('as the action saw it')
  })

  it('a dry run has no verdict', () => {
    expect(renderSummary(dryRun())).not.toMatch(/Handoff|verified|Downtime/)
  })
})

describe('renderSummary: the chart', () => {
  it('draws the drain, the gap and the new driver when the times are known', () => {
    const [block] = mermaidBlocks(renderSummary(deployedContiguous()))
    expect(block).toBeDefined()
    expect(block).toContain('  section Old driver')
    expect(block).toContain('  section Handoff')
    expect(block?.some((l) => /^ {4}No batch committed, 26 s : crit, \d+, \d+$/.test(l))).toBe(true)
    expect(block?.some((l) => l.startsWith('    First batch committed : milestone, '))).toBe(true)
  })

  it('draws the standby wait', () => {
    const [block] = mermaidBlocks(renderSummary(standbyDeploy()))
    expect(
      block?.some((l) => l.startsWith('    Standby, waiting for the old driver : active, ')),
    ).toBe(true)
  })

  it('draws the downtime the action saw when the drivers give no batch times', () => {
    const [block] = mermaidBlocks(renderSummary(deployedEmrStateOnly()))
    expect(block?.some((l) => l.startsWith('    No driver running, '))).toBe(true)
  })

  it('draws nothing when too little is known', () => {
    expect(mermaidBlocks(renderSummary(failedFirstDeploy()))).toEqual([])
    expect(mermaidBlocks(renderSummary(dryRun()))).toEqual([])
    const report = deployedContiguous()
    report.handoffTimes = undefined
    report.stopStartedAt = undefined
    report.launch = { ...(report.launch as LaunchRecord), submittedAt: undefined }
    expect(mermaidBlocks(renderSummary(report))).toEqual([])
  })

  it('keeps labels Mermaid cannot misread', () => {
    expect(chartLabel('a: b # c; d %% e\nf')).toBe('a b c d e f')
    expect(chartLabel(':::')).toBe('-')
  })
})

describe('renderSummary: the details', () => {
  it('a facts table, URIs in a list linked to the console', () => {
    const text = renderSummary(deployedContiguous())
    const clusterUrl = clusterConsoleUrl(REGION, CLUSTER)
    expect(text).toContain('| Fact | Value |')
    expect(text).toContain(`| Cluster | [\`${CLUSTER}\`](${clusterUrl}) (streaming-prod) |`)
    expect(text).toContain('| Stopped | `s-OLDSTEP0001` COMPLETED (stopped cleanly) |')
    expect(text).toContain('| Jar | `clickstream-assembly-1.5.0.jar` |')
    expect(text).toContain(
      '| Downtime | 14.4 s between the steps (old step ended → new step running) |',
    )
    expect(text).toContain(
      `- New marker: [\`${markerOf(NEW_ID)}\`](${s3ConsoleUrl(REGION, markerOf(NEW_ID))})`,
    )
  })

  it('the timeline with durations and words for the status', () => {
    const text = renderSummary(deployedContiguous())
    expect(text).toContain('| Phase | Started | Took | Status | Note |')
    expect(text).toContain('| Stop | +1.5s | 8.3s | ok | stopped s-OLDSTEP0001 (COMPLETED) |')
    expect(text).toContain('| Stage | +1.2s | 0ms | skipped | jar already in S3 |')
  })

  it('EMR failure details and the stderr tail folded in a details block', () => {
    const text = renderSummary(failedFirstDeploy())
    expect(text).toContain(
      "<details><summary>Why the new step s-NEWSTEP0001 failed: EMR's failure details and the end of its stderr</summary>\n\nEMR says: Unknown Error. Exception",
    )
    expect(text).toMatch(/Last 7 lines of stderr:\n\n```\nWarning: Skip remote jar/)
    expect(text).toContain('\n</details>\n')
  })

  it('the error once: not again in the timeline nor the warnings', () => {
    for (const make of [failedFirstDeploy, rolledBackGap]) {
      const report = make()
      const text = renderSummary(report)
      const visible = text.replace(/<details>[\s\S]*?<\/details>/g, '')
      // The failure's distinctive words.
      const needle =
        make === failedFirstDeploy ? 'ended FAILED before running' : 'ended FAILED 41.0s'
      expect(visible.split(needle)).toHaveLength(2)
      expect(text).toContain('| failed | the error above |')
    }
  })

  it('warnings once each, not those the verdict or the error already say', () => {
    const report = deployedContiguous()
    report.warnings = ['slow S3', 'slow S3', 'Could not renew the lock']
    expect(renderSummary(report)).toContain(
      '### Warnings\n\n- slow S3\n- Could not renew the lock\n',
    )
    expect(renderSummary(rolledBackGap())).not.toContain('### Warnings')
    expect(renderSummary(deployedContiguous())).not.toContain('### Warnings')
  })

  it('at most 20 warnings: a summary over 1 MiB is refused', () => {
    const report = deployedContiguous()
    report.warnings = Array.from({ length: 500 }, (_, i) => `warning ${i} ${'w'.repeat(2000)}`)
    const text = renderSummary(report)
    expect(text.match(/^- warning /gm)).toHaveLength(20)
    expect(text).toContain('- and 480 more in the log')
    expect(text.length).toBeLessThan(40_000)
  })

  it('a dry run shows the plan with the exact step, and claims no stop', () => {
    const report = dryRun()
    const text = renderSummary(report)
    expect(text).toContain(
      `### Plan\n\nWould stop: step s-OLDSTEP0001 (RUNNING), marker ${markerOf('20261201t090000z-0a1b2c')}\n`,
    )
    expect(text).toContain(`Would write the marker \`${markerOf(NEW_ID)}\` and submit:`)
    const json = /```json\n([\s\S]*?)\n```/.exec(text)?.[1]
    expect(JSON.parse(json as string)).toEqual(report.plan?.step)
    expect(text).not.toContain('| Stopped |')
    expect(renderSummary({ ...report, plan: { ...report.plan!, stop: [] } })).toContain(
      'Would stop: nothing\n',
    )
  })
})

describe('renderSummary: text the action does not control', () => {
  const HOSTILE =
    '<img src=x onerror=alert(1)> [click](https://evil.example) # head | pipe `tick` @team'

  it('an error message cannot become markup', () => {
    const report = failedFirstDeploy()
    report.error = `${HOSTILE}\n## not a heading`
    const text = renderSummary(report)
    expect(text).not.toContain('<img')
    expect(text).not.toContain('[click](')
    expect(text).toContain('> &lt;img src=x onerror=alert(1)&gt; \\[click\\](https://evil.example)')
    expect(text).toContain('> \\## not a heading')
  })

  it("EMR's FailureDetails and the stderr cannot close the fold or the code block", () => {
    const report = failedFirstDeploy()
    const launch = report.launch as LaunchRecord
    report.launch = {
      ...launch,
      failureDetails: {
        message: `</summary></details><script>x</script> ${HOSTILE}`,
        stderrTail: ['```', '````', '</details>', '<script>alert(1)</script>'],
        stderrNote: '</details> [x](https://evil.example)',
      },
    }
    const text = renderSummary(report)
    expect(text.match(/<\/details>/g)).toHaveLength(2) // the fold's own, and one in the code
    expect(text).toContain('`````\n```\n````\n</details>\n<script>alert(1)</script>\n`````')
    expect(text).not.toMatch(/EMR says: .*<\/summary>/)
    expect(text).toContain('&lt;/details&gt; \\[x\\]')
  })

  it('a source description or a handoff detail cannot break the verdict or a table', () => {
    const report = deployedContiguous()
    report.handoff = {
      verdict: 'gap',
      sources: [{ description: 'Kafka[`a`|b]', verdict: 'gap', detail: '| x | y |\n# h' }],
    }
    report.clusterName = 'prod | eu'
    const text = renderSummary(report)
    expect(text).toContain('  - ``Kafka[`a`\\|b]``: gap — \\| x \\| y \\| # h')
    for (const t of tables(text))
      for (const row of t.rows) expect(row).toHaveLength(t.header.length)
  })

  it('a 5 MB stderr tail stays a small summary', () => {
    const report = failedFirstDeploy()
    report.launch = {
      ...(report.launch as LaunchRecord),
      failureDetails: {
        stderrTail: Array.from({ length: 5000 }, (_, i) => `${i} ${'x'.repeat(1000)}`),
      },
    }
    const text = renderSummary(report)
    expect(text.length).toBeLessThan(100_000)
    expect(text).toContain('Last 50 lines of stderr:')
    expect(text).toContain('4999 xxx')
  })

  it('links only to https URLs the action built', () => {
    const report = deployedContiguous()
    report.after = {
      ...report.after,
      sha: 'abcdef1',
      runUrl: 'javascript:alert(1)//actions/runs/1',
    }
    const text = renderSummary(report)
    expect(text).not.toContain('javascript:')
    expect(text).toContain('at `abcdef1`')
  })
})
