// Phase 9, as phases complete: the deployment record in S3, so a rerun and a person can see
// where a run stopped. A record that cannot be written never fails the run.
import { describeError } from '../errors.ts'
import { writeDeploymentRecord } from '../report/records.ts'
import type { RunScope } from './context.ts'

export async function recordProgress(ctx: RunScope): Promise<void> {
  await writeDeploymentRecord(ctx.store, ctx.layout, ctx.report, ctx.github).catch((error) => {
    ctx.log.warning(`Could not write the deployment record: ${describeError(error)}`)
  })
}
