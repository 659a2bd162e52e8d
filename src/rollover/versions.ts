// "From → to": the version that ran before (the last verified deployment, else the newest running
// driver's marker) and the one this run deploys, for the summary and the record.
import type { RunContext } from '../settings/github-run.ts'
import type { RolloverContext } from './context.ts'
import type { World } from './observe.ts'
import type { VersionInfo } from './report.ts'

export function recordVersions(ctx: RolloverContext, world: World, jarUri: string): void {
  ctx.report.strategy = ctx.settings.strategy
  ctx.report.after = { deploymentId: ctx.deploymentId, jarUri, ...fromRun(ctx.github) }
  const current = world.current
  if (current?.deploymentId) {
    ctx.report.before = {
      deploymentId: current.deploymentId,
      ...(current.stepId ? { stepId: current.stepId } : {}),
      ...(current.jarUri ? { jarUri: current.jarUri } : {}),
      ...(current.since ? { since: current.since } : {}),
      ...fromRun(current.github),
    }
    return
  }
  const marker = world.markers.find((m) => m.body)?.body
  if (marker) {
    ctx.report.before = {
      deploymentId: marker.deploymentId,
      jarUri: marker.jar,
      ...(marker.stepId ? { stepId: marker.stepId } : {}),
      ...fromRun(marker.github),
    }
  }
}

function fromRun(run: RunContext | undefined): Partial<VersionInfo> {
  if (!run) return {}
  return {
    ...(run.sha ? { sha: run.sha } : {}),
    ...(run.ref ? { ref: run.ref } : {}),
    ...(run.runUrl ? { runUrl: run.runUrl } : {}),
  }
}
