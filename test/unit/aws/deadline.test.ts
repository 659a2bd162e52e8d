import { describe, expect, it } from 'vitest'
import { currentDeadline, DEFAULT_DEADLINE_MS, withDeadline } from '../../../src/aws/deadline.ts'
import { FakeClock } from '../../support/fake-clock.ts'

describe('withDeadline / currentDeadline', () => {
  it('defaults to 5 minutes from the call outside any scope', async () => {
    const clock = new FakeClock()
    const first = currentDeadline(clock)
    expect(DEFAULT_DEADLINE_MS).toBe(300_000)
    expect(first.at).toBe(clock.monotonic() + 300_000)
    expect(first.what).toBe('the 5m limit on EMR retries')
    await clock.advance(60_000)
    // From each call, not from when the module was loaded.
    expect(currentDeadline(clock).at).toBe(first.at + 60_000)
    expect(currentDeadline(clock, 1000).at).toBe(clock.monotonic() + 1000)
  })

  it('reaches code that runs after awaits, sleeps and timers inside the scope', async () => {
    const clock = new FakeClock({ auto: true })
    const cancel = new AbortController()
    const seen = await withDeadline(
      12_345,
      async () => {
        await clock.sleep(10_000)
        await new Promise((resolve) => setImmediate(resolve))
        return Promise.all([1, 2].map(async () => currentDeadline(clock)))
      },
      { what: 'stop-timeout', signal: cancel.signal },
    )
    expect(seen).toEqual([
      { at: 12_345, what: 'stop-timeout', signal: cancel.signal },
      { at: 12_345, what: 'stop-timeout', signal: cancel.signal },
    ])
    // And not outside it.
    expect(currentDeadline(clock).at).toBe(clock.monotonic() + DEFAULT_DEADLINE_MS)
  })

  it('lets the innermost scope decide, even when it is later than the enclosing one', () => {
    const clock = new FakeClock()
    const outer = new AbortController()
    const seen = withDeadline(
      1000,
      () => [
        currentDeadline(clock).at,
        withDeadline(5000, () => currentDeadline(clock), { what: 'kill-timeout' }),
      ],
      { signal: outer.signal },
    )
    // A kill after the stop's deadline needs its own time, and survives the outer signal.
    expect(seen).toEqual([1000, { at: 5000, what: 'kill-timeout' }])
  })

  it('keeps parallel scopes apart', async () => {
    const clock = new FakeClock({ auto: true })
    const a = withDeadline(1, async () => {
      await clock.sleep(20)
      return currentDeadline(clock).at
    })
    const b = withDeadline(2, async () => {
      await clock.sleep(10)
      return currentDeadline(clock).at
    })
    expect(await Promise.all([a, b])).toEqual([1, 2])
  })
})
