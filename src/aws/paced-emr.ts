// Every EMR call of a run goes through here: paced by the run's budget for its EMR operation,
// which learns from EMR's throttling, and retried until the phase's deadline when retrying is safe. EMR's quotas
// are per account and region, shared by every rollover of a matrix job: a fixed number of quick
// retries (the SDK's) fails runs that a little patience would have carried through.
import { DEFAULT_BACKOFF, ERROR_BACKOFF, backoffMs, type Backoff } from './backoff.ts'
import { submitCarefully } from './careful-submit.ts'
import { currentDeadline } from './deadline.ts'
import {
  EMR_API,
  EmrBudgetSpent,
  EmrRetriesExhausted,
  type EmrApi,
  type EmrOperation,
} from './emr-operations.ts'
import type { ClusterInfo, ClusterRef, EmrPort, StepInfo, StepSpec } from './emr-port.ts'
import type { RateBudget, RateBudgets } from './rate-budget.ts'
import { isThrottling, isTransient } from './transient.ts'
import type { Clock } from '../clock.ts'

export {
  EMR_API,
  EmrBudgetSpent,
  EmrRetriesExhausted,
  type EmrApi,
  type EmrOperation,
} from './emr-operations.ts'

/**
 * Which failures a retry is safe for.
 * - reads: any throttling, 5xx or dropped connection;
 * - cancelStep: throttling only (a throttled request did nothing); after a 5xx force-stop reads
 *   the step's state itself;
 * - addStep: its own loop, submitCarefully (a 5xx may hide a step EMR accepted).
 */
const RETRY_ON: Record<EmrOperation, 'transient' | 'throttling' | 'never'> = {
  resolveCluster: 'transient',
  listActiveSteps: 'transient',
  listRecentSteps: 'transient',
  describeStep: 'transient',
  listStepsById: 'transient',
  cancelStep: 'throttling',
  // Not used: addStep has its own loop (submitCarefully), which looks before it resubmits.
  addStep: 'never',
}

export interface RetryEvent {
  readonly operation: EmrOperation
  readonly error: unknown
  readonly throttled: boolean
  /** The attempt that just failed, from 1. */
  readonly attempt: number
  /** How long until the next attempt: the backoff, or the budget's wait when longer. */
  readonly waitMs: number
}

export interface PacedEmrOptions {
  /** The run's ration per EMR operation: one token per call, told of every throttle and success. */
  readonly budgets: RateBudgets<EmrApi>
  readonly clock: Clock
  /** Jitter for the retry waits. Math.random in production, a seeded source in tests. */
  readonly random: () => number
  /** Waits after a throttle (default DEFAULT_BACKOFF: 1 s doubling to 20 s). */
  readonly backoff?: Backoff
  /** Waits after a 5xx or a dropped connection (default ERROR_BACKOFF: 100 ms doubling). */
  readonly errorBackoff?: Backoff
  /** The deadline of a retry outside any withDeadline() scope (default: deadline.ts's). */
  readonly defaultDeadlineMs?: number
  /** Told before each retry wait, e.g. to log "EMR busy". */
  readonly onRetry?: (event: RetryEvent) => void
  /** Aborts the waits when the deadline's scope brings no signal of its own (the run's cancel). */
  readonly signal?: AbortSignal
  /** An AddJobFlowSteps that failed turned out to be accepted: its step is used. */
  readonly onFoundAccepted?: (stepId: string, failure: Error) => void
}

/** What every view of one run's PacedEmr counts together. */
interface Tally {
  readonly calls: Map<EmrOperation, number>
  readonly throttled: Map<EmrOperation, number>
}

/** The EmrPort of a run: paced, learning, retrying reads until the current deadline. */
export class PacedEmr implements EmrPort {
  /** The port below: what a derived view wraps (e.g. with the lock's fence, per attempt). */
  readonly inner: EmrPort
  private readonly options: PacedEmrOptions
  private readonly tally: Tally

  constructor(
    inner: EmrPort,
    options: PacedEmrOptions,
    tally: Tally = { calls: new Map(), throttled: new Map() },
  ) {
    this.inner = inner
    this.options = options
    this.tally = tally
  }

  /**
   * The same budgets and counts over another port or with another signal: the run's phases
   * share one ration of EMR calls whatever port view they call through.
   */
  derive(change: { readonly inner?: EmrPort; readonly signal?: AbortSignal }): PacedEmr {
    const options = change.signal ? { ...this.options, signal: change.signal } : this.options
    return new PacedEmr(change.inner ?? this.inner, options, this.tally)
  }

  /** Calls sent to the port below, by operation, retries included. */
  get calls(): ReadonlyMap<EmrOperation, number> {
    return this.tally.calls
  }

  /** Of those, the ones EMR answered with throttling. */
  get throttled(): ReadonlyMap<EmrOperation, number> {
    return this.tally.throttled
  }

  get totalCalls(): number {
    return sum(this.calls)
  }

  get totalThrottled(): number {
    return sum(this.throttled)
  }

  resolveCluster(ref: ClusterRef): Promise<ClusterInfo> {
    return this.paced('resolveCluster', () => this.inner.resolveCluster(ref))
  }

  listActiveSteps(clusterId: string): Promise<StepInfo[]> {
    return this.paced('listActiveSteps', () => this.inner.listActiveSteps(clusterId))
  }

  listRecentSteps(clusterId: string): Promise<StepInfo[]> {
    return this.paced('listRecentSteps', () => this.inner.listRecentSteps(clusterId))
  }

  describeStep(clusterId: string, stepId: string): Promise<StepInfo> {
    return this.paced('describeStep', () => this.inner.describeStep(clusterId, stepId))
  }

  listStepsById(clusterId: string, stepIds: readonly string[]): Promise<StepInfo[]> {
    return this.paced('listStepsById', () => this.inner.listStepsById(clusterId, stepIds))
  }

  /**
   * AddJobFlowSteps is not idempotent: retried here, above the port below (so that the lock's
   * fence is asked before every attempt), after a throttle at once and after anything else only
   * once ListSteps shows that EMR has no step of this name (unique per deployment).
   */
  addStep(clusterId: string, step: StepSpec, executionRoleArn?: string): Promise<string> {
    const { clock, random } = this.options
    return submitCarefully(
      () => this.once('addStep', () => this.inner.addStep(clusterId, step, executionRoleArn)),
      async () => {
        const recent = await this.once('listRecentSteps', () =>
          this.inner.listRecentSteps(clusterId),
        )
        return recent.find((s) => s.name === step.name)?.id
      },
      {
        clock,
        random,
        ...(this.options.signal ? { signal: this.options.signal } : {}),
        ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
        onRetry: (error, attempt, waitMs) =>
          this.options.onRetry?.({
            operation: 'addStep',
            error,
            throttled: isThrottling(error),
            attempt,
            waitMs,
          }),
        ...(this.options.onFoundAccepted ? { onFoundAccepted: this.options.onFoundAccepted } : {}),
      },
    )
  }

  cancelStep(clusterId: string, stepId: string): Promise<void> {
    return this.paced('cancelStep', () => this.inner.cancelStep(clusterId, stepId))
  }

  private async paced<T>(operation: EmrOperation, call: () => Promise<T>): Promise<T> {
    const { clock, random } = this.options
    const budget = this.options.budgets.of(EMR_API[operation])
    const deadline = currentDeadline(clock, this.options.defaultDeadlineMs)
    const signal = deadline.signal ?? this.options.signal
    const startedAt = clock.monotonic()
    let throttledAttempts = 0
    // The first attempt is made even past the deadline when a token is there now: a read is
    // tried at least once. A budget that would hold it past the deadline fails it at once, so
    // that a loop which also watches S3 is not held up behind EMR for tens of seconds.
    signal?.throwIfAborted()
    const firstIn = budget.msUntilAvailable(1)
    if (firstIn > 0 && clock.monotonic() + firstIn > deadline.at) {
      throw new EmrBudgetSpent(EMR_API[operation], firstIn, deadline)
    }
    await budget.take(1, signal)
    for (let attempt = 1; ; attempt++) {
      increment(this.tally.calls, operation)
      let failure: unknown
      try {
        const value = await call()
        budget.onSuccess()
        return value
      } catch (error) {
        failure = error
      }
      const throttled = isThrottling(failure)
      if (throttled) {
        budget.onThrottled()
        increment(this.tally.throttled, operation)
        throttledAttempts++
      }
      if (!retryable(operation, failure)) throw failure
      const remaining = deadline.at - clock.monotonic()
      const backoff = backoffMs(
        attempt,
        random,
        throttled
          ? (this.options.backoff ?? DEFAULT_BACKOFF)
          : (this.options.errorBackoff ?? ERROR_BACKOFF),
      )
      const tokenIn = budget.msUntilAvailable(1)
      // A last attempt at the deadline itself rather than none in the last backoff's time; none
      // at all when the budget holds the next call past it.
      const wait = Math.min(Math.max(backoff, tokenIn), remaining)
      const exhausted = (): EmrRetriesExhausted => {
        const elapsedMs = clock.monotonic() - startedAt
        const tally = { attempts: attempt, throttled: throttledAttempts, elapsedMs }
        return new EmrRetriesExhausted(operation, failure, tally, deadline)
      }
      if (remaining <= 0 || tokenIn > remaining) throw exhausted()
      this.options.onRetry?.({ operation, error: failure, throttled, attempt, waitMs: wait })
      await clock.sleep(wait, signal)
      // False when another call of the run took the token meanwhile and the next comes too late.
      if (!(await this.takeBefore(budget, deadline.at, signal))) throw exhausted()
    }
  }

  /** One attempt: a token (none past the deadline), the call, and what EMR said to the budget. */
  private async once<T>(operation: EmrOperation, call: () => Promise<T>): Promise<T> {
    const { clock } = this.options
    const budget = this.options.budgets.of(EMR_API[operation])
    const deadline = currentDeadline(clock, this.options.defaultDeadlineMs)
    const signal = deadline.signal ?? this.options.signal
    signal?.throwIfAborted()
    const wait = budget.msUntilAvailable(1)
    if (wait > 0 && clock.monotonic() + wait > deadline.at) {
      throw new EmrBudgetSpent(EMR_API[operation], wait, deadline)
    }
    await budget.take(1, signal)
    increment(this.tally.calls, operation)
    try {
      const value = await call()
      budget.onSuccess()
      return value
    } catch (error) {
      if (isThrottling(error)) {
        budget.onThrottled()
        increment(this.tally.throttled, operation)
      }
      throw error
    }
  }

  /** A token if one comes by `deadline`; false when the budget would hold the call past it. */
  private async takeBefore(
    budget: RateBudget,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    const { clock } = this.options
    for (;;) {
      signal?.throwIfAborted()
      if (budget.tryTake(1)) return true
      const wait = budget.msUntilAvailable(1)
      if (clock.monotonic() + wait > deadline) return false
      await clock.sleep(wait, signal)
    }
  }
}

function retryable(operation: EmrOperation, error: unknown): boolean {
  const rule = RETRY_ON[operation]
  if (rule === 'transient') return isTransient(error)
  if (rule === 'throttling') return isThrottling(error)
  return false
}

function increment(map: Map<EmrOperation, number>, operation: EmrOperation): void {
  map.set(operation, (map.get(operation) ?? 0) + 1)
}

function sum(map: ReadonlyMap<EmrOperation, number>): number {
  let total = 0
  for (const n of map.values()) total += n
  return total
}
