// The EMR calls of one rollover run (stop-start, the action's default timings), against a
// SimulatedCluster, through either the old stack (a fixed 5/0.4 bucket taken before DescribeStep
// and the history's ListSteps, as src/rollover/ does today; the SDK's 6 attempts) or the new one
// (PacedEmr over a one-attempt client: AIMD budget, reads retried until the phase's deadline).
// The loops are poll() itself, as in src/rollover/, so only the stack differs between the two.
import { submitCarefully } from '../../../../src/aws/careful-submit.ts'
import { withDeadline } from '../../../../src/aws/deadline.ts'
import { isTerminal, type EmrPort, type StepSpec } from '../../../../src/aws/emr-port.ts'
import { PacedEmr, type EmrApi } from '../../../../src/aws/paced-emr.ts'
import { poll } from '../../../../src/aws/poll.ts'
import { RateBudget, RateBudgets } from '../../../../src/aws/rate-budget.ts'
import { isThrottling, isTransient } from '../../../../src/aws/transient.ts'
import type { Clock } from '../../../../src/clock.ts'
import { describeError } from '../../../../src/errors.ts'
import type { SimulatedCluster } from './shared-account.ts'

const MINUTE = 60_000
/** action.yml's defaults and DEFAULT_TIMINGS: what a run waits for, and how often it looks. */
const T = {
  // Not a setting today: the lock-timeout, as the brief's report recommends (nothing has changed
  // yet, so waiting costs only runner minutes).
  preflightMs: 10 * MINUTE,
  stopTimeoutMs: 15 * MINUTE,
  submitMs: 5 * MINUTE,
  startTimeoutMs: 10 * MINUTE,
  stableForMs: 2 * MINUTE,
  emrPollMs: 3000,
  verifyPollMs: 1000,
  stepPollMs: 2000,
  stableCheckMs: 15_000,
  maxPollIntervalMs: 10_000,
  confirmPollMaxMs: 30_000,
  emrBurst: 5,
  emrCallsPerSecond: 0.4,
}

/** How a run reaches EMR: the port, and how a phase is scoped. */
export interface Stack {
  readonly emr: EmrPort
  readonly phase: <R>(what: string, deadline: number, run: () => Promise<R>) => Promise<R>
}

/** Before this change: a fixed bucket taken by callers, the SDK's 6 attempts, no feedback. */
export function oldStack(cluster: SimulatedCluster, clock: Clock, random: () => number): Stack {
  const bucket = new RateBudget(clock, T.emrBurst, T.emrCallsPerSecond)
  // The SDK's standard retries: up to 6 attempts, full jitter on 1 s doubling (throttling), 20 s cap.
  const sdk = async <R>(api: string, send: () => Promise<R>): Promise<R> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send()
      } catch (error) {
        if (!isTransient(error)) throw error
        if (attempt >= 6) {
          throw Object.assign(error as Error, {
            message: `EMR ${api} failed after 6 attempts: ${(error as Error).message}`,
          })
        }
        const base = isThrottling(error) ? 1000 : 50
        await clock.sleep(Math.floor(random() * Math.min(20_000, base * 2 ** (attempt - 1))))
      }
    }
  }
  const rationed = async <R>(send: () => Promise<R>): Promise<R> => {
    await bucket.take(1)
    return send()
  }
  const listRecentSteps = () => sdk('ListSteps', () => cluster.listRecentSteps())
  // The old AwsEmr.addStep: a one-attempt client, 6 tries 1, 2, 4, 8, 10 s apart, a lookup first.
  const addStep = async (id: string, step: StepSpec): Promise<string> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await cluster.addStep(id, step)
      } catch (error) {
        if (!isTransient(error) || attempt >= 6) throw error
        await clock.sleep(Math.min(10_000, 1000 * 2 ** (attempt - 1)))
        const accepted = (await listRecentSteps()).find((s) => s.name === step.name)
        if (accepted) return accepted.id
      }
    }
  }
  return {
    emr: {
      resolveCluster: () => sdk('DescribeCluster', () => cluster.resolveCluster()),
      listActiveSteps: () => sdk('ListSteps', () => cluster.listActiveSteps()),
      listRecentSteps: () => rationed(listRecentSteps),
      describeStep: (id, stepId) =>
        rationed(() => sdk('DescribeStep', () => cluster.describeStep(id, stepId))),
      listStepsById: (id, ids) =>
        rationed(() => sdk('ListSteps', () => cluster.listStepsById(id, ids))),
      addStep,
      cancelStep: () => sdk('CancelSteps', () => cluster.cancelStep()),
    },
    phase: (_what, _deadline, run) => run(),
  }
}

/**
 * This change: PacedEmr (a budget per EMR operation) over a one-attempt client, AwsEmr's addStep
 * loop, phase deadlines.
 */
export function newStack(
  cluster: SimulatedCluster,
  clock: Clock,
  random: () => number,
): Stack & { readonly paced: PacedEmr } {
  const budgets = new RateBudgets<EmrApi>(clock, T.emrBurst, T.emrCallsPerSecond)
  const adapter: EmrPort = {
    resolveCluster: () => cluster.resolveCluster(),
    listActiveSteps: () => cluster.listActiveSteps(),
    listRecentSteps: () => cluster.listRecentSteps(),
    describeStep: (id, stepId) => cluster.describeStep(id, stepId),
    listStepsById: (id, ids) => cluster.listStepsById(id, ids),
    addStep: (id, step) =>
      submitCarefully(
        () => cluster.addStep(id, step),
        async () => (await cluster.listRecentSteps()).find((s) => s.name === step.name)?.id,
        { clock, random },
      ),
    cancelStep: () => cluster.cancelStep(),
  }
  const paced = new PacedEmr(adapter, { budgets, clock, random })
  return {
    emr: paced,
    paced,
    phase: (what, deadline, run) => withDeadline(deadline, run, { what }),
  }
}

export type Phase = 'preflight' | 'stop' | 'submit' | 'verify'

export interface RunOutcome {
  readonly deployed: boolean
  readonly error?: string
  /** Where it failed: after preflight, the old driver was already stopped (the app is down). */
  readonly failedIn?: Phase
  /** From the run's start to its end, deployed or not. */
  readonly tookMs: number
}

/**
 * Preflight (DescribeCluster, ListSteps, sometimes a second ListSteps, DescribeStep of the old
 * step), stop (marker deleted, DescribeStep every 3 s until the old step ends), submit
 * (AddJobFlowSteps), verify (DescribeStep every second until RUNNING, then every 15 s through
 * stable-for, and an answer at its end).
 */
export async function rolloverRun(
  cluster: SimulatedCluster,
  stack: Stack,
  clock: Clock,
  random: () => number,
  options: { readonly readsHistory: boolean },
): Promise<RunOutcome> {
  const { emr } = stack
  let current: Phase = 'preflight'
  const phase = <R>(name: Phase, what: string, deadline: number, run: () => Promise<R>) => {
    current = name
    return stack.phase(what, deadline, run)
  }
  const id = 'j-1'
  const startedAt = clock.monotonic()
  const describe = (stepId: string) => emr.describeStep(id, stepId)
  const until = (ms: number): number => clock.monotonic() + ms
  const pollOptions = (deadline: number, intervalMs: number, maxIntervalMs = T.maxPollIntervalMs) =>
    ({ clock, deadline, intervalMs, maxIntervalMs, random }) as const
  try {
    await phase('preflight', 'the preflight deadline', until(T.preflightMs), async () => {
      await emr.resolveCluster({ kind: 'id', id })
      await emr.listActiveSteps(id)
      if (options.readsHistory) await emr.listRecentSteps(id)
      await describe(cluster.oldStepId)
    })

    cluster.deleteMarker()
    const stopDeadline = until(T.stopTimeoutMs)
    const stopped = await phase('stop', 'stop-timeout', stopDeadline, () =>
      poll(
        async () => {
          const step = await describe(cluster.oldStepId)
          return isTerminal(step.state) ? step : undefined
        },
        pollOptions(stopDeadline, T.emrPollMs),
      ),
    )
    if (!stopped.done) throw new Error('the old driver did not stop within stop-timeout')

    const spec: StepSpec = {
      name: 'app (new)',
      jar: 'command-runner.jar',
      args: [],
      actionOnFailure: 'CONTINUE',
    }
    const stepId = await phase('submit', 'the submit deadline', until(T.submitMs), () =>
      emr.addStep(id, spec),
    )

    const startDeadline = until(T.startTimeoutMs)
    const started = await phase('verify', 'start-timeout', startDeadline, () =>
      poll(
        async () => {
          const step = await describe(stepId)
          return step.state === 'PENDING' ? undefined : step
        },
        { ...pollOptions(startDeadline, T.verifyPollMs), firstCheckAfterMs: T.verifyPollMs },
      ),
    )
    if (!started.done) throw new Error('the new step did not start within start-timeout')

    const windowEnd = until(T.stableForMs)
    let aliveAt = -Infinity
    const alive = async (): Promise<'alive' | undefined> => {
      const step = await describe(stepId)
      if (isTerminal(step.state)) throw new Error(`the new step ended ${step.state}`)
      aliveAt = clock.monotonic()
      return aliveAt >= windowEnd ? 'alive' : undefined
    }
    await phase(
      'verify',
      'stable-for and start-timeout',
      windowEnd + T.startTimeoutMs,
      async () => {
        await poll(alive, {
          ...pollOptions(windowEnd, T.stableCheckMs, T.stableCheckMs),
          firstCheckAfterMs: T.stableCheckMs,
        })
        if (aliveAt >= windowEnd) return
        const confirmDeadline = until(T.startTimeoutMs)
        const confirmed = await poll(
          alive,
          pollOptions(confirmDeadline, T.stepPollMs, T.confirmPollMaxMs),
        )
        if (!confirmed.done) throw new Error('EMR did not confirm the new step after stable-for')
      },
    )
    return { deployed: true, tookMs: clock.monotonic() - startedAt }
  } catch (error) {
    const tookMs = clock.monotonic() - startedAt
    return { deployed: false, error: describeError(error), failedIn: current, tookMs }
  }
}
