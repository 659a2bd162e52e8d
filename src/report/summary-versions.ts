// The top of the job summary: which version ran before, which one this run deployed, and what
// runs now, which after a failed run is the one thing a person must know.
import type { LaunchRecord, RunReport, VersionInfo } from '../rollover/report.ts'
import { code, link, text } from './markdown.ts'
import { stopFailed } from './outputs.ts'
import { OUTCOME, stepState } from './words.ts'

/** "from → to" and "runs now", as markdown lines. */
export function versionLines(report: RunReport): string[] {
  const before = report.before ?? previousVersion(report)
  const after = report.after ?? newVersion(report)
  const lines: string[] = []
  if (report.result === 'planned') {
    lines.push(
      before
        ? `**Would roll over** from ${version(before)} **→ to** ${version(after)}`
        : `**Would deploy** ${version(after)} (nothing runs now)`,
    )
  } else if (before) {
    lines.push(`**From** ${version(before)} **→ to** ${version(after)}`)
  } else {
    lines.push(`**First deploy:** ${version(after)}`)
  }
  const ids = [
    pair('Deployment', before?.deploymentId, after.deploymentId),
    pair('Step', before?.stepId, after.stepId),
  ].filter((x): x is string => x !== undefined)
  if (ids.length > 0) lines.push(ids.join(' · '))
  lines.push(`**Runs now:** ${runsNow(report)}`)
  return lines.flatMap((l) => [l, ''])
}

/** What runs on the cluster after this run, in words; exact about what is not known. */
export function runsNow(report: RunReport): string {
  if (report.result === 'planned') return 'unchanged (a dry run changes nothing).'
  const { launch, rollback } = report
  if (report.status === 'succeeded' && launch?.outcome === 'running') {
    return `the new version, step ${code(launch.stepId ?? '?')} (verified).`
  }
  if (rollback?.outcome === 'running') {
    const previous = report.before ? ` (${version(report.before)})` : ''
    return `the previous version again${previous}, rollback step ${code(rollback.stepId ?? '?')}. The new step ${code(launch?.stepId ?? '?')} ${launchWords(launch)}.`
  }
  // With the standby strategy the new step is submitted before the stop: say what became of it.
  const submitted = launch?.stepId
    ? ` The new step ${code(launch.stepId)} ${launchWords(launch)}.`
    : ' Nothing new was submitted.'
  if (stopFailed(report)) {
    const found = (report.found ?? []).map((f) => `${code(f.stepId)} (${stepState(f.state)})`)
    return `the old version, unchanged${found.length > 0 ? `: step ${found.join(', ')}` : ''}.${submitted}`
  }
  const stop = report.phases.find((p) => p.name === 'Stop')
  if (!stop) {
    const before = report.before ?? previousVersion(report)
    return `unchanged: nothing was stopped${before?.stepId ? ` (step ${code(before.stepId)} runs as before)` : ''}.${submitted}`
  }
  if (stop.status === undefined) {
    return 'not known: the run ended while the old driver was stopping. Check the EMR console, then re-run.'
  }
  const unverified = [rollback, launch].find(
    (l) => l?.stepId !== undefined && (l.outcome === 'not-verified' || l.outcome === undefined),
  )
  if (unverified) {
    return `possibly step ${code(unverified.stepId as string)}: it was submitted but not verified. Check it in the EMR console, or re-run to verify it.`
  }
  if (launch?.outcome === 'running') {
    // Running, and yet the run failed (a handoff gap, a record it could not write, …).
    return `the new version, step ${code(launch.stepId ?? '?')}: it runs, but the run failed (the error above says why).`
  }
  const tried = [launch, rollback]
    .filter((l): l is LaunchRecord => l !== undefined)
    .map(
      (l) =>
        `${l === rollback ? 'the rollback' : 'the new step'} ${code(l.stepId ?? 'not submitted')} ${launchWords(l)}`,
    )
  const stopped = report.previous.length > 0 ? 'The old driver was stopped' : 'Nothing was running'
  return `**nothing.** ${stopped}${tried.length > 0 ? `, and ${tried.join('; ')}` : ''}. Re-run, or roll back by hand.`
}

function launchWords(launch: LaunchRecord | undefined): string {
  if (!launch?.stepId) return 'was not submitted'
  return launch.outcome ? OUTCOME[launch.outcome] : 'was not verified'
}

function pair(label: string, from: string | undefined, to: string | undefined): string | undefined {
  if (!to) return undefined
  return from ? `${label} ${code(from)} → ${code(to)}` : `${label} ${code(to)}`
}

/** A version as "`jar` at `commit`", the commit linked when the run URL names the repository. */
export function version(v: VersionInfo): string {
  const jar = v.jarUri ? code(jarName(v.jarUri)) : 'an unknown jar'
  if (!v.sha) return jar
  const short = code(v.sha.slice(0, 7))
  return `${jar} at ${link(short, commitUrl(v.runUrl, v.sha))}${v.ref ? ` (${text(shortRef(v.ref))})` : ''}`
}

/** The jar's file name; a content-addressed one (`<sha256>.jar`) by its short hash. */
export function jarName(uri: string): string {
  const name = uri.split('/').pop() || uri
  const hash = /^([0-9a-f]{64})\.jar$/.exec(name)?.[1]
  return hash ? `jar ${hash.slice(0, 12)}` : name
}

function commitUrl(runUrl: string | undefined, sha: string): string | undefined {
  const repo = /^(https:\/\/[^/]+\/[^/]+\/[^/]+)\/actions\/runs\//.exec(runUrl ?? '')?.[1]
  return repo && /^[0-9a-f]{7,40}$/i.test(sha) ? `${repo}/commit/${sha}` : undefined
}

function shortRef(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, '')
}

/** Before the phases fill `before`: the stopped step is all that is known. */
function previousVersion(report: RunReport): VersionInfo | undefined {
  const step = report.previous[0]?.stepId ?? report.found?.[0]?.stepId
  return step ? { stepId: step } : undefined
}

function newVersion(report: RunReport): VersionInfo {
  return {
    deploymentId: report.launch?.deploymentId ?? report.deploymentId,
    stepId: report.launch?.stepId,
    jarUri: report.launch?.jarUri ?? report.jarUri,
  }
}
