import { describe, expect, it } from 'vitest'
import { poll } from '../../../src/aws/poll.ts'
import { isTransient } from '../../../src/aws/transient.ts'
import { FakeClock } from '../../support/fake-clock.ts'

function counter(answers: Array<string | undefined | Error>) {
  const times: number[] = []
  let i = 0
  return {
    times,
    check: (clock: FakeClock) => async () => {
      times.push(clock.now())
      const answer = answers[Math.min(i++, answers.length - 1)]
      if (answer instanceof Error) throw answer
      return answer
    },
  }
}

const throttled = (): Error =>
  Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })

describe('poll', () => {
  it('returns the first value, checking at the interval', async () => {
    const clock = new FakeClock({ auto: true, start: 0, monotonicOffset: 0 })
    const c = counter([undefined, undefined, 'done'])
    const result = await poll(c.check(clock), {
      clock,
      deadline: 60_000,
      intervalMs: 1000,
      maxIntervalMs: 8000,
      jitter: 0,
    })
    expect(result).toEqual({ done: true, value: 'done' })
    expect(c.times).toEqual([0, 1000, 2000])
  })

  it('waits before the first check when told to', async () => {
    const clock = new FakeClock({ auto: true, start: 0, monotonicOffset: 0 })
    const c = counter(['done'])
    await poll(c.check(clock), {
      clock,
      deadline: 60_000,
      intervalMs: 1000,
      maxIntervalMs: 8000,
      jitter: 0,
      firstCheckAfterMs: 1000,
    })
    expect(c.times).toEqual([1000])
  })

  it('gives up at the deadline with one last check exactly there, not one just before', async () => {
    const clock = new FakeClock({ auto: true, start: 0, monotonicOffset: 0 })
    const c = counter([undefined])
    const result = await poll(c.check(clock), {
      clock,
      deadline: 4300,
      intervalMs: 1000,
      maxIntervalMs: 8000,
      jitter: 0,
    })
    expect(result).toEqual({ done: false })
    expect(c.times).toEqual([0, 1000, 2000, 3000, 4300])
  })

  it('backs off on throttling, up to the maximum, and goes on', async () => {
    const clock = new FakeClock({ auto: true, start: 0, monotonicOffset: 0 })
    const c = counter([throttled(), throttled(), throttled(), throttled(), 'done'])
    const waits: number[] = []
    const result = await poll(c.check(clock), {
      clock,
      deadline: 600_000,
      intervalMs: 1000,
      maxIntervalMs: 8000,
      jitter: 0,
      onTransientError: (_e, wait) => waits.push(wait),
    })
    expect(result.done).toBe(true)
    expect(waits).toEqual([2000, 4000, 8000, 8000])
    expect(c.times).toEqual([0, 2000, 6000, 14_000, 22_000])
  })

  it('propagates an error that is not transient', async () => {
    const clock = new FakeClock({ auto: true, start: 0, monotonicOffset: 0 })
    const denied = Object.assign(new Error('denied'), { name: 'AccessDeniedException' })
    await expect(
      poll(counter([denied]).check(clock), {
        clock,
        deadline: 10_000,
        intervalMs: 1000,
        maxIntervalMs: 8000,
      }),
    ).rejects.toBe(denied)
  })

  it('stops when the signal aborts', async () => {
    const clock = new FakeClock({ auto: true, start: 0, monotonicOffset: 0 })
    const controller = new AbortController()
    const reason = new Error('cancelled')
    const c = counter([undefined])
    const check = async (): Promise<undefined> => {
      await c.check(clock)()
      if (c.times.length === 2) controller.abort(reason)
      return undefined
    }
    await expect(
      poll(check, {
        clock,
        deadline: 60_000,
        intervalMs: 1000,
        maxIntervalMs: 8000,
        signal: controller.signal,
      }),
    ).rejects.toBe(reason)
    expect(c.times).toHaveLength(2)
  })

  it.each([
    [{ name: 'ThrottlingException' }, true],
    [{ name: 'SlowDown' }, true],
    [{ name: 'X', $metadata: { httpStatusCode: 503 } }, true],
    [{ name: 'X', $metadata: { httpStatusCode: 429 } }, true],
    [{ code: 'ECONNRESET' }, true],
    [{ name: 'ValidationException', $metadata: { httpStatusCode: 400 } }, false],
    ['a string', false],
  ])('isTransient(%j) is %s', (error, expected) => {
    expect(isTransient(error)).toBe(expected)
  })
})
