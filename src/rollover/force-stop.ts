// The forced stop (on-stop-timeout: kill). CancelSteps alone never stops a cluster-mode driver,
// so the drivers are killed through YARN by the tags that name each of them alone, in an EMR
// step, and confirmed. The order matters: the intent is recorded first (a run that dies after
// it leaves a driver every later run treats as possibly alive), then EMR must accept the kill
// step, and only then are the stuck steps cancelled (on a one-step-at-a-time cluster the kill
// step waits behind them). A cancel EMR refuses is looked at again, never trusted blindly.
import { CancelStepFailed, isTerminal, type StepInfo } from '../aws/emr-port.ts'
import { poll } from '../aws/poll.ts'
import { killStepName } from '../contract/identity.ts'
import { buildKillStep } from '../contract/kill-step.ts'
import { formatDuration } from '../clock.ts'
import { UserError, describeError } from '../errors.ts'
import type { RolloverContext } from './context.ts'
import type { LedgerEntry } from './ledger.ts'
import { describeCandidate, type DriverCandidate } from './liveness.ts'

/** A driver the action can kill: YARN tags name it alone. */
export function killableBy(c: DriverCandidate): boolean {
  return c.killTags.length > 0
}

export async function forceStop(
  ctx: RolloverContext,
  survivors: readonly DriverCandidate[],
): Promise<void> {
  const { log, clock } = ctx
  const decidedAt = new Date(clock.now()).toISOString()
  // 1. The intent, before anything changes on the cluster.
  await ctx.ledger.update((entries) => {
    const rest = entries.filter((e) => !survivors.some((c) => c.deploymentId === e.deploymentId))
    const intents = survivors.map((c): LedgerEntry => ({
      ...entryOf(c, entries),
      killIntent: { at: decidedAt, by: ctx.deploymentId },
    }))
    return [...rest, ...intents]
  })
  // 2. One kill step per cluster, accepted by EMR before any cancel.
  const clusters = [...new Set(survivors.map((c) => c.clusterId))]
  const kills: { clusterId: string; killStepId: string }[] = []
  for (const clusterId of clusters) {
    const here = survivors.filter((c) => c.clusterId === clusterId)
    const tags = [...new Set(here.flatMap((c) => c.killTags))]
    const role = ctx.settings.executionRoleArn ?? (await roleOf(ctx, here))
    const step = buildKillStep({ name: killStepName(ctx.app, ctx.deploymentId), tags })
    const killStepId = await ctx.emr.addStep(clusterId, step, role)
    kills.push({ clusterId, killStepId })
    log.info(
      `Submitted kill step ${killStepId} on ${clusterId}: yarn application -kill for ${tags.join(', ')}.`,
    )
    for (const c of here) {
      if (c.deploymentId)
        await ctx.ledger.patch(c.deploymentId, {
          killIntent: { at: decidedAt, by: ctx.deploymentId, killStepId },
        })
    }
  }
  // 3. Now the stuck spark-submit steps may go.
  for (const c of survivors) {
    if (c.stepId && c.step && !isTerminal(c.step.state))
      await cancelSafely(ctx, c.clusterId, c.stepId)
  }
  // 4. The kill steps must report that no application with the tags is left.
  for (const kill of kills) {
    const ended = await waitForStep(
      ctx,
      kill.clusterId,
      kill.killStepId,
      ctx.timings.killTimeoutMs,
      {
        stuckBehind: survivors.filter((c) => c.clusterId === kill.clusterId && c.stepId),
      },
    )
    if (ended?.state !== 'COMPLETED') {
      throw new UserError(
        `Could not confirm that ${survivors.map(describeCandidate).join(', ')} is gone: kill step ${kill.killStepId} is ${ended?.state ?? 'not finished'}${ended?.failure?.message ? ` (${ended.failure.message})` : ''}. ` +
          `Nothing was submitted, and every later run treats the driver as possibly alive until a kill is confirmed. Check the kill step's stderr in the EMR console (the ResourceManager must answer its REST API without Kerberos), kill the application with 'yarn application -kill', then re-run with on-stop-timeout: kill.`,
      )
    }
  }
  // 5. And their steps end (spark-submit saw the application killed, or the cancel went through).
  for (const c of survivors) {
    if (!c.stepId) continue
    const ended = await waitForStep(ctx, c.clusterId, c.stepId, ctx.timings.killConfirmMs)
    if (!ended) {
      throw new UserError(
        `The kill step reported ${describeCandidate(c)} killed, but its step has not ended ${ctx.timings.killConfirmMs / 1000} s later. Nothing was submitted. Check the step in the EMR console, then re-run.`,
      )
    }
  }
  await ctx.ledger.remove(survivors.map((c) => c.deploymentId).filter((id): id is string => !!id))
  log.info(
    `Kill confirmed: no application tagged for ${survivors.map(describeCandidate).join(', ')} is left.`,
  )
}

/**
 * On a cluster with runtime roles every step needs one, the kill step too: the stuck steps' own
 * role, from DescribeStep (ListSteps does not return it).
 */
async function roleOf(
  ctx: RolloverContext,
  drivers: readonly DriverCandidate[],
): Promise<string | undefined> {
  for (const c of drivers) {
    if (c.step?.executionRoleArn) return c.step.executionRoleArn
    if (!c.stepId) continue
    const step = await ctx.emr.describeStep(c.clusterId, c.stepId).catch(() => undefined)
    if (step?.executionRoleArn) return step.executionRoleArn
  }
  return undefined
}

/** CancelSteps, and when EMR refuses it, a fresh look at what is true. */
export async function cancelSafely(
  ctx: RolloverContext,
  clusterId: string,
  stepId: string,
): Promise<StepInfo | undefined> {
  try {
    await ctx.emr.cancelStep(clusterId, stepId)
    ctx.log.info(`Cancelled step ${stepId} (a cluster-mode driver keeps running until killed).`)
    return undefined
  } catch (error) {
    if (!(error instanceof CancelStepFailed)) throw error
    const now = await ctx.emr.describeStep(clusterId, stepId)
    // Ended in between, or a cancel already under way: either way nothing is left to cancel.
    if (isTerminal(now.state) || now.state === 'CANCEL_PENDING') {
      ctx.log.info(`EMR refused to cancel ${stepId} (${describeError(error)}); it is ${now.state}.`)
      return now
    }
    throw new UserError(
      `EMR refused to cancel step ${stepId}, which is ${now.state}: ${error.reason ?? 'no reason given'}. ` +
        'Nothing was submitted. Cancelling a RUNNING step needs emr-5.28.0 or later.',
    )
  }
}

/**
 * The step once terminal, or undefined when it is not within `timeoutMs`. With `stuckBehind`,
 * a kill step still PENDING on a one-step cluster behind a step that stays CANCEL_PENDING (EMR
 * cannot stop its spark-submit) fails early: it would never run.
 */
async function waitForStep(
  ctx: RolloverContext,
  clusterId: string,
  stepId: string,
  timeoutMs: number,
  options: { readonly stuckBehind?: readonly DriverCandidate[] } = {},
): Promise<StepInfo | undefined> {
  const { clock, timings } = ctx
  const started = clock.monotonic()
  const result = await poll(
    async () => {
      const step = await ctx.emr.describeStep(clusterId, stepId)
      if (isTerminal(step.state)) return step
      const queued =
        step.state === 'PENDING' &&
        clusterId === ctx.clusterId &&
        ctx.cluster.stepConcurrencyLevel === 1
      if (
        queued &&
        options.stuckBehind?.length &&
        clock.monotonic() - started > timings.killQueuedMs
      ) {
        const blockers: string[] = []
        for (const c of options.stuckBehind) {
          const b = await ctx.emr.describeStep(clusterId, c.stepId as string)
          if (b.state === 'CANCEL_PENDING' || b.state === 'RUNNING')
            blockers.push(`${b.id} (${b.state})`)
        }
        if (blockers.length > 0) {
          throw new UserError(
            `Kill step ${stepId} has waited ${formatDuration(clock.monotonic() - started)} behind ${blockers.join(', ')} on a cluster that runs one step at a time: EMR has not ended the stuck step, so the kill cannot run. Nothing was submitted, and later runs treat the driver as possibly alive. Kill the application on the primary node (yarn application -kill), cancel the step in the console, then re-run.`,
          )
        }
      }
      return undefined
    },
    {
      clock,
      deadline: clock.monotonic() + timeoutMs,
      intervalMs: timings.stepPollMs,
      maxIntervalMs: timings.maxPollIntervalMs,
      signal: ctx.signal,
    },
  )
  return result.done ? result.value : undefined
}

function entryOf(c: DriverCandidate, entries: readonly LedgerEntry[]): LedgerEntry {
  const known = entries.find((e) => e.deploymentId === c.deploymentId)
  if (known) return known
  return {
    deploymentId: c.deploymentId ?? c.key,
    clusterId: c.clusterId,
    stepName: c.step?.name ?? '',
    markerUri: c.markerUri ?? '',
    tags: c.killTags,
    launchedAt: c.step?.createdAt?.toISOString() ?? '',
    ...(c.stepId ? { stepId: c.stepId } : {}),
  }
}
