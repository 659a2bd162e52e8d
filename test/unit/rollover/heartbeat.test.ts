// Review finding: heartbeat-timeout `auto` is documented (README, action.yml) as "three of its
// batch intervals, at least 1m", and an explicit input may not be below 10s; the code's floor for
// a known interval is 5 s (HEARTBEAT_FLOOR_MS). A healthy 1 s-trigger app whose one batch takes
// 6 s (a compaction, a GC pause, the first big batch after the drain) is declared dead during
// stable-for, retired and rolled back.
import { describe, expect, it } from 'vitest'
import type { RolloverContext } from '../../../src/rollover/context.ts'
import { heartbeatBound, type ProgressWatcher } from '../../../src/rollover/verify-progress.ts'

const ctx = { settings: {} } as unknown as RolloverContext

describe('heartbeat-timeout auto', () => {
  it('is at least 1m, as README and action.yml say', () => {
    const known = { latest: { triggerIntervalMs: 1_000 }, gaps: [] } as unknown as ProgressWatcher
    const seen = { latest: {}, gaps: [1_000, 1_000, 1_000] } as unknown as ProgressWatcher
    const asFastAsPossible = {
      latest: { triggerIntervalMs: 0 },
      gaps: [],
    } as unknown as ProgressWatcher
    expect(heartbeatBound(ctx, known)).toBeGreaterThanOrEqual(60_000)
    expect(heartbeatBound(ctx, seen)).toBeGreaterThanOrEqual(60_000)
    expect(heartbeatBound(ctx, asFastAsPossible)).toBeGreaterThanOrEqual(60_000)
  })
})
