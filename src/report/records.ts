// Deployment records in S3: deployments/<id>.json, written as phases complete so a rerun and a
// person can see where a run stopped, and current.json, which names what runs now.
import type { AppLayout } from '../contract/layout.ts'
import { downtimeSeconds, seconds, type LaunchRecord, type RunReport } from '../rollover/report.ts'
import type { StepSpec } from '../aws/emr-port.ts'
import type { ObjectStore } from '../aws/object-store.ts'
import type { RunContext } from '../settings/github-run.ts'

export function deploymentRecord(report: RunReport, github: RunContext): Record<string, unknown> {
  const iso = (t?: number): string | undefined =>
    t === undefined ? undefined : new Date(t).toISOString()
  const launch = (l?: LaunchRecord): Record<string, unknown> | undefined =>
    l && {
      deploymentId: l.deploymentId,
      stepId: l.stepId,
      markerUri: l.markerUri,
      jarUri: l.jarUri,
      outcome: l.outcome,
      failure: l.failure,
      submittedAt: iso(l.submittedAt),
      runningAt: iso(l.runningAt),
      args: l.step.args,
    }
  return {
    version: 1,
    deploymentId: report.deploymentId,
    app: report.appName,
    clusterId: report.clusterId,
    status: report.status,
    result: report.result,
    error: report.error,
    jarUri: report.jarUri,
    stopped: report.previous,
    forcedStop: report.forcedStop ?? false,
    stopSeconds: seconds(report.stopStartedAt, report.oldStoppedAt),
    downtimeSeconds: downtimeSeconds(report),
    launch: launch(report.launch),
    rollback: launch(report.rollback),
    phases: report.phases.map((p) => ({
      name: p.name,
      status: p.status ?? 'in-progress',
      startedAt: iso(p.startedAt),
      seconds: seconds(p.startedAt, p.endedAt),
      detail: p.detail,
    })),
    warnings: report.warnings,
    github,
    updatedAt: new Date().toISOString(),
  }
}

export async function writeDeploymentRecord(
  store: ObjectStore,
  layout: AppLayout,
  report: RunReport,
  github: RunContext,
): Promise<void> {
  const body = JSON.stringify(deploymentRecord(report, github), null, 2)
  await store.putText(layout.deploymentRecord(report.deploymentId), body)
}

/** current.json: what runs now, after a run that left a verified driver behind. */
export async function writeCurrent(
  store: ObjectStore,
  layout: AppLayout,
  report: RunReport,
  live: LaunchRecord,
  github: RunContext,
): Promise<void> {
  const body = {
    version: 1,
    app: report.appName,
    clusterId: report.clusterId,
    deploymentId: live.deploymentId,
    stepId: live.stepId,
    markerUri: live.markerUri,
    jarUri: live.jarUri,
    // The exact step, so a rollback never depends on EMR's step history (about 1,000 steps).
    step: live.step,
    ...(live.executionRoleArn ? { executionRoleArn: live.executionRoleArn } : {}),
    since: live.runningAt === undefined ? undefined : new Date(live.runningAt).toISOString(),
    record: `s3://${layout.deploymentRecord(report.deploymentId).bucket}/${layout.deploymentRecord(report.deploymentId).key}`,
    github,
  }
  await store.putText(layout.current, JSON.stringify(body, null, 2))
}

export interface CurrentRecord {
  readonly clusterId?: string
  readonly deploymentId?: string
  readonly stepId?: string
  readonly jarUri?: string
  readonly markerUri?: string
  /** The verified step as submitted (absent in records of earlier versions). */
  readonly step?: StepSpec
  readonly executionRoleArn?: string
  readonly since?: string
  readonly github?: RunContext
}

/** current.json, or undefined when there is none (or it is unreadable: it is only a hint). */
export async function readCurrent(
  store: ObjectStore,
  layout: AppLayout,
): Promise<CurrentRecord | undefined> {
  const read = await store.getText(layout.current)
  if (!read) return undefined
  try {
    const value: unknown = JSON.parse(read.body)
    return value && typeof value === 'object' ? (value as CurrentRecord) : undefined
  } catch {
    return undefined
  }
}
