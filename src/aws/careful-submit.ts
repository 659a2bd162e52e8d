// AddJobFlowSteps has no idempotency token: a 5xx or a timeout may hide a step EMR accepted, and
// a blind retry would start a second driver on the same checkpoint. This is the one retry loop
// for it, pure over two calls, so that PacedEmr and the simulations run the same code. Each of
// the two calls is one attempt through the run's budget and the lock's fence.
import { DEFAULT_BACKOFF, backoffMs, type Backoff } from './backoff.ts'
import { currentDeadline } from './deadline.ts'
import { EmrBudgetSpent, EmrRetriesExhausted } from './emr-operations.ts'
import { isThrottling, isTransient } from './transient.ts'
import type { Clock } from '../clock.ts'

export interface CarefulSubmitOptions {
  readonly clock: Clock
  readonly random: () => number
  readonly backoff?: Backoff
  /** A failed submission turned out to be accepted: `stepId` is used instead of a new one. */
  readonly onFoundAccepted?: (stepId: string, failure: Error) => void
  /** Told before each wait, e.g. to log "EMR busy". */
  readonly onRetry?: (error: unknown, attempt: number, waitMs: number) => void
  /** Ends the waits when the deadline's scope brings no signal of its own. */
  readonly signal?: AbortSignal
}

/**
 * Runs `submit` until it answers, retrying transient failures until the current deadline
 * (deadline.ts), with jittered backoff: after a throttle without looking, since a throttled
 * request did nothing; after anything else only once `findAccepted` (a lookup by the step's unique name) has answered, returning the
 * step it finds instead of submitting again. A lookup that fails is retried like a submission,
 * and nothing is resubmitted until one answers.
 */
export async function submitCarefully(
  submit: () => Promise<string>,
  findAccepted: () => Promise<string | undefined>,
  options: CarefulSubmitOptions,
): Promise<string> {
  const { clock, random } = options
  const deadline = currentDeadline(clock)
  const signal = deadline.signal ?? options.signal
  const startedAt = clock.monotonic()
  // Set by a failure that may hide an accepted step; cleared by a lookup that found none.
  let unsure: Error | undefined
  let throttled = 0
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted()
    try {
      if (unsure) {
        const accepted = await findAccepted()
        if (accepted) {
          options.onFoundAccepted?.(accepted, unsure)
          return accepted
        }
        unsure = undefined
      }
      return await submit()
    } catch (error) {
      // Nothing was sent: the run's own budget has no token before the deadline.
      if (error instanceof EmrBudgetSpent || !isTransient(error)) throw error
      if (isThrottling(error)) throttled++
      // A throttled lookup leaves `unsure` as it was; a throttled submission did nothing.
      else unsure = error instanceof Error ? error : new Error(String(error))
      const remaining = deadline.at - clock.monotonic()
      if (remaining <= 0) {
        const tally = { attempts: attempt, throttled, elapsedMs: clock.monotonic() - startedAt }
        throw new EmrRetriesExhausted('addStep', error, tally, deadline)
      }
      const wait = Math.min(
        backoffMs(attempt, random, options.backoff ?? DEFAULT_BACKOFF),
        remaining,
      )
      options.onRetry?.(error, attempt, wait)
      await clock.sleep(wait, signal)
    }
  }
}
