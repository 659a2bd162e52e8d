import type { Clock } from '../clock.ts'

/** How a RateBudget reacts to EMR's answers (additive increase, multiplicative decrease). */
export interface AimdOptions {
  /** The lowest refill, calls/s, however often EMR throttles. Default 0.025: one call per 40 s. */
  readonly minRatePerSecond?: number
  /** What a throttle multiplies the refill by. Default 0.5. */
  readonly decreaseFactor?: number
  /** Calls/s a successful call adds back, up to the configured rate. Default 0.01. */
  readonly increasePerSuccess?: number
}

// Twenty runs at the floor fit into EMR's 0.5/s per operation; at 0.05/s they would ask twice
// what EMR refills, and keep almost half their calls throttled (test/unit/aws's simulation).
export const DEFAULT_MIN_RATE_PER_SECOND = 0.025
export const DEFAULT_DECREASE_FACTOR = 0.5
// Twenty successes undo one halving from 0.4/s: slow enough that runs sharing the quota do not
// all probe it at once, quick enough (about a minute) for a run alone again.
export const DEFAULT_INCREASE_PER_SUCCESS = 0.01

// Floating-point refills land a hair below a whole token; without this a waiter would sleep 1 ms
// more for nothing.
const EPSILON = 1e-9

/**
 * One run's ration of EMR calls. EMR's own buckets are per account and region and shared with
 * every other caller (other rollovers in the same matrix, schedulers, dashboards), and no run can
 * see the others: so each run starts below EMR's refill, halves its rate when EMR throttles
 * (someone else is spending the quota too) and creeps back up one success at a time (AIMD, as TCP
 * shares a link). Runs that back off this way converge on sharing the quota instead of
 * synchronising on it.
 *
 * Time is the clock's monotonic time: a wall clock set back would otherwise stop the refill.
 */
export class RateBudget {
  /** Tokens taken so far (calls made through this budget). */
  taken = 0
  /** The most tokens the budget holds: calls that may go at once after a quiet spell. */
  readonly burst: number
  /** The configured refill, calls/s: where `rate` starts and the ceiling it recovers to. */
  readonly maxRate: number
  /** The floor `rate` never goes below. */
  readonly minRate: number

  private currentRate: number
  // Negative after a take larger than the burst: the debt is repaid before anyone else goes.
  private tokens: number
  private updatedAt: number
  private holdDecreaseUntil = -Infinity
  // grantOne(): the next take of one token goes through without touching the balance.
  private granted = false

  private readonly clock: Clock
  private readonly decreaseFactor: number
  private readonly increasePerSuccess: number

  constructor(clock: Clock, burst: number, ratePerSecond: number, aimd: AimdOptions = {}) {
    if (!(burst > 0)) throw new RangeError(`RateBudget: burst must be above 0, not ${burst}`)
    if (!(ratePerSecond > 0)) {
      // A zero refill would make take() wait forever.
      throw new RangeError(`RateBudget: rate must be above 0 calls/s, not ${ratePerSecond}`)
    }
    const factor = aimd.decreaseFactor ?? DEFAULT_DECREASE_FACTOR
    if (!(factor > 0 && factor < 1)) {
      throw new RangeError(`RateBudget: decreaseFactor must be between 0 and 1, not ${factor}`)
    }
    this.clock = clock
    this.burst = burst
    this.maxRate = ratePerSecond
    this.minRate = Math.min(ratePerSecond, aimd.minRatePerSecond ?? DEFAULT_MIN_RATE_PER_SECOND)
    this.decreaseFactor = factor
    this.increasePerSuccess = aimd.increasePerSuccess ?? DEFAULT_INCREASE_PER_SUCCESS
    this.currentRate = ratePerSecond
    this.tokens = burst
    this.updatedAt = clock.monotonic()
  }

  /** The refill now, calls/s: between minRate and maxRate. */
  get rate(): number {
    return this.currentRate
  }

  /** Takes `count` tokens if they are there now. A count above the burst needs a full budget. */
  tryTake(count = 1): boolean {
    this.refill()
    if (this.granted && count === 1) {
      this.granted = false
      this.taken += 1
      return true
    }
    if (this.tokens + EPSILON < this.needed(count)) return false
    this.tokens -= count
    this.taken += count
    return true
  }

  /**
   * Lets the next take of one token through now without charging the budget: for a call that
   * is paced by its caller instead (the look that confirms an acknowledged driver's step ended,
   * whose wait is the app's downtime). Its answer still moves the rate (onThrottled/onSuccess).
   */
  grantOne(): void {
    this.granted = true
  }

  /**
   * Waits for `count` tokens, then takes them. A count above the burst waits for a full budget
   * and leaves a debt that later takes repay, so it neither starves nor exceeds the rate.
   */
  async take(count = 1, signal?: AbortSignal): Promise<void> {
    while (!this.tryTake(count)) {
      await this.clock.sleep(this.msUntilAvailable(count), signal)
    }
  }

  /** How long until `count` tokens could be taken at today's rate: 0 when they are there now. */
  msUntilAvailable(count = 1): number {
    this.refill()
    if (this.granted && count === 1) return 0
    const missing = this.needed(count) - this.tokens
    return missing <= EPSILON ? 0 : Math.ceil((missing / this.currentRate) * 1000)
  }

  /**
   * EMR answered "Rate exceeded": halve the rate (not below minRate) and spend the tokens saved
   * up, since EMR's bucket is empty and a saved-up burst would only be throttled too. Throttles
   * of calls that were already in flight (within one token's time of the last decrease) are the
   * same congestion and do not halve again.
   */
  onThrottled(): void {
    this.refill()
    this.tokens = Math.min(this.tokens, 0)
    const now = this.clock.monotonic()
    if (now < this.holdDecreaseUntil) return
    this.currentRate = Math.max(this.minRate, this.currentRate * this.decreaseFactor)
    this.holdDecreaseUntil = now + 1000 / this.currentRate
  }

  /** EMR answered: give a little rate back, up to maxRate. */
  onSuccess(): void {
    this.refill()
    this.currentRate = Math.min(this.maxRate, this.currentRate + this.increasePerSuccess)
  }

  private needed(count: number): number {
    return Math.min(count, this.burst)
  }

  // At the rate that held since the last update: call before every change of rate.
  private refill(): void {
    const now = this.clock.monotonic()
    const elapsed = Math.max(0, now - this.updatedAt) / 1000
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.currentRate)
    this.updatedAt = now
  }
}

/**
 * One RateBudget per key, made on first use with the same settings: a run's budgets per EMR
 * operation, because EMR's quotas are per operation (a throttled DescribeStep says nothing about
 * AddJobFlowSteps, whose bucket the run has barely touched).
 */
export class RateBudgets<K extends string> {
  private readonly budgets = new Map<K, RateBudget>()
  private readonly make: () => RateBudget

  constructor(clock: Clock, burst: number, ratePerSecond: number, aimd: AimdOptions = {}) {
    // Made once here so that bad settings fail at construction, not at the first call.
    const check = new RateBudget(clock, burst, ratePerSecond, aimd)
    this.make = () => new RateBudget(clock, check.burst, check.maxRate, aimd)
  }

  of(key: K): RateBudget {
    let budget = this.budgets.get(key)
    if (!budget) this.budgets.set(key, (budget = this.make()))
    return budget
  }

  /** The budgets used so far, by key: e.g. to log their rates. */
  entries(): [K, RateBudget][] {
    return [...this.budgets.entries()]
  }
}

/** @deprecated The old name: RateBudget with the same constructor and take/tryTake/taken. */
export const TokenBucket = RateBudget
/** @deprecated The old name of RateBudget. */
export type TokenBucket = RateBudget
