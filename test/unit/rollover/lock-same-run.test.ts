// Regression (review): a re-run attempt of the same workflow run takes the lock over at
// once, on the assumption that the earlier attempt's process is gone. A self-hosted runner that
// lost its connection to GitHub (the job is failed after its timeout, the run completes, someone
// re-runs it) can still be running attempt 1, renewing the lock and passing the fence: for up to
// renewEveryMs (20 s) both attempts hold the lock and both pass assertHeld() before mutations.
import { describe, expect, it } from 'vitest'
import type { Log } from '../../../src/log.ts'
import { DeployLock } from '../../../src/rollover/lock.ts'
import type { LockOwner } from '../../../src/rollover/lock-body.ts'
import { FakeClock } from '../../support/fake-clock.ts'
import { MemoryStore } from '../../support/memory-store.ts'

const log: Log = { info: () => {}, warning: () => {}, debug: () => {}, group: (_n, fn) => fn() }
const owner = (attempt: string): LockOwner => ({
  deploymentId: `dep-${attempt}`,
  repository: 'acme/data',
  runId: '100',
  runAttempt: attempt,
})

describe('same-run takeover', () => {
  it('never lets two attempts pass the fence at the same time', async () => {
    const clock = new FakeClock({ auto: false })
    const store = new MemoryStore(() => clock.now())
    const make = (attempt: string) =>
      new DeployLock({
        store,
        location: { bucket: 'b', key: 'rollover/orders/lock' },
        owner: owner(attempt),
        clock,
        log,
        random: () => 0.5,
      })
    const first = make('1')
    await first.acquire(0)
    first.startRenewing()
    await clock.advance(5_000) // attempt 1 is alive and renewing

    const second = make('2')
    const acquired = second.acquire(120_000).then(
      () => 'acquired' as const,
      () => 'timed out' as const,
    )
    await clock.advance(1)
    const both = (): boolean => {
      const held = (l: DeployLock) => {
        try {
          l.assertHeld()
          return true
        } catch {
          return false
        }
      }
      return held(first) && held(second)
    }
    expect(both()).toBe(false)
    await clock.advance(120_000)
    await acquired
    await first.stopRenewing()
    await second.stopRenewing()
  })
})
