// AddJobFlowSteps has no idempotency token: a 5xx or a timeout may hide a step EMR accepted, and
// a blind retry would start a second driver on the same checkpoint. This is the one retry loop
// for it, pure over two calls, so that the adapter and the simulations run the same code.
import { DEFAULT_BACKOFF, backoffMs, type Backoff } from './backoff.ts'
import { currentDeadline } from './deadline.ts'
import { EmrRetriesExhausted } from './paced-emr.ts'
import { isThrottling, isTransient } from './transient.ts'
import type { Clock } from '../clock.ts'

export interface CarefulSubmitOptions {
  readonly clock: Clock
  readonly random: () => number
  readonly backoff?: Backoff
  /** A failed submission turned out to be accepted: `stepId` is used instead of a new one. */
  readonly onFoundAccepted?: (stepId: string, failure: Error) => void
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
  const startedAt = clock.monotonic()
  // Set by a failure that may hide an accepted step; cleared by a lookup that found none.
  let unsure: Error | undefined
  let throttled = 0
  for (let attempt = 1; ; attempt++) {
    deadline.signal?.throwIfAborted()
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
      if (!isTransient(error)) throw error
      if (isThrottling(error)) throttled++
      // A throttled lookup leaves `unsure` as it was; a throttled submission did nothing.
      else unsure = error instanceof Error ? error : new Error(String(error))
      const remaining = deadline.at - clock.monotonic()
      if (remaining <= 0) {
        const tally = { attempts: attempt, throttled, elapsedMs: clock.monotonic() - startedAt }
        throw new EmrRetriesExhausted('addStep', error, tally, deadline)
      }
      const wait = backoffMs(attempt, random, options.backoff ?? DEFAULT_BACKOFF)
      await clock.sleep(Math.min(wait, remaining), deadline.signal)
    }
  }
}
