// How long to wait before retrying a call AWS refused: pure, so that tests pin every wait.

export interface Backoff {
  /** The wait before the first retry, before jitter. */
  readonly baseMs: number
  /** No wait is longer than this. */
  readonly capMs: number
}

/**
 * Doubling from 1 s up to 20 s, as the AWS SDK does for throttling: 20 s is long enough for EMR's
 * 0.5/s buckets to refill several calls, short enough not to waste a phase's deadline.
 */
export const DEFAULT_BACKOFF: Backoff = Object.freeze({ baseMs: 1000, capMs: 20_000 })

/**
 * For a 5xx or a dropped connection: not a sign of going too fast, so the first retries come
 * soon (the SDK's own base is as short), and a longer outage still ends at the same cap.
 */
export const ERROR_BACKOFF: Backoff = Object.freeze({ baseMs: 100, capMs: 20_000 })

/**
 * The wait before retry number `retry` (1 for the first): the doubled delay, capped, of which a
 * random part up to half is removed ("equal jitter"). Runs throttled by the same burst then
 * retry at different times instead of together, and every wait still grows.
 */
export function backoffMs(retry: number, random: () => number, backoff = DEFAULT_BACKOFF): number {
  const ceiling = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.max(0, retry - 1))
  return Math.round(ceiling * (1 - 0.5 * random()))
}
