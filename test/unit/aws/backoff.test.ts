import { describe, expect, it } from 'vitest'
import { backoffMs, DEFAULT_BACKOFF, ERROR_BACKOFF } from '../../../src/aws/backoff.ts'

describe('backoffMs', () => {
  it('doubles from 1 s and is capped at 20 s', () => {
    const most = [1, 2, 3, 4, 5, 6, 7, 20].map((retry) => backoffMs(retry, () => 0))
    expect(most).toEqual([1000, 2000, 4000, 8000, 16_000, 20_000, 20_000, 20_000])
    expect(DEFAULT_BACKOFF).toEqual({ baseMs: 1000, capMs: 20_000 })
    expect(ERROR_BACKOFF).toEqual({ baseMs: 100, capMs: 20_000 })
  })

  it('removes up to half at random, so that every wait still grows', () => {
    const least = [1, 2, 3, 6].map((retry) => backoffMs(retry, () => 0.999999))
    expect(least).toEqual([500, 1000, 2000, 10_000])
    expect(backoffMs(3, () => 0.5)).toBe(3000)
  })

  it('takes its base and cap from the caller', () => {
    expect(backoffMs(3, () => 0, { baseMs: 100, capMs: 300 })).toBe(300)
  })
})
