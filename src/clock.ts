// Time, injected: polling, leases and deadlines are tested with a fake clock, never real time.

/** Injected so that polling and leases are tested without real time. */
export interface Clock {
  /** Wall time, epoch ms: for timestamps people read. Never compared across machines. */
  now(): number
  /**
   * Monotonic ms from an arbitrary origin: for leases and deadlines. Unlike now(), it never jumps
   * when the system clock is set, and it keeps counting while the process is paused.
   */
  monotonic(): number
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason)
        return
      }
      const onAbort = (): void => {
        clearTimeout(timer)
        reject(signal?.reason)
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      signal?.addEventListener('abort', onAbort, { once: true })
    }),
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(1)}s`
  const m = Math.floor(s / 60)
  const rest = Math.round(s - m * 60)
  return rest === 0 ? `${m}m` : `${m}m${rest}s`
}
