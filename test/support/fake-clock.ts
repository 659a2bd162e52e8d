// A Clock whose time moves only when a test says so (advance, runUntilIdle), or, in auto mode,
// whenever every pending promise has settled and someone is sleeping: loops that wait minutes
// then run in microseconds, in the same order real time would run them.
import type { Clock } from '../../src/clock.ts'

interface Sleeper {
  readonly wakeAt: number
  readonly seq: number
  readonly resolve: () => void
}

export interface FakeClockOptions {
  /** Start time in epoch ms. Default 2025-01-01T00:00:00Z. */
  readonly start?: number
  /** Advance time to the next sleeper by itself once the program is otherwise idle. */
  readonly auto?: boolean
  /**
   * monotonic() minus now(). Not zero by default, so that code that mixes the two shows in tests;
   * zero for tests of code that only ever sees one of them.
   */
  readonly monotonicOffset?: number
}

/**
 * The same clock as seen from another machine: its wall time `offsetMs` apart, its monotonic
 * time counting from another origin. Time still moves for both together.
 */
export function machineClock(clock: FakeClock, offsetMs: number): Clock {
  return {
    now: () => clock.now() + offsetMs,
    monotonic: () => clock.monotonic() + 7_777_777,
    sleep: (ms, signal) => clock.sleep(ms, signal),
  }
}

export class FakeClock implements Clock {
  private time: number
  private readonly origin: number
  private seq = 0
  private sleepers: Sleeper[] = []
  private autoScheduled = false
  /** Every sleep requested, in ms, in call order. */
  readonly sleeps: number[] = []
  auto: boolean

  constructor(options: FakeClockOptions = {}) {
    this.time = options.start ?? Date.parse('2025-01-01T00:00:00Z')
    this.origin = -(options.monotonicOffset ?? 1_000_000)
    this.auto = options.auto ?? false
  }

  now(): number {
    return this.time
  }

  monotonic(): number {
    return this.time - this.origin
  }

  /** Number of sleeps not yet woken or aborted. */
  get pending(): number {
    return this.sleepers.length
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms)
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason)
        return
      }
      const onAbort = (): void => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper)
        reject(signal?.reason)
      }
      const sleeper: Sleeper = {
        wakeAt: this.time + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.sleepers.push(sleeper)
      if (this.auto) this.scheduleAuto()
    })
  }

  /** Moves time forward by `ms`, waking sleepers in order and letting each one run. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms
    await flush()
    for (let next = this.next(); next && next.wakeAt <= target; next = this.next()) {
      this.wake(next)
      await flush()
    }
    this.time = Math.max(this.time, target)
    await flush()
  }

  /**
   * Moves time forward without waking anyone: a process that was paused (SIGSTOP, a suspended
   * VM) and resumes to find its timers late.
   */
  jump(ms: number): void {
    this.time += ms
  }

  /** Wakes sleepers one after another until none is left (or `maxWakes` is reached). */
  async runUntilIdle(maxWakes = 10_000): Promise<void> {
    await flush()
    for (let i = 0; i < maxWakes; i++) {
      const next = this.next()
      if (!next) return
      this.wake(next)
      await flush()
    }
    throw new Error(`FakeClock.runUntilIdle: still busy after ${maxWakes} wakes`)
  }

  private next(): Sleeper | undefined {
    let best: Sleeper | undefined
    for (const s of this.sleepers) {
      if (!best || s.wakeAt < best.wakeAt || (s.wakeAt === best.wakeAt && s.seq < best.seq))
        best = s
    }
    return best
  }

  private wake(sleeper: Sleeper): void {
    this.sleepers = this.sleepers.filter((s) => s !== sleeper)
    this.time = Math.max(this.time, sleeper.wakeAt)
    sleeper.resolve()
  }

  // setImmediate runs after the microtask queue drains, i.e. once everything in flight is waiting
  // on the clock: only then is it right to jump to the next wake-up.
  private scheduleAuto(): void {
    if (this.autoScheduled) return
    this.autoScheduled = true
    setImmediate(() => {
      this.autoScheduled = false
      if (!this.auto) return
      const next = this.next()
      if (!next) return
      this.wake(next)
      if (this.sleepers.length > 0) this.scheduleAuto()
    })
  }
}

/** Lets every queued promise callback (and their follow-ups) run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
