import { describe, expect, it } from 'vitest'
import { RateBudget, RateBudgets, TokenBucket } from '../../../src/aws/rate-budget.ts'
import type { Clock } from '../../../src/clock.ts'
import { FakeClock } from '../../support/fake-clock.ts'

const clockAt0 = (auto = false): FakeClock => new FakeClock({ auto, start: 0, monotonicOffset: 0 })

/** Drains the budget so that the next token is a refill's. */
function drain(budget: RateBudget): void {
  while (budget.tryTake(1));
}

describe('RateBudget as a token bucket', () => {
  it('allows the burst at once, then one call per 1/rate', async () => {
    const clock = clockAt0()
    const budget = new RateBudget(clock, 5, 0.4)
    for (let i = 0; i < 5; i++) expect(budget.tryTake(1)).toBe(true)
    expect(budget.tryTake(1)).toBe(false)
    expect(budget.msUntilAvailable(1)).toBe(2500)
    await clock.advance(2499)
    expect(budget.tryTake(1)).toBe(false)
    await clock.advance(1)
    expect(budget.tryTake(1)).toBe(true)
    expect(budget.taken).toBe(6)
  })

  it('never holds more than the burst, however long it was idle', async () => {
    const clock = clockAt0()
    const budget = new RateBudget(clock, 3, 1)
    await clock.advance(60_000)
    let taken = 0
    while (budget.tryTake(1)) taken++
    expect(taken).toBe(3)
  })

  it('take() waits for the refill, in order of the clock', async () => {
    const clock = clockAt0(true)
    const budget = new RateBudget(clock, 2, 0.5)
    const at: number[] = []
    for (let i = 0; i < 4; i++) {
      await budget.take(1)
      at.push(clock.monotonic())
    }
    expect(at).toEqual([0, 0, 2000, 4000])
  })

  it('take(n) with n above the burst completes once the budget is full, and leaves a debt', async () => {
    const clock = clockAt0()
    const budget = new RateBudget(clock, 5, 0.5)
    drain(budget)
    let done = false
    const big = budget.take(12).then(() => (done = true))
    // A bounded run: the old TokenBucket slept forever here (12 tokens never fit in 5).
    await clock.runUntilIdle(50)
    await big
    expect(done).toBe(true)
    // Full again after 10 s (5 tokens at 0.5/s), then 12 taken: 7 owed.
    expect(clock.monotonic()).toBe(10_000)
    expect(budget.taken).toBe(17)
    // The debt is repaid before anyone else goes: 7 + 1 tokens at 0.5/s.
    expect(budget.msUntilAvailable(1)).toBe(16_000)
    expect(budget.tryTake(1)).toBe(false)
  })

  it('refills on monotonic time, not on the wall clock (which may be set back)', async () => {
    const fake = clockAt0()
    const wallStuck: Clock = {
      now: () => 0,
      monotonic: () => fake.monotonic(),
      sleep: (ms, signal) => fake.sleep(ms, signal),
    }
    const budget = new RateBudget(wallStuck, 1, 1)
    drain(budget)
    await fake.advance(1000)
    expect(budget.tryTake(1)).toBe(true)
  })

  it('take() rejects with the reason when its signal aborts', async () => {
    const clock = clockAt0()
    const budget = new RateBudget(clock, 1, 0.1)
    drain(budget)
    const cancel = new AbortController()
    const waiting = budget.take(1, cancel.signal).catch((e: unknown) => e)
    await clock.advance(1000)
    cancel.abort(new Error('cancelled'))
    expect(await waiting).toMatchObject({ message: 'cancelled' })
    expect(clock.pending).toBe(0)
    expect(budget.taken).toBe(1)
  })

  it('refuses a zero rate or burst, which would make take() wait forever', () => {
    const clock = clockAt0()
    expect(() => new RateBudget(clock, 5, 0)).toThrow(/rate must be above 0/)
    expect(() => new RateBudget(clock, 0, 1)).toThrow(/burst must be above 0/)
    expect(() => new RateBudget(clock, 5, 1, { decreaseFactor: 1 })).toThrow(/decreaseFactor/)
  })

  it('is still constructible by its old name', () => {
    const budget = new TokenBucket(clockAt0(), 5, 0.4)
    expect(budget).toBeInstanceOf(RateBudget)
    expect(budget.rate).toBe(0.4)
  })
})

describe('RateBudget AIMD', () => {
  it('halves the rate on each throttle, down to the floor and no further', async () => {
    const clock = clockAt0(true)
    const budget = new RateBudget(clock, 5, 0.4)
    const rates: number[] = []
    for (let i = 0; i < 6; i++) {
      // Each call waits for its token, as PacedEmr does, and is throttled.
      await budget.take(1)
      budget.onThrottled()
      rates.push(budget.rate)
    }
    expect(rates).toEqual([0.2, 0.1, 0.05, 0.025, 0.025, 0.025])
  })

  it('spends the saved-up burst on a throttle: EMR’s bucket is empty too', () => {
    const clock = clockAt0()
    const budget = new RateBudget(clock, 5, 0.4)
    expect(budget.tryTake(1)).toBe(true)
    budget.onThrottled()
    expect(budget.tryTake(1)).toBe(false)
    // The next token comes at the halved rate.
    expect(budget.msUntilAvailable(1)).toBe(5000)
  })

  it('halves once for throttles of calls that were in flight together', () => {
    const clock = clockAt0()
    const budget = new RateBudget(clock, 5, 0.4)
    budget.onThrottled()
    budget.onThrottled()
    budget.onThrottled()
    expect(budget.rate).toBe(0.2)
  })

  it('recovers slowly: a little per success, never above the configured rate', async () => {
    const clock = clockAt0(true)
    const budget = new RateBudget(clock, 5, 0.4)
    budget.onThrottled()
    expect(budget.rate).toBe(0.2)
    budget.onSuccess()
    expect(budget.rate).toBeCloseTo(0.21, 10)
    // Eighteen more successes are not enough to undo one throttle...
    for (let i = 0; i < 18; i++) budget.onSuccess()
    expect(budget.rate).toBeCloseTo(0.39, 10)
    // ...and no number of them goes past the ceiling.
    for (let i = 0; i < 100; i++) budget.onSuccess()
    expect(budget.rate).toBe(0.4)
  })

  it('refills at the old rate until the change and at the new one after', async () => {
    const clock = clockAt0()
    const budget = new RateBudget(clock, 5, 0.4)
    drain(budget)
    budget.onThrottled()
    // 0.2/s now: half a token after 2.5 s.
    await clock.advance(2500)
    for (let i = 0; i < 20; i++) budget.onSuccess()
    // 0.4/s from here: the missing half token takes 1.25 s.
    expect(budget.rate).toBeCloseTo(0.4, 10)
    expect(budget.msUntilAvailable(1)).toBe(1250)
  })

  it('takes its floor and steps from the options', async () => {
    const clock = clockAt0(true)
    const budget = new RateBudget(clock, 5, 1, {
      minRatePerSecond: 0.3,
      decreaseFactor: 0.75,
      increasePerSuccess: 0.1,
    })
    budget.onThrottled()
    expect(budget.rate).toBe(0.75)
    budget.onSuccess()
    expect(budget.rate).toBeCloseTo(0.85, 10)
    for (let i = 0; i < 10; i++) {
      await budget.take(1)
      budget.onThrottled()
    }
    expect(budget.rate).toBe(0.3)
    // A floor above the configured rate is the configured rate.
    expect(new RateBudget(clock, 5, 0.02).minRate).toBe(0.02)
  })
})

describe('RateBudgets', () => {
  it('makes one budget per key on first use, each learning on its own', () => {
    const budgets = new RateBudgets<'a' | 'b'>(clockAt0(), 5, 0.4)
    expect(budgets.of('a')).toBe(budgets.of('a'))
    budgets.of('a').onThrottled()
    expect([budgets.of('a').rate, budgets.of('b').rate]).toEqual([0.2, 0.4])
    expect(budgets.entries().map(([key]) => key)).toEqual(['a', 'b'])
  })

  it('refuses bad settings at once, not at the first call', () => {
    expect(() => new RateBudgets(clockAt0(), 5, 0)).toThrow(/rate must be above 0/)
  })
})

describe('RateBudget.grantOne', () => {
  it('lets one take through an empty budget without charging it', () => {
    const clock = new FakeClock({ auto: false })
    const budget = new RateBudget(clock, 2, 0.5)
    expect(budget.tryTake(2)).toBe(true)
    expect(budget.tryTake()).toBe(false)
    const before = budget.msUntilAvailable()
    budget.grantOne()
    budget.grantOne() // one at a time: a second grant before the take adds nothing
    expect(budget.tryTake()).toBe(true)
    expect(budget.tryTake()).toBe(false)
    // The run's own calls wait no longer for it.
    expect(budget.msUntilAvailable()).toBe(before)
  })
})
