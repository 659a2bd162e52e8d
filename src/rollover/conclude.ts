// After verify, what both strategies do with its verdict: a running new driver becomes the
// verified deployment (current.json, the downtime, the result); a verdict of "not verified" fails
// without touching anything (it may run fine); anything else rolls back.
import { describeError } from '../errors.ts'
import { writeCurrent } from '../report/records.ts'
import type { RolloverContext } from './context.ts'
import { recordDowntime, type OldDriver } from './handoff.ts'
import { recordProgress } from './record.ts'
import { restorePrevious, type RollbackTarget } from './rollback.ts'
import { RolloverFailed } from './rollover-failed.ts'
import type { Launched } from './submit.ts'

export interface Verdict {
  readonly launched: Launched
  /** The driver the new one took over from: its final offsets and times. */
  readonly old: OldDriver
  readonly previous: RollbackTarget | undefined
  readonly firstDeploy: boolean
}

export async function concludeRollover(ctx: RolloverContext, verdict: Verdict): Promise<void> {
  const { report, log } = ctx
  const { launched, old, previous, firstDeploy } = verdict
  if (launched.outcome === 'running') {
    recordDowntime(ctx, old, launched)
    await writeCurrent(ctx.store, ctx.layout, report, launched, ctx.github).catch((error) => {
      log.warning(
        `Could not write current.json: ${describeError(error)}. The deployment itself is done.`,
      )
    })
    report.result = firstDeploy ? 'first-deploy' : 'deployed'
    report.status = 'succeeded'
    await recordProgress(ctx)
    return
  }
  if (launched.outcome === 'not-verified') {
    // It may be running fine: retiring or rolling back on no evidence could make things worse.
    throw new RolloverFailed(
      `${launched.failure}. Not rolled back: nothing says it failed. Re-run to verify again, or check the step.`,
    )
  }
  await restorePrevious(ctx, { failed: launched, previous, firstDeploy })
}
