import { describe, it, expect, vi } from 'vitest'
import { DeployLock } from '../../../src/rollover/lock.ts'
import {
  lockOwner,
  releaseLockByEtag,
  type LockBody,
  type LockOwner,
  type LockState,
} from '../../../src/rollover/lock-body.ts'
import { parseLockState } from '../../../src/state.ts'
import { PreconditionFailed } from '../../../src/aws/object-store.ts'
import { UserError } from '../../../src/errors.ts'
import type { Log } from '../../../src/log.ts'
import { MemoryStore } from '../../support/memory-store.ts'
import { FakeClock, flush } from '../../support/fake-clock.ts'

const LOCK = { bucket: 'b', key: 'rollover/orders/lock' }
const URI = 's3://b/rollover/orders/lock'
const runUrl = (run: string, attempt: string): string =>
  `https://github.com/acme/data/actions/runs/${run}/attempts/${attempt}`

const ME: LockOwner = {
  deploymentId: 'dep-me',
  repository: 'acme/data',
  runId: '100',
  runAttempt: '1',
  runUrl: runUrl('100', '1'),
  actor: 'alice',
}
const OTHER: LockOwner = {
  deploymentId: 'dep-other',
  repository: 'acme/data',
  runId: '200',
  runAttempt: '1',
  runUrl: runUrl('200', '1'),
  actor: 'bob',
}

function setup(options: { auto?: boolean } = {}) {
  const clock = new FakeClock({ auto: options.auto ?? false })
  const store = new MemoryStore(() => clock.now())
  const lines: string[] = []
  const log: Log = {
    info: (m) => lines.push(`info: ${m}`),
    warning: (m) => lines.push(`warning: ${m}`),
    debug: (m) => lines.push(`debug: ${m}`),
    group: (_name, fn) => fn(),
  }
  const states: (LockState | undefined)[] = []
  const lock = (owner: LockOwner = ME): DeployLock =>
    new DeployLock({
      store,
      location: LOCK,
      owner,
      clock,
      log,
      random: () => 0.5,
      onStateChange: (s) => states.push(s),
    })
  /** Puts a lock body as another run would have written it; returns its etag. */
  const seed = (owner: LockOwner, expiresInMs: number): string => {
    const now = new Date(clock.now()).toISOString()
    const expiresAt = new Date(clock.now() + expiresInMs).toISOString()
    const body: LockBody = { version: 1, owner, acquiredAt: now, renewedAt: now, expiresAt }
    store.seed(URI, JSON.stringify(body))
    return store.objects.get(URI)!.etag
  }
  const body = (): LockBody | undefined => store.json<LockBody>(URI)
  return { clock, store, log, lines, states, lock, seed, body }
}

describe('DeployLock.acquire', () => {
  it('creates a free lock with a create-only write and a body naming the owner', async () => {
    const { clock, store, lock, body, states } = setup()
    const put = vi.spyOn(store, 'putText')
    const t0 = clock.now()
    const l = lock()
    await l.acquire(60_000)

    expect(put).toHaveBeenCalledTimes(1)
    expect(put).toHaveBeenCalledWith(LOCK, expect.any(String), { ifNoneMatch: true })
    expect(body()).toEqual({
      version: 1,
      owner: ME,
      acquiredAt: new Date(t0).toISOString(),
      renewedAt: new Date(t0).toISOString(),
      expiresAt: new Date(t0 + 60_000).toISOString(),
    })
    expect(l.etag).toBe(store.objects.get(URI)?.etag)
    expect(l.state).toEqual({ location: LOCK, etag: l.etag })
    expect(states).toEqual([{ location: LOCK, etag: l.etag }])
    expect(l.lost.aborted).toBe(false)
  })

  it('waits for a live lock, then times out naming the holder, without touching it', async () => {
    const { clock, store, lock, seed, lines } = setup({ auto: true })
    seed(OTHER, 3_600_000)
    const before = store.text(URI)
    const t0 = clock.now()
    const expiresAt = new Date(t0 + 3_600_000).toISOString()

    const error = await lock()
      .acquire(600_000)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UserError)
    expect((error as Error).message).toBe(
      `Another rollover of 'orders' holds the deploy lock: ${runUrl('200', '1')} ` +
        `(deployment dep-other, lease until ${expiresAt}). Waited 10m. ` +
        `Wait for it to finish, or raise 'lock-timeout'.`,
    )
    expect(clock.now() - t0).toBe(600_000)
    expect(store.text(URI)).toBe(before)
    // Polled every pollMs (jittered), but told the user at most every 30 s.
    expect(clock.sleeps.every((ms) => ms <= 6_000)).toBe(true)
    expect(clock.sleeps.length).toBeGreaterThanOrEqual(100)
    const waiting = lines.filter((l) => l.startsWith('info: Waiting for the deploy lock'))
    expect(waiting.length).toBeGreaterThanOrEqual(2)
    expect(waiting.length).toBeLessThanOrEqual(21)
    expect(waiting[0]).toContain(runUrl('200', '1'))
  })

  it('acquires the lock once its holder releases it', async () => {
    const { clock, store, lock, seed, body } = setup()
    seed(OTHER, 3_600_000)
    let done = false
    const acquiring = lock()
      .acquire(600_000)
      .then(() => (done = true))
    await clock.advance(12_000)
    expect(done).toBe(false)
    store.objects.delete(URI)
    await clock.advance(6_000)
    expect(done).toBe(true)
    await acquiring
    expect(body()?.owner).toEqual(ME)
  })

  it('takes over an expired lease with IfMatch and warns naming the previous holder', async () => {
    const { store, lock, seed, body, lines } = setup()
    const oldEtag = seed(OTHER, -1)
    const put = vi.spyOn(store, 'putText')
    const l = lock()
    await l.acquire(0)

    expect(put.mock.calls.map((c) => c[2])).toEqual([{ ifNoneMatch: true }, { ifMatch: oldEtag }])
    expect(body()?.owner).toEqual(ME)
    expect(l.etag).toBe(store.objects.get(URI)?.etag)
    expect(lines).toContainEqual(
      expect.stringMatching(/^warning: Took over the expired .*runs\/200/),
    )
  })

  it('does not treat a lease that ends exactly now as expired', async () => {
    const { lock, seed } = setup()
    seed(OTHER, 0)
    await expect(lock().acquire(0)).rejects.toThrow(/holds the deploy lock/)
  })

  it('takes over the lock of another attempt of the same workflow run at once', async () => {
    const { clock, lock, seed, body, lines } = setup()
    seed({ ...ME, deploymentId: 'dep-attempt-1' }, 3_600_000)
    const t0 = clock.now()
    await lock({ ...ME, runAttempt: '2', runUrl: runUrl('100', '2') }).acquire(0)
    expect(clock.now()).toBe(t0)
    expect(body()?.owner.runAttempt).toBe('2')
    expect(lines).toContainEqual(expect.stringMatching(/^info: Took over .*same workflow run/))
  })

  it('waits for a parallel job of the same run attempt (e.g. a matrix) instead of taking over', async () => {
    const { lock, seed } = setup()
    seed({ ...ME, deploymentId: 'dep-matrix-twin' }, 3_600_000)
    await expect(lock().acquire(0)).rejects.toThrow(/dep-matrix-twin/)
  })

  it('lets exactly one of two concurrent acquirers proceed', async () => {
    const { lock, body } = setup({ auto: true })
    const results = await Promise.allSettled([
      lock(ME).acquire(30_000),
      lock(OTHER).acquire(30_000),
    ])
    const won = results.filter((r) => r.status === 'fulfilled')
    const lost = results.filter((r) => r.status === 'rejected')
    expect(won).toHaveLength(1)
    expect(lost).toHaveLength(1)
    const winner = results[0]?.status === 'fulfilled' ? ME : OTHER
    expect(body()?.owner).toEqual(winner)
    expect(String((lost[0] as PromiseRejectedResult).reason)).toContain(winner.runUrl)
  })

  it('lets exactly one of two concurrent takeovers of an expired lock win; the loser re-reads', async () => {
    const { store, lock, seed, body } = setup({ auto: true })
    const stale = seed({ ...OTHER, runId: '50', runUrl: runUrl('50', '1') }, -1)
    const put = vi.spyOn(store, 'putText')
    const a = lock(ME)
    const b = lock(OTHER)
    const results = await Promise.allSettled([a.acquire(10_000), b.acquire(10_000)])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    // Both saw the same expired lock and tried to swap it; the store let one through.
    expect(put.mock.calls.filter((c) => c[2]?.ifMatch === stale)).toHaveLength(2)
    const winner = results[0]?.status === 'fulfilled' ? a : b
    expect(body()?.owner.deploymentId).toBe(winner === a ? 'dep-me' : 'dep-other')
  })

  it('retries the create at once when the lock vanishes between the create and the read', async () => {
    const { clock, store, lock, seed, body } = setup()
    seed(OTHER, 3_600_000)
    store.beforeCall = (call) => {
      if (call.op === 'getText') store.objects.delete(URI)
    }
    const t0 = clock.now()
    await lock().acquire(0)
    expect(clock.now()).toBe(t0)
    expect(body()?.owner).toEqual(ME)
  })

  it('treats an unreadable lock as held until one lease after it was last written', async () => {
    const { clock, store, lock, body } = setup({ auto: true })
    store.seed(URI, '{"not": "a lock"')
    const t0 = clock.now()
    await expect(lock().acquire(30_000)).rejects.toThrow(/unreadable lock object/)
    expect(store.text(URI)).toBe('{"not": "a lock"')

    await lock().acquire(120_000)
    expect(clock.now() - t0).toBeGreaterThan(60_000)
    expect(clock.now() - t0).toBeLessThan(70_000)
    expect(body()?.owner).toEqual(ME)
  })

  it('retries transient S3 errors while waiting; other errors propagate', async () => {
    const { store, lock } = setup({ auto: true })
    let failures = 2
    store.beforeCall = () => {
      if (failures-- > 0) throw Object.assign(new Error('slow down'), { name: 'SlowDown' })
    }
    await lock().acquire(60_000)

    store.objects.clear()
    store.beforeCall = () => {
      throw Object.assign(new Error('denied'), { name: 'AccessDenied' })
    }
    await expect(lock().acquire(60_000)).rejects.toThrow('denied')
  })

  it('rejects promptly when the signal aborts while waiting', async () => {
    const { clock, lock, seed } = setup()
    seed(OTHER, 3_600_000)
    const controller = new AbortController()
    const t0 = clock.now()
    const acquiring = lock().acquire(600_000, controller.signal)
    await flush()
    expect(clock.pending).toBe(1)
    controller.abort(new Error('cancelled by the runner'))
    await expect(acquiring).rejects.toThrow('cancelled by the runner')
    expect(clock.now()).toBe(t0)
    expect(clock.pending).toBe(0)
  })
})

describe('DeployLock renewal', () => {
  it('extends the lease with IfMatch every renewEveryMs and keeps the new etag', async () => {
    const { clock, store, lock, body, states } = setup()
    const t0 = clock.now()
    const l = lock()
    await l.acquire(0)
    const put = vi.spyOn(store, 'putText')
    const first = l.etag
    l.startRenewing()

    await clock.advance(20_000)
    expect(put).toHaveBeenLastCalledWith(LOCK, expect.any(String), { ifMatch: first })
    expect(body()).toMatchObject({
      acquiredAt: new Date(t0).toISOString(),
      renewedAt: new Date(t0 + 20_000).toISOString(),
      expiresAt: new Date(t0 + 80_000).toISOString(),
    })
    expect(l.etag).not.toBe(first)
    expect(l.etag).toBe(store.objects.get(URI)?.etag)
    expect(states.at(-1)).toEqual({ location: LOCK, etag: l.etag })

    await clock.advance(200_000)
    expect(body()?.expiresAt).toBe(new Date(t0 + 280_000).toISOString())
    expect(l.lost.aborted).toBe(false)

    await l.stopRenewing()
    expect(clock.pending).toBe(0)
  })

  it('aborts `lost` when another run has taken the lock over', async () => {
    const { clock, lock, seed } = setup()
    const l = lock()
    await l.acquire(0)
    l.startRenewing()
    seed(OTHER, 3_600_000)
    await clock.advance(20_000)

    expect(l.lost.aborted).toBe(true)
    expect(l.lost.reason).toBeInstanceOf(Error)
    expect(String(l.lost.reason)).toMatch(/Lost the deploy lock of 'orders'.*took it over/)
    expect(clock.pending).toBe(0)
    await l.stopRenewing()
  })

  it('aborts `lost` when the lock was deleted under it', async () => {
    const { clock, store, lock } = setup()
    const l = lock()
    await l.acquire(0)
    l.startRenewing()
    store.objects.delete(URI)
    await clock.advance(20_000)
    expect(l.lost.aborted).toBe(true)
  })

  it('retries transient failures and a 409 that changed nothing, before the lease ends', async () => {
    const { clock, store, lock, body, lines } = setup()
    const t0 = clock.now()
    const l = lock()
    await l.acquire(0)
    l.startRenewing()
    const failures = [
      Object.assign(new Error('busy'), { name: 'ServiceUnavailable' }),
      new PreconditionFailed(LOCK, 409),
    ]
    store.beforeCall = (call) => {
      const failure = call.op === 'putText' ? failures.shift() : undefined
      if (failure) throw failure
    }
    await clock.advance(40_000)
    expect(l.lost.aborted).toBe(false)
    expect(lines.filter((x) => x.startsWith('warning: Could not renew'))).toHaveLength(2)
    expect(body()?.expiresAt).toBe(new Date(t0 + 60_000).toISOString())

    // The lease ends at 60 s: the next try comes sooner than the usual 20 s.
    await clock.advance(10_000)
    expect(l.lost.aborted).toBe(false)
    expect(body()?.expiresAt).toBe(new Date(t0 + 110_000).toISOString())
    await l.stopRenewing()
  })

  it('aborts `lost` when the lease runs out without a successful renewal', async () => {
    const { clock, store, lock } = setup()
    const t0 = clock.now()
    const l = lock()
    await l.acquire(0)
    l.startRenewing()
    store.beforeCall = () => {
      throw Object.assign(new Error('socket'), { code: 'ECONNRESET' })
    }
    await clock.advance(59_999)
    expect(l.lost.aborted).toBe(false)
    await clock.advance(1)
    expect(l.lost.aborted).toBe(true)
    expect(clock.now()).toBe(t0 + 60_000)
    expect(String(l.lost.reason)).toMatch(/lease ran out/)
    expect(clock.pending).toBe(0)
  })

  it('stops without leaving a pending sleep, even in auto mode', async () => {
    const { clock, lock } = setup({ auto: true })
    const l = lock()
    await l.acquire(0)
    l.startRenewing()
    await l.stopRenewing()
    expect(clock.pending).toBe(0)
    expect(l.lost.aborted).toBe(false)
  })
})

describe('DeployLock.release', () => {
  it('stops renewing and deletes with IfMatch; a second release does nothing', async () => {
    const { clock, store, lock, states } = setup()
    const l = lock()
    await l.acquire(0)
    l.startRenewing()
    await clock.advance(20_000)
    const etag = l.etag
    const del = vi.spyOn(store, 'delete')

    await l.release()
    expect(del).toHaveBeenCalledWith(LOCK, { ifMatch: etag })
    expect(store.objects.has(URI)).toBe(false)
    expect(l.etag).toBeUndefined()
    expect(states.at(-1)).toBeUndefined()
    expect(clock.pending).toBe(0)

    await l.release()
    expect(del).toHaveBeenCalledTimes(1)
  })

  it('leaves the lock of a run that took it over in place', async () => {
    const { store, lock, seed, lines } = setup()
    const l = lock()
    await l.acquire(0)
    seed(OTHER, 3_600_000)
    const theirs = store.text(URI)
    const del = vi.spyOn(store, 'delete')

    await l.release()
    expect(store.text(URI)).toBe(theirs)
    expect(del).not.toHaveBeenCalled()
    expect(lines).toContainEqual(expect.stringMatching(/^warning: .*now held by .*runs\/200/))
  })

  it('does not throw when S3 fails, and keeps the state so the post step can retry', async () => {
    const { store, lock, lines } = setup()
    const l = lock()
    await l.acquire(0)
    store.beforeCall = () => {
      throw new Error('network down')
    }
    await l.release()
    expect(l.etag).toBeDefined()
    expect(lines).toContainEqual(expect.stringMatching(/^warning: Could not release/))
  })
})

describe('releaseLockByEtag and the saved state', () => {
  it('releases the lock it names, and reports not-held otherwise', async () => {
    const { store, lock, log, seed } = setup()
    const l = lock()
    await l.acquire(0)
    const state = parseLockState(JSON.stringify(l.state))
    expect(state).toEqual({ location: LOCK, etag: l.etag })

    expect(await releaseLockByEtag(store, state!.location, state!.etag, log)).toBe('released')
    expect(store.objects.has(URI)).toBe(false)
    expect(await releaseLockByEtag(store, LOCK, state!.etag, log)).toBe('not-held')

    seed(OTHER, 60_000)
    expect(await releaseLockByEtag(store, LOCK, state!.etag, log)).toBe('not-held')
    expect(store.json<LockBody>(URI)?.owner).toEqual(OTHER)
  })

  it('parses only well-formed state', () => {
    expect(parseLockState('')).toBeUndefined()
    expect(parseLockState('{"etag":"x"}')).toBeUndefined()
    expect(parseLockState('{"location":{"bucket":"b","key":"k"},"etag":"\\"e\\""}')).toEqual({
      location: { bucket: 'b', key: 'k' },
      etag: '"e"',
    })
  })

  it('builds the owner from the run context', () => {
    expect(
      lockOwner('dep-1', { repository: 'acme/data', runId: '7', runAttempt: '2', sha: 'abc' }),
    ).toMatchObject({ deploymentId: 'dep-1', repository: 'acme/data', runId: '7', runAttempt: '2' })
  })
})
