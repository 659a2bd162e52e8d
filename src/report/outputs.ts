// The action's outputs, from the run report. Pure: main.ts sets them.
import { downtimeSeconds, seconds, type LaunchRecord, type RunReport } from '../rollover/report.ts'

/** Every output of action.yml; empty strings for what this run did not reach. */
export function outputsOf(report: RunReport): Record<string, string> {
  const live = report.rollback?.outcome === 'running' ? report.rollback : report.launch
  // A failed stop leaves the old step running: name it, with the state it is still in.
  const previous = report.previous[0] ?? (stopFailed(report) ? report.found?.[0] : undefined)
  const str = (value: unknown): string => (value === undefined ? '' : String(value))
  return {
    result: str(report.result),
    // The deployment that runs now: this run's, or a standby it adopted, or the rollback's.
    'deployment-id': live?.outcome === 'running' ? live.deploymentId : report.deploymentId,
    'cluster-id': str(report.clusterId),
    'step-id': str(live?.stepId),
    'previous-step-id': str(previous?.stepId),
    'previous-step-state': str(previous?.state),
    'marker-uri': str(live?.markerUri ?? report.plan?.markerUri),
    'jar-uri': str(report.jarUri),
    'stop-seconds': str(seconds(report.stopStartedAt, report.oldStoppedAt)),
    'downtime-seconds': str(downtimeSeconds(report)),
    handoff: str(report.handoff?.verdict),
    'verified-by': verifiedBy(live),
  }
}

/**
 * How the driver that runs now was judged healthy: `progress` (it committed batches of its own)
 * or `emr-state` (its step stayed RUNNING); empty when no driver was verified.
 */
function verifiedBy(live: LaunchRecord | undefined): string {
  if (live?.outcome !== 'running') return ''
  // A verified launch without a readiness record was watched by its EMR state alone.
  return live.readiness?.method ?? 'emr-state'
}

/** The Stop phase failed: the old step still runs. */
export function stopFailed(report: RunReport): boolean {
  return report.phases.some((p) => p.name === 'Stop' && p.status === 'failed')
}
