// The report's enums in the words a person reads in the job summary. Every enum the summary
// shows goes through here, so no raw `failed-to-start` or `not-verified` reaches a page.
import type { HandoffVerdict, SourceHandoff } from '../contract/handoff.ts'
import type {
  Downtime,
  LaunchOutcome,
  PhaseStatus,
  Readiness,
  RolloverResult,
} from '../rollover/report.ts'

export const OUTCOME: Readonly<Record<LaunchOutcome, string>> = {
  running: 'running',
  'failed-to-start': 'did not start',
  died: 'stopped after it started',
  'not-verified': 'not verified (may be running)',
  'bad-handoff': 'started from the wrong offsets',
}

export const RESULT: Readonly<Record<RolloverResult, string>> = {
  deployed: 'rolled over',
  'first-deploy': 'first deploy',
  'rolled-back': 'rolled back',
  planned: 'dry run',
}

export const PHASE_STATUS: Readonly<Record<PhaseStatus, string>> = {
  ok: 'ok',
  skipped: 'skipped',
  failed: 'failed',
}

export const HANDOFF: Readonly<Record<HandoffVerdict, string>> = {
  contiguous: 'contiguous',
  gap: 'gap: records skipped',
  overlap: 'overlap: records read twice',
  unknown: 'not checked',
}

export const SOURCE_HANDOFF: Readonly<Record<SourceHandoff['verdict'], string>> = {
  contiguous: 'contiguous',
  gap: 'gap',
  overlap: 'overlap',
  unknown: 'cannot tell',
  added: 'new source',
  removed: 'no longer read',
}

export const READINESS: Readonly<Record<Readiness['method'], string>> = {
  progress: "by the driver's progress",
  'emr-state': 'by EMR state only',
}

export const DOWNTIME_MEASURE: Readonly<Record<Downtime['measuredBy'], string>> = {
  drivers: "between the old driver's last batch and the new driver's first, on the drivers' clocks",
  action: "from the old driver's exit to the new step running, as the action saw it",
}

/** EMR step states, as a person says them (the raw state stays visible in parentheses). */
export function stepState(state: string): string {
  const words: Record<string, string> = {
    PENDING: 'waiting to start',
    CANCEL_PENDING: 'being cancelled',
    RUNNING: 'running',
    COMPLETED: 'stopped cleanly',
    CANCELLED: 'cancelled',
    FAILED: 'failed',
    INTERRUPTED: 'interrupted',
    KILLED: 'killed (forced stop)',
  }
  return words[state] ?? state.toLowerCase()
}

export const STRATEGY: Readonly<Record<string, string>> = {
  'stop-start': 'stop, then start',
  standby: 'standby (started before the old driver stopped)',
}
