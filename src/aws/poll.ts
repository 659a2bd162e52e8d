import type { Clock } from '../clock.ts'
import { withDeadline } from './deadline.ts'
import { isTransient } from './transient.ts'

export interface PollOptions {
  readonly clock: Clock
  /** Absolute monotonic time (clock.monotonic()) after which poll gives up. */
  readonly deadline: number
  /** First wait between checks; doubles on throttling, up to maxIntervalMs. */
  readonly intervalMs: number
  readonly maxIntervalMs: number
  /** Fraction of the interval added or removed at random, so parallel runs do not synchronise. */
  readonly jitter?: number
  readonly signal?: AbortSignal
  /** Wait before the first check, when an immediate answer is known to be "not yet". */
  readonly firstCheckAfterMs?: number
  readonly random?: () => number
  /** Names the deadline in the message of an EMR read retried until it (e.g. 'stop-timeout'). */
  readonly what?: string
  /** Called when a check throws a throttling/transient error; the loop backs off and goes on. */
  readonly onTransientError?: (error: unknown, nextWaitMs: number) => void
}

export type PollResult<T> = { readonly done: true; readonly value: T } | { readonly done: false }

/**
 * Runs `check` until it returns a value, the deadline passes, or the signal aborts.
 * `check` returns undefined for "not yet". Throttling and 5xx errors are retried with a longer
 * wait; any other error propagates. No SDK waiter: they ignore INTERRUPTED and poll too slowly.
 * Each check runs inside withDeadline(deadline): an EMR read it makes is retried (PacedEmr) no
 * longer than the wait itself lasts.
 */
export async function poll<T>(
  check: () => Promise<T | undefined>,
  options: PollOptions,
): Promise<PollResult<T>> {
  const { clock, deadline, signal } = options
  const jitter = options.jitter ?? 0.2
  const random = options.random ?? Math.random
  let interval = options.intervalMs
  if (options.firstCheckAfterMs) {
    await clock.sleep(
      Math.min(options.firstCheckAfterMs, Math.max(0, deadline - clock.monotonic())),
      signal,
    )
  }
  for (;;) {
    signal?.throwIfAborted()
    try {
      const value = await withDeadline(deadline, check, {
        what: options.what ?? 'the end of the wait',
        ...(signal ? { signal } : {}),
      })
      if (value !== undefined) return { done: true, value }
      interval = Math.max(options.intervalMs, interval / 2)
    } catch (error) {
      if (!isTransient(error)) throw error
      interval = Math.min(options.maxIntervalMs, interval * 2)
      options.onTransientError?.(error, interval)
    }
    const remaining = deadline - clock.monotonic()
    if (remaining <= 0) return { done: false }
    const jittered = interval * (1 + jitter * (2 * random() - 1))
    // A check just before the deadline and another at it would be one call too many.
    const wait = remaining - jittered < interval / 2 ? remaining : jittered
    await clock.sleep(Math.max(0, wait), signal)
  }
}
