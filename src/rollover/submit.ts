// Phases 6 and 7: write the new marker, submit the step, then verify that it reaches RUNNING and
// stays up for `stable-for`. Used for the new jar and, unchanged, for a rollback.
import { formatDuration } from '../clock.ts'
import type { Marker } from '../contract/markers.ts'
import type { MarkerStore } from './marker-store.ts'
import { poll } from '../aws/poll.ts'
import type { LaunchRecord } from './report.ts'
import { describeError } from '../errors.ts'
import type { TokenBucket } from '../aws/rate-budget.ts'
import { isTerminal, type EmrPort, type StepInfo, type StepSpec } from '../aws/emr-port.ts'
import type { Clock } from '../clock.ts'
import { UserError } from '../errors.ts'
import type { Log } from '../log.ts'
import type { RunContext } from '../settings/github-run.ts'

export interface LaunchContext {
  readonly emr: EmrPort
  readonly markers: MarkerStore
  readonly clock: Clock
  readonly log: Log
  readonly clusterId: string
  readonly appName: string
  readonly executionRoleArn?: string
  readonly startTimeoutMs: number
  readonly stableForMs: number
  readonly emrBudget: TokenBucket
  readonly github?: RunContext
  readonly signal?: AbortSignal
}

export interface LaunchRequest {
  readonly deploymentId: string
  readonly markerUri: string
  readonly step: StepSpec
  readonly jarUri: string
  readonly rollbackOf?: string
}

export interface Launched extends LaunchRecord {
  marker: Marker
}

/** Marker first (so it exists when the driver first looks), then the step, then the step id. */
export async function submit(ctx: LaunchContext, request: LaunchRequest): Promise<Launched> {
  const { log, clock } = ctx
  let marker = await ctx.markers.create(request.deploymentId, {
    version: 1,
    app: ctx.appName,
    deploymentId: request.deploymentId,
    clusterId: ctx.clusterId,
    jar: request.jarUri,
    createdAt: new Date(clock.now()).toISOString(),
    ...(request.rollbackOf ? { rollbackOf: request.rollbackOf } : {}),
    ...(ctx.github ? { github: ctx.github } : {}),
  })
  log.info(`Wrote marker ${marker.uri}; submitting the step.`)
  let stepId: string
  try {
    stepId = await ctx.emr.addStep(ctx.clusterId, request.step, ctx.executionRoleArn)
  } catch (error) {
    // A marker without a driver would be taken for a running deployment by the next run.
    await ctx.markers.remove([marker]).catch((cleanup) => {
      log.warning(
        `Could not delete marker ${marker.uri} after the failed submit: ${describeError(cleanup)}`,
      )
    })
    throw error
  }
  const submittedAt = clock.now()
  log.info(`Submitted step ${stepId} (${request.step.name}) with marker ${marker.uri}.`)
  try {
    marker = await ctx.markers.attachStep(marker, stepId)
  } catch (error) {
    // Not fatal: the step is still found by its name and its marker conf.
    log.warning(`Could not record step id ${stepId} in ${marker.uri}: ${describeError(error)}`)
  }
  return {
    deploymentId: request.deploymentId,
    stepId,
    markerUri: marker.uri,
    jarUri: request.jarUri,
    step: request.step,
    submittedAt,
    marker,
  }
}

/** Sets `launch.outcome` (and runningAt); never throws for a step that fails, only for I/O. */
export async function verify(ctx: LaunchContext, launch: LaunchRecord): Promise<void> {
  const { clock, log, emr } = ctx
  const stepId = launch.stepId as string
  const describe = async (): Promise<StepInfo> => {
    await ctx.emrBudget.take(1, ctx.signal)
    return emr.describeStep(ctx.clusterId, stepId)
  }
  const onTransientError = (error: unknown, wait: number): void =>
    log.info(`EMR busy (${describeError(error)}); next check in ${formatDuration(wait)}.`)

  const started = await poll(
    async () => {
      const step = await describe()
      return step.state === 'PENDING' ? undefined : step
    },
    {
      clock,
      deadline: clock.now() + ctx.startTimeoutMs,
      intervalMs: 1000,
      maxIntervalMs: 10_000,
      // A step is never RUNNING the instant AddJobFlowSteps returns.
      firstCheckAfterMs: 1000,
      signal: ctx.signal,
      onTransientError,
    },
  )
  if (!started.done) {
    launch.outcome = 'failed-to-start'
    launch.failure = `step ${stepId} was still PENDING after start-timeout (${formatDuration(ctx.startTimeoutMs)}); another step may be occupying the cluster`
    return
  }
  if (started.value.state !== 'RUNNING') {
    launch.outcome = 'failed-to-start'
    launch.failure = `step ${stepId} ended ${started.value.state} before running${failureText(started.value)}`
    return
  }
  // EMR's start time, not when we looked (up to a poll interval later); clamped because it is
  // another machine's clock.
  const emrStart = started.value.startedAt?.getTime()
  launch.runningAt =
    emrStart === undefined
      ? clock.now()
      : Math.min(clock.now(), Math.max(launch.submittedAt ?? 0, emrStart))
  log.info(
    `Step ${stepId} is RUNNING; watching it for ${formatDuration(ctx.stableForMs)} (stable-for).`,
  )
  if (ctx.stableForMs <= 0) {
    launch.outcome = 'running'
    return
  }
  // Over a long window, a check every ~1/8 of it is enough and keeps EMR calls low.
  const interval = Math.min(15_000, Math.max(2000, ctx.stableForMs / 8))
  const windowEnd = (launch.runningAt ?? clock.now()) + ctx.stableForMs
  // When EMR last answered "still running". The window counts only if EMR said so at its end:
  // failed calls up to the deadline prove nothing.
  let aliveAt = -Infinity
  const check = async (): Promise<StepInfo | undefined> => {
    const step = await describe()
    if (isTerminal(step.state)) return step
    aliveAt = clock.now()
    return undefined
  }
  let ended = await poll(check, {
    clock,
    deadline: windowEnd,
    intervalMs: interval,
    maxIntervalMs: Math.max(interval, 10_000),
    firstCheckAfterMs: interval,
    signal: ctx.signal,
    onTransientError,
  })
  if (!ended.done && aliveAt < windowEnd) {
    log.info(`EMR has not confirmed ${stepId} at the end of stable-for; asking until it answers.`)
    const confirmed = await poll(
      async () => {
        const step = await check()
        return step ?? (aliveAt >= windowEnd ? ('alive' as const) : undefined)
      },
      {
        clock,
        deadline: clock.now() + ctx.startTimeoutMs,
        intervalMs: 2000,
        maxIntervalMs: 30_000,
        signal: ctx.signal,
        onTransientError,
      },
    )
    if (!confirmed.done) {
      launch.outcome = 'not-verified'
      launch.failure = `EMR did not answer DescribeStep for ${stepId} at the end of stable-for, nor for ${formatDuration(ctx.startTimeoutMs)} after; the step may still run: check it in the EMR console`
      return
    }
    ended = confirmed.value === 'alive' ? { done: false } : { done: true, value: confirmed.value }
  }
  if (ended.done) {
    launch.outcome = 'died'
    // EMR's own start and end times: when we noticed can be a poll interval later.
    const { startedAt, endedAt } = ended.value
    const lived =
      startedAt && endedAt
        ? endedAt.getTime() - startedAt.getTime()
        : clock.now() - (launch.runningAt ?? 0)
    launch.failure = `step ${stepId} ended ${ended.value.state} ${formatDuration(lived)} after it started${failureText(ended.value)}`
    return
  }
  launch.outcome = 'running'
  log.info(`Step ${stepId} stayed up for ${formatDuration(ctx.stableForMs)}.`)
}

/** Takes a launch that failed verification out of the way before anything else is submitted. */
export async function retire(ctx: LaunchContext, launch: Launched): Promise<void> {
  const { emr, log } = ctx
  // The marker first: if the step starts after all, its driver stops at its first check.
  await ctx.markers.remove([launch.marker])
  const step = await emr.describeStep(ctx.clusterId, launch.stepId as string)
  if (step.state === 'PENDING') {
    await emr.cancelStep(ctx.clusterId, step.id)
    log.info(`Cancelled step ${step.id}, which had not started.`)
  } else if (!isTerminal(step.state)) {
    // It started after all: without its marker the driver exits at its first check.
    const ended = await poll(
      async () => {
        await ctx.emrBudget.take(1)
        return isTerminal((await emr.describeStep(ctx.clusterId, step.id)).state) ? true : undefined
      },
      {
        clock: ctx.clock,
        deadline: ctx.clock.now() + retireTimeoutMs,
        intervalMs: 2000,
        maxIntervalMs: 10_000,
      },
    )
    if (!ended.done) {
      throw new UserError(
        `Step ${step.id} of the failed deployment is still ${step.state} ${formatDuration(retireTimeoutMs)} after its marker was deleted; not submitting anything else beside it. Stop it, then re-run.`,
      )
    }
  }
}

const retireTimeoutMs = 5 * 60_000

function failureText(step: StepInfo): string {
  const details = [step.failure?.reason, step.failure?.message].filter(Boolean).join(': ')
  const log = step.failure?.logFile ? ` (log: ${step.failure.logFile})` : ''
  return details || log ? `: ${details}${log}` : ''
}
