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
import { FakeClock, flush, machineClock } from '../../support/fake-clock.ts'
import type { Clock } from '../../../src/clock.ts'

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

const LEASE = 60_000

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
  let tokens = 0
  const lock = (owner: LockOwner = ME, on: Clock = clock): DeployLock =>
    new DeployLock({
      store,
      location: LOCK,
      owner,
      clock: on,
      log,
      random: () => 0.5,
      token: () => `t${++tokens}`,
      onStateChange: (s) => states.push(s),
    })
  /** Puts a lock body as another run would have written it; returns its etag. */
  const seed = (owner: LockOwner, expiresInMs: number, extra: Partial<LockBody> = {}): string => {
    const now = new Date(clock.now()).toISOString()
    const expiresAt = new Date(clock.now() + expiresInMs).toISOString()
    const body: LockBody = {
      version: 1,
      owner,
      acquiredAt: now,
      renewedAt: now,
      expiresAt,
      ...extra,
    }
    store.seed(URI, JSON.stringify(body))
    return store.objects.get(URI)!.etag
  }
  const body = (): LockBody | undefined => store.json<LockBody>(URI)
  return { clock, store, log, lines, states, lock, seed, body }
}

describe('DeployLock.acquire', () => {
  it('creates a free lock with a create-only write and a body naming the owner and its lease', async () => {
    const { clock, store, lock, body, states } = setup()
    const put = vi.spyOn(store, 'putText')
    const t0 = clock.now()
    const l = lock()
    await l.acquire(60_000)

    expect(put).toHaveBeenCalledTimes(1)
    expect(put.mock.calls[0]?.[2]).toEqual({ ifNoneMatch: true })
    expect(body()).toEqual({
      version: 1,
      owner: ME,
      acquiredAt: new Date(t0).toISOString(),
      renewedAt: new Date(t0).toISOString(),
      expiresAt: new Date(t0 + LEASE).toISOString(),
      leaseMs: LEASE,
      token: 't1',
    })
    expect(l.etag).toBe(store.objects.get(URI)?.etag)
    expect(l.state).toEqual({ location: LOCK, etag: l.etag, deploymentId: ME.deploymentId })
    expect(states).toEqual([{ location: LOCK, etag: l.etag, deploymentId: ME.deploymentId }])
    expect(l.lost.aborted).toBe(false)
    expect(() => l.assertHeld()).not.toThrow()
  })

  it('waits for a lock its holder keeps renewing, then times out naming the holder', async () => {
    const { clock, store, lock, lines } = setup({ auto: true })
    const holder = lock(OTHER)
    await holder.acquire(0)
    holder.startRenewing()
    const t0 = clock.now()

    const error = await lock()
      .acquire(600_000)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UserError)
    expect((error as Error).message).toMatch(
      new RegExp(
        `^Another rollover of 'orders' holds the deploy lock: ${runUrl('200', '1')} \\(deployment dep-other, last renewed .*\\)\\. Waited 10m\\. Wait for it to finish, or raise 'lock-timeout'\\.$`,
      ),
    )
    expect(clock.now() - t0).toBe(600_000)
    expect(store.json<LockBody>(URI)?.owner).toEqual(OTHER)
    expect(holder.lost.aborted).toBe(false)
    // Told the user at most every 30 s.
    const waiting = lines.filter((l) => l.startsWith('info: Waiting for the deploy lock'))
    expect(waiting.length).toBeGreaterThanOrEqual(2)
    expect(waiting.length).toBeLessThanOrEqual(21)
    await holder.release()
  })

  it('never takes a live lock over because the clocks disagree (holder two minutes behind)', async () => {
    const { clock, store, lock } = setup({ auto: true })
    // The holder's clock is two minutes behind: every expiresAt it writes is already past for us.
    const holder = lock(OTHER, machineClock(clock, -120_000))
    await holder.acquire(0)
    holder.startRenewing()
    expect(Date.parse(store.json<LockBody>(URI)!.expiresAt)).toBeLessThan(clock.now())

    await expect(lock().acquire(5 * 60_000)).rejects.toThrow(/holds the deploy lock/)
    expect(store.json<LockBody>(URI)?.owner).toEqual(OTHER)
    expect(holder.lost.aborted).toBe(false)
    await holder.release()
  })

  it('takes a lock over once its ETag stayed unchanged for a whole lease by its own clock', async () => {
    const { clock, store, lock, seed, body, lines } = setup({ auto: true })
    // A holder two minutes ahead: its expiresAt is far in our future; it does not matter.
    const old = seed(OTHER, 3_600_000)
    const put = vi.spyOn(store, 'putText')
    const t0 = clock.monotonic()
    const l = lock()
    await l.acquire(10 * 60_000)

    const waited = clock.monotonic() - t0
    expect(waited).toBeGreaterThanOrEqual(LEASE)
    expect(waited).toBeLessThan(LEASE + 7_000)
    expect(put.mock.calls.at(-1)?.[2]).toEqual({ ifMatch: old })
    expect(body()?.owner).toEqual(ME)
    expect(lines).toContainEqual(
      expect.stringMatching(/^warning: Took over the deploy lock .*runs\/200.*unchanged for 1m/),
    )
  })

  it('waits for the longer of its own lease and the one the holder declares', async () => {
    const { clock, lock, seed } = setup({ auto: true })
    seed(OTHER, 0, { leaseMs: 5 * 60_000 })
    const t0 = clock.monotonic()
    await lock().acquire(10 * 60_000)
    expect(clock.monotonic() - t0).toBeGreaterThanOrEqual(5 * 60_000)
  })

  it('starts the lease over whenever the ETag changes', async () => {
    const { clock, lock, seed, body } = setup()
    seed(OTHER, 0)
    let done = false
    const acquiring = lock()
      .acquire(10 * 60_000)
      .then(() => (done = true))
    await clock.advance(50_000)
    seed(OTHER, 0) // renewed at 50 s: a new ETag
    await clock.advance(50_000)
    expect(done).toBe(false)
    await clock.advance(20_000)
    expect(done).toBe(true)
    await acquiring
    expect(body()?.owner).toEqual(ME)
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

  it('takes over the lock of an earlier attempt of the same workflow run only after a whole lease', async () => {
    const { clock, lock, seed, body, lines } = setup()
    seed({ ...ME, deploymentId: 'dep-attempt-1' }, 3_600_000)
    const t0 = clock.monotonic()
    const acquiring = lock({ ...ME, runAttempt: '2', runUrl: runUrl('100', '2') }).acquire(120_000)
    await clock.advance(30_000)
    expect(body()?.owner.runAttempt).toBe('1') // it may still run: a runner that lost GitHub
    await clock.advance(40_000)
    await acquiring
    expect(clock.monotonic() - t0).toBeGreaterThanOrEqual(60_000)
    expect(body()?.owner.runAttempt).toBe('2')
    expect(lines).toContainEqual(
      expect.stringMatching(/^info: Took over .*an earlier attempt of this workflow run/),
    )
  })

  it('takes its own lock at once when the answer to its create was lost (its deployment id)', async () => {
    const { store, clock, lock, body, lines } = setup({ auto: true })
    let lost = false
    store.afterWrite = (call) => {
      if (!lost && call.op === 'putText' && call.uri === URI) {
        lost = true
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' })
      }
    }
    const t0 = clock.monotonic()
    await lock().acquire(30_000)
    expect(clock.monotonic() - t0).toBeLessThanOrEqual(5_000) // one poll, not a whole lease
    expect(body()?.owner).toEqual(ME)
    expect(lost).toBe(true)
    expect(lines.join('\n')).not.toMatch(/Another rollover/)
  })

  it('waits for a parallel job of the same run attempt (e.g. a matrix) instead of taking over', async () => {
    const { lock, seed } = setup()
    seed({ ...ME, deploymentId: 'dep-matrix-twin' }, 3_600_000)
    await expect(lock().acquire(0)).rejects.toThrow(/dep-matrix-twin/)
  })

  it('lets exactly one of two concurrent acquirers proceed', async () => {
    const { lock, body } = setup({ auto: true })
    const a = lock(ME)
    const b = lock(OTHER)
    const results = await Promise.allSettled([a.acquire(30_000), b.acquire(30_000)])
    const won = results.filter((r) => r.status === 'fulfilled')
    const lost = results.filter((r) => r.status === 'rejected')
    expect(won).toHaveLength(1)
    expect(lost).toHaveLength(1)
    const winner = results[0]?.status === 'fulfilled' ? ME : OTHER
    expect(body()?.owner).toEqual(winner)
    expect(String((lost[0] as PromiseRejectedResult).reason)).toContain(winner.runUrl)
  })

  it('lets exactly one of two concurrent takeovers of an abandoned lock win', async () => {
    const { store, lock, seed, body } = setup({ auto: true })
    const stale = seed({ ...OTHER, runId: '50', runUrl: runUrl('50', '1') }, -1)
    // Hold the first takeover until the second has seen the same abandoned lock too.
    const putText = store.putText.bind(store)
    let release: () => void = () => undefined
    const bothSawIt = new Promise<void>((resolve) => (release = resolve))
    let swaps = 0
    vi.spyOn(store, 'putText').mockImplementation(async (location, text, condition, options) => {
      if (condition?.ifMatch === stale && ++swaps === 1) await bothSawIt
      if (swaps === 2) release()
      return putText(location, text, condition, options)
    })
    const a = lock(ME)
    const b = lock(OTHER)
    const results = await Promise.allSettled([a.acquire(90_000), b.acquire(90_000)])
    expect(swaps).toBe(2)
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
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

  it('treats an unreadable lock as held until it stayed unchanged for a lease', async () => {
    const { clock, store, lock, body } = setup({ auto: true })
    store.seed(URI, '{"not": "a lock"')
    const t0 = clock.monotonic()
    await expect(lock().acquire(30_000)).rejects.toThrow(/unreadable lock object/)
    expect(store.text(URI)).toBe('{"not": "a lock"')

    await lock().acquire(120_000)
    expect(clock.monotonic() - t0).toBeGreaterThanOrEqual(LEASE)
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

describe('DeployLock renewal and the fence', () => {
  it('renews with IfMatch every renewEveryMs and keeps the new etag', async () => {
    const { clock, store, lock, body, states } = setup()
    const t0 = clock.now()
    const l = lock()
    await l.acquire(0)
    const put = vi.spyOn(store, 'putText')
    const first = l.etag
    l.startRenewing()

    await clock.advance(20_000)
    expect(put.mock.calls.at(-1)?.[2]).toEqual({ ifMatch: first })
    expect(body()).toMatchObject({
      acquiredAt: new Date(t0).toISOString(),
      renewedAt: new Date(t0 + 20_000).toISOString(),
    })
    expect(l.etag).not.toBe(first)
    expect(l.etag).toBe(store.objects.get(URI)?.etag)
    expect(states.at(-1)).toEqual({ location: LOCK, etag: l.etag, deploymentId: ME.deploymentId })

    await clock.advance(200_000)
    expect(body()?.renewedAt).toBe(new Date(t0 + 220_000).toISOString())
    expect(l.lost.aborted).toBe(false)
    expect(() => l.assertHeld()).not.toThrow()

    await l.stopRenewing()
    expect(clock.pending).toBe(0)
  })

  it('is lost, and the fence refuses, when another run took the lock over', async () => {
    const { clock, lock, seed } = setup()
    const l = lock()
    await l.acquire(0)
    l.startRenewing()
    seed(OTHER, 3_600_000)
    await clock.advance(20_000)

    expect(l.lost.aborted).toBe(true)
    expect(String(l.lost.reason)).toMatch(
      /Lost the deploy lock of 'orders'.*another run took it over/,
    )
    expect(() => l.assertHeld()).toThrow(/Lost the deploy lock/)
    await l.stopRenewing()
    expect(clock.pending).toBe(0)
  })

  it('is lost when the lock was deleted under it', async () => {
    const { clock, store, lock } = setup()
    const l = lock()
    await l.acquire(0)
    l.startRenewing()
    store.objects.delete(URI)
    await clock.advance(20_000)
    expect(l.lost.aborted).toBe(true)
    expect(String(l.lost.reason)).toMatch(/it was deleted/)
    await l.stopRenewing()
  })

  it('retries transient failures and a 409 that changed nothing, and keeps the lock', async () => {
    const { clock, store, lock, lines } = setup()
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
    await clock.advance(30_000)
    expect(l.lost.aborted).toBe(false)
    expect(lines.filter((x) => x.startsWith('warning: Could not renew'))).toHaveLength(2)
    await clock.advance(30_000)
    expect(l.lost.aborted).toBe(false)
    expect(() => l.assertHeld()).not.toThrow()
    await l.stopRenewing()
  })

  it('gives up at lease minus margin when renewals keep failing, before any waiter may take over', async () => {
    const { clock, store, lock } = setup()
    const l = lock()
    const t0 = clock.monotonic()
    await l.acquire(0)
    l.startRenewing()
    const waiter = lock(OTHER)
    let taken = false
    const taking = waiter.acquire(10 * 60_000).then(() => (taken = true))
    store.beforeCall = (call) => {
      // The holder's S3 is down; the waiter's reads still work.
      if (call.op === 'putText' && !taken)
        throw Object.assign(new Error('socket'), { code: 'ECONNRESET' })
    }
    await clock.advance(LEASE - 10_001)
    expect(l.lost.aborted).toBe(false)
    await clock.advance(2)
    expect(l.lost.aborted).toBe(true)
    expect(String(l.lost.reason)).toMatch(/no renewal succeeded for 50/)
    expect(clock.monotonic() - t0).toBeLessThan(LEASE)
    expect(taken).toBe(false)
    expect(() => l.assertHeld()).toThrow(/Lost the deploy lock/)

    store.beforeCall = undefined
    await clock.advance(LEASE)
    expect(taken).toBe(true)
    await taking
    await l.stopRenewing()
    await waiter.release()
  })

  it('is lost on time while a renewal request hangs, and abandons the request', async () => {
    const { clock, store, lock } = setup()
    const l = lock()
    await l.acquire(0)
    l.startRenewing()
    let aborted = 0
    store.beforeCall = (call) =>
      call.op === 'putText'
        ? new Promise<void>(() => {
            aborted += 1 // never settles: only the request's signal ends it
          })
        : undefined
    await clock.advance(LEASE - 10_001)
    expect(l.lost.aborted).toBe(false)
    await clock.advance(2)
    expect(l.lost.aborted).toBe(true)
    expect(aborted).toBeGreaterThanOrEqual(2) // the hung request was abandoned and retried
    await l.stopRenewing()
    expect(clock.pending).toBe(0)
  })

  it('the fence refuses after the process was paused past the lease, before anything else runs', async () => {
    const { clock, lock } = setup()
    const l = lock()
    await l.acquire(0)
    l.startRenewing()
    await clock.advance(20_000)
    expect(() => l.assertHeld()).not.toThrow()
    clock.jump(2 * LEASE) // SIGSTOP: no timer ran
    expect(() => l.assertHeld()).toThrow(/Lost the deploy lock.*no renewal succeeded for 2m/)
    expect(l.lost.aborted).toBe(true)
    await l.stopRenewing()
  })

  it('keeps the lock when a renewal landed but its response was lost (the retry meets a 412)', async () => {
    const { clock, store, lock, body } = setup()
    const l = lock()
    await l.acquire(0)
    l.startRenewing()
    let dropped = 0
    store.afterWrite = () => {
      if (dropped++ === 0) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
    }
    await clock.advance(20_000) // renewal 1 lands, its answer is lost
    expect(body()?.token).toBe('t2')
    await clock.advance(5_000) // the retry (IfMatch on the old etag) gets 412 and finds t2
    expect(l.lost.aborted).toBe(false)
    expect(l.etag).toBe(store.objects.get(URI)?.etag)
    await clock.advance(60_000)
    expect(l.lost.aborted).toBe(false)
    expect(() => l.assertHeld()).not.toThrow()
    await l.stopRenewing()
  })

  it('keeps the lock when the SDK itself retries a renewal whose response was lost', async () => {
    const { clock, store, lock } = setup()
    const l = lock()
    await l.acquire(0)
    // The SDK resends the same request; S3 answers 412 to the copy because the first landed.
    const putText = store.putText.bind(store)
    let resent = false
    vi.spyOn(store, 'putText').mockImplementation(async (location, text, condition, options) => {
      const etag = await putText(location, text, condition, options)
      if (resent || condition?.ifMatch === undefined) return etag
      resent = true
      return putText(location, text, condition, options)
    })
    l.startRenewing()
    await clock.advance(20_000)
    expect(resent).toBe(true)
    expect(l.lost.aborted).toBe(false)
    expect(l.etag).toBe(store.objects.get(URI)?.etag)
    await l.stopRenewing()
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

describe('release after a late renewal', () => {
  it('deletes a version of its own lock written after its loop stopped, never another run’s', async () => {
    const { store, lock, seed } = setup()
    const l = lock()
    await l.acquire(0)
    // A renewal aborted on our side that S3 still applied: the object is ours, its etag new.
    seed(ME, 60_000)
    await l.release()
    expect(store.objects.has(URI)).toBe(false)

    const other = lock()
    await other.acquire(0)
    seed(OTHER, 60_000)
    await other.release()
    expect(store.json<LockBody>(URI)?.owner).toEqual(OTHER)
  })
})

describe('releaseLockByEtag and the saved state', () => {
  it('releases the lock it names, and reports not-held otherwise', async () => {
    const { store, lock, log, seed } = setup()
    const l = lock()
    await l.acquire(0)
    const state = parseLockState(JSON.stringify(l.state))
    expect(state).toEqual({ location: LOCK, etag: l.etag, deploymentId: ME.deploymentId })

    expect(await releaseLockByEtag(store, state!.location, state!.etag, log)).toBe('released')
    expect(store.objects.has(URI)).toBe(false)
    expect(await releaseLockByEtag(store, LOCK, state!.etag, log)).toBe('not-held')

    seed(OTHER, 60_000)
    expect(await releaseLockByEtag(store, LOCK, state!.etag, log)).toBe('not-held')
    expect(store.json<LockBody>(URI)?.owner).toEqual(OTHER)
  })

  it('post releases a version its own deployment wrote after the state was saved, never another’s', async () => {
    const { store, lock, log, seed } = setup()
    const l = lock()
    await l.acquire(0)
    const saved = parseLockState(JSON.stringify(l.state))!
    // The main step was killed while a renewal was in flight: S3 applied it, the save never came.
    seed(ME, 60_000)
    expect(store.objects.get(URI)?.etag).not.toBe(saved.etag)
    const released = await releaseLockByEtag(
      store,
      saved.location,
      saved.etag,
      log,
      saved.deploymentId,
    )
    expect(released).toBe('released')
    expect(store.objects.has(URI)).toBe(false)

    seed(OTHER, 60_000)
    expect(
      await releaseLockByEtag(store, saved.location, saved.etag, log, saved.deploymentId),
    ).toBe('not-held')
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
