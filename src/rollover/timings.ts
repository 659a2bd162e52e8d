// Every timing the rollover uses, in one typed object with one set of defaults (as lib-storage
// keeps its configuration). The defaults suit real EMR; tests, the demo and the bench pass a
// partial override. All values are milliseconds unless the name says otherwise.
import { UserError } from '../errors.ts'

export interface Timings {
  /** Deploy lock: how long a lease lasts without renewal. */
  readonly lockLeaseMs: number
  /** Deploy lock: how often the holder renews its lease. */
  readonly lockRenewEveryMs: number
  /** Deploy lock: how often a waiter looks at the lock again (jittered). */
  readonly lockPollMs: number
  /** Deploy lock: how often a waiter says who it waits for. */
  readonly lockReportEveryMs: number
  /** Deploy lock: how long one renewal request may hang before it is abandoned. */
  readonly lockRenewTimeoutMs: number

  /** Stop: how often the driver's `.stopped` acknowledgement is looked for in S3 (cheap). */
  readonly ackPollMs: number
  /** Stop: how often EMR is asked while no acknowledgement has been seen. */
  readonly emrPollMs: number
  /** Stop: after a cancellation, how long the old driver may still take to exit. */
  readonly cancelGraceMs: number

  /** Forced stop: how long the kill step may take. */
  readonly killTimeoutMs: number
  /** Forced stop: how long the killed steps may take to end after the kill step. */
  readonly killConfirmMs: number
  /** Forced stop: how long a kill step may sit queued behind a step EMR does not end. */
  readonly killQueuedMs: number
  /** Forced stop and retire: how often their steps are described. */
  readonly stepPollMs: number
  /** Retire: how long a failed launch may take to end once its marker is gone. */
  readonly retireTimeoutMs: number

  /** Verify: the first check after AddJobFlowSteps (a step is never RUNNING at once). */
  readonly verifyFirstCheckMs: number
  /** Verify: how often the new step is described until it leaves PENDING. */
  readonly verifyPollMs: number
  /** Verify: bounds of the check interval during stable-for (about an eighth of the window). */
  readonly stableCheckMinMs: number
  readonly stableCheckMaxMs: number
  /** Verify: how long to keep asking EMR when it did not answer at the end of stable-for. */
  readonly confirmPollMaxMs: number

  /** Any poll loop: the longest wait between checks after backing off. */
  readonly maxPollIntervalMs: number
  /** Any long wait (drain, start, stable-for): how often it logs where it stands. */
  readonly statusEveryMs: number

  /** The EMR call budget of this run: burst (calls) and refill (calls per second). */
  readonly emrBurst: number
  readonly emrCallsPerSecond: number
  /**
   * How long an EMR read outside any wait (preflight, the look at the world under the lock) is
   * retried through throttling and 5xx. Long: in a matrix of rollovers sharing one account's
   * quota, patience carries runs through that a quick failure would leave to be re-run.
   */
  readonly emrDeadlineMs: number
}

export const DEFAULT_TIMINGS: Timings = Object.freeze({
  lockLeaseMs: 60_000,
  lockRenewEveryMs: 20_000,
  lockPollMs: 5_000,
  lockReportEveryMs: 30_000,
  lockRenewTimeoutMs: 10_000,
  ackPollMs: 250,
  emrPollMs: 3_000,
  cancelGraceMs: 5_000,
  killTimeoutMs: 5 * 60_000,
  killConfirmMs: 60_000,
  killQueuedMs: 2 * 60_000,
  stepPollMs: 2_000,
  retireTimeoutMs: 5 * 60_000,
  verifyFirstCheckMs: 1_000,
  verifyPollMs: 1_000,
  stableCheckMinMs: 2_000,
  stableCheckMaxMs: 15_000,
  confirmPollMaxMs: 30_000,
  maxPollIntervalMs: 10_000,
  statusEveryMs: 30_000,
  // Below EMR's 0.5/s per-account refill for DescribeStep and ListSteps, leaving room for others.
  emrBurst: 5,
  emrCallsPerSecond: 0.4,
  emrDeadlineMs: 10 * 60_000,
})

export function timingsWith(overrides: Partial<Timings> = {}): Timings {
  return Object.freeze({ ...DEFAULT_TIMINGS, ...overrides })
}

/**
 * `ROLLOVER_TIMINGS`, a JSON object of Timings fields in ms: an unsupported knob for the local
 * stack's end-to-end tests and the benchmark, which need a lease of seconds, not a minute.
 * Anything but known fields with non-negative numbers is refused, naming the variable.
 */
export function timingsFromEnv(text: string | undefined): Partial<Timings> {
  if (text === undefined || text.trim() === '') return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new UserError(`ROLLOVER_TIMINGS is not JSON: ${text.slice(0, 200)}`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UserError('ROLLOVER_TIMINGS must be a JSON object of timings in milliseconds.')
  }
  const known = new Set(Object.keys(DEFAULT_TIMINGS))
  for (const [key, v] of Object.entries(value)) {
    if (!known.has(key)) throw new UserError(`ROLLOVER_TIMINGS: unknown timing '${key}'.`)
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new UserError(`ROLLOVER_TIMINGS: '${key}' must be a non-negative number of ms.`)
  }
  return value as Partial<Timings>
}
