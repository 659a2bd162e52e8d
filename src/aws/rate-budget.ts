import type { Clock } from '../clock.ts'

/**
 * Client-side ration for EMR calls: EMR's own buckets are per account and region and shared
 * with every other tool, so the action spends well under their 0.5/s refill.
 */
export class TokenBucket {
  private tokens: number
  private updatedAt: number
  taken = 0

  private readonly clock: Clock
  private readonly capacity: number
  private readonly refillPerSecond: number

  constructor(clock: Clock, capacity: number, refillPerSecond: number) {
    this.clock = clock
    this.capacity = capacity
    this.refillPerSecond = refillPerSecond
    this.tokens = capacity
    this.updatedAt = clock.now()
  }

  tryTake(count = 1): boolean {
    this.refill()
    if (this.tokens < count) return false
    this.tokens -= count
    this.taken += count
    return true
  }

  /** Waits for `count` tokens, then takes them. */
  async take(count = 1, signal?: AbortSignal): Promise<void> {
    while (!this.tryTake(count)) {
      const missing = count - this.tokens
      await this.clock.sleep(Math.ceil((missing / this.refillPerSecond) * 1000), signal)
    }
  }

  private refill(): void {
    const now = this.clock.now()
    const elapsed = Math.max(0, now - this.updatedAt) / 1000
    this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.refillPerSecond)
    this.updatedAt = now
  }
}
