// Until when may a read be retried? The phase knows (stop-timeout, start-timeout, a lease), the
// EMR call deep inside it does not: a phase runs its work inside withDeadline(), and PacedEmr asks
// currentDeadline() instead of every port method taking a deadline and a signal.
import { AsyncLocalStorage } from 'node:async_hooks'
import { formatDuration, type Clock } from '../clock.ts'

/** Where no phase has said: long enough to ride out a throttling storm, short enough to notice. */
export const DEFAULT_DEADLINE_MS = 5 * 60_000

export interface Deadline {
  /** clock.monotonic() time after which no retry starts. */
  readonly at: number
  /** What set it, for messages: "the stop phase's deadline". */
  readonly what: string
  /** Aborts the retry waits inside the scope (e.g. the run's cancellation). */
  readonly signal?: AbortSignal
}

export interface DeadlineOptions {
  /** Names the deadline in error messages, e.g. 'stop-timeout'. */
  readonly what?: string
  readonly signal?: AbortSignal
}

const scopes = new AsyncLocalStorage<Deadline>()

/**
 * Runs `fn` with `at` (clock.monotonic() ms) as the deadline of every retry inside it, including
 * in the promises it starts. The innermost scope wins, even when it is later than an enclosing
 * one: each wait in this code base computes its own deadline (a kill that starts once the stop's
 * deadline has passed still needs time to retry), and a scope's signal replaces the enclosing
 * one for the same reason (a drain that must survive the runner's cancellation by a few seconds).
 */
export function withDeadline<T>(at: number, fn: () => T, options: DeadlineOptions = {}): T {
  const what = options.what ?? 'the deadline'
  return scopes.run(
    { at, what, ...(options.signal === undefined ? {} : { signal: options.signal }) },
    fn,
  )
}

/** The innermost scope's deadline, or DEFAULT_DEADLINE_MS (or `defaultMs`) from now. */
export function currentDeadline(clock: Clock, defaultMs = DEFAULT_DEADLINE_MS): Deadline {
  return (
    scopes.getStore() ?? {
      at: clock.monotonic() + defaultMs,
      what: `the ${formatDuration(defaultMs)} limit on EMR retries`,
    }
  )
}
