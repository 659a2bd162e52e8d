// The deploy lock as a fence (DESIGN.md): one S3 object per application, created with
// IfNoneMatch, renewed and released with IfMatch. Correctness never depends on two machines'
// clocks agreeing: a waiter takes a lock over only once its ETag has not changed for a whole lease
// by the waiter's own monotonic clock; a holder judges itself lost once no renewal has succeeded
// within the lease minus a margin by its own monotonic clock, whatever a hanging request does.
// Since every successful renewal started before the waiter last saw the object change, the
// holder always gives up before a waiter may take over.
import { randomBytes } from 'node:crypto'
import { PreconditionFailed, type ObjectStore } from '../aws/object-store.ts'
import { s3Uri, type S3Location } from '../aws/s3-location.ts'
import { isTransient } from '../aws/transient.ts'
import { formatDuration, type Clock } from '../clock.ts'
import { UserError, describeError } from '../errors.ts'
import type { Log } from '../log.ts'
import {
  describeHolder,
  parseLockBody,
  releaseLockByEtag,
  type Holder,
  type LockBody,
  type LockOwner,
  type LockState,
} from './lock-body.ts'
import { DEFAULT_TIMINGS } from './timings.ts'

export { lockOwner, type LockOwner, type LockState } from './lock-body.ts'

export interface DeployLockOptions {
  readonly store: ObjectStore
  readonly location: S3Location
  readonly owner: LockOwner
  readonly clock: Clock
  readonly log: Log
  readonly leaseMs?: number
  readonly renewEveryMs?: number
  /** How long one renewal request may take before it is abandoned. */
  readonly renewTimeoutMs?: number
  /** The holder gives up this long before a waiter could take over. */
  readonly marginMs?: number
  readonly pollMs?: number
  /** How often a waiter says who it waits for. */
  readonly reportEveryMs?: number
  readonly random?: () => number
  readonly token?: () => string
  /** Called whenever the held etag changes, so the main step can save it for post. */
  readonly onStateChange?: (state: LockState | undefined) => void
}

/** Thrown by `assertHeld` (the fence) and the reason of `lost`. */
export class LockLost extends UserError {
  constructor(message: string) {
    super(message)
    this.name = 'LockLost'
  }
}

// Bounds the re-read/re-create loop when the lock keeps changing under us.
const MAX_IMMEDIATE_RETRIES = 5

interface Held {
  readonly etag: string
  readonly acquiredAt: string
  /** Monotonic start of the last request that is known to have written our lease. */
  readonly renewedFrom: number
}

export class DeployLock {
  readonly lost: AbortSignal
  private readonly lostController = new AbortController()
  private readonly options: DeployLockOptions
  private readonly leaseMs: number
  private readonly marginMs: number
  private readonly app: string
  private held: Held | undefined
  /** Writes whose response never came: one of them may have landed. */
  private readonly unconfirmed: { readonly token: string; readonly startedAt: number }[] = []
  private loops: { controller: AbortController; done: Promise<void> } | undefined
  private releasing: Promise<void> | undefined

  constructor(options: DeployLockOptions) {
    this.options = options
    this.lost = this.lostController.signal
    this.leaseMs = options.leaseMs ?? DEFAULT_TIMINGS.lockLeaseMs
    this.marginMs = options.marginMs ?? Math.max(1_000, Math.round(this.leaseMs / 6))
    this.app = options.location.key.split('/').at(-2) ?? options.location.key
  }

  get etag(): string | undefined {
    return this.held?.etag
  }

  get state(): LockState | undefined {
    return (
      this.held && {
        location: this.options.location,
        etag: this.held.etag,
        deploymentId: this.options.owner.deploymentId,
      }
    )
  }

  /**
   * The fence, called before every mutation: throws LockLost unless a renewal succeeded within
   * the lease minus the margin, by this machine's monotonic clock.
   */
  assertHeld(): void {
    if (this.lost.aborted) throw this.lost.reason
    if (!this.held) throw new LockLost(`The deploy lock of '${this.app}' is not held.`)
    const age = this.options.clock.monotonic() - this.held.renewedFrom
    if (age > this.leaseMs - this.marginMs) {
      this.lose(`no renewal succeeded for ${formatDuration(age)}`)
      throw this.lost.reason
    }
  }

  async acquire(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const { clock, log } = this.options
    const deadline = clock.monotonic() + timeoutMs
    let lastReport = -Infinity
    let immediate = 0
    let seen: { etag: string; since: number; holder: Holder } | undefined
    for (;;) {
      signal?.throwIfAborted()
      const lookedAt = clock.monotonic()
      let current: { etag: string; holder: Holder } | 'acquired' | 'gone' | 'failed'
      try {
        current = await this.tryCreate()
      } catch (error) {
        if (!isTransient(error) || clock.monotonic() >= deadline) throw error
        log.debug(`Deploy lock: S3 error, will retry: ${describeError(error)}`)
        current = 'failed'
      }
      if (current === 'acquired') return
      if (current === 'gone') {
        if (immediate++ < MAX_IMMEDIATE_RETRIES) continue
      } else if (current !== 'failed') {
        const { etag, holder } = current
        if (seen?.etag !== etag) seen = { etag, since: lookedAt, holder }
        const unchangedFor = clock.monotonic() - seen.since
        // Our own deployment id (unique to this process): a write of ours whose answer was
        // lost. An earlier attempt of this run waits its lease out like any holder: a runner
        // that lost GitHub may still run it, renewing and passing its fence.
        const ours = holder.body?.owner.deploymentId === this.options.owner.deploymentId
        if (ours || unchangedFor >= this.leaseOf(holder)) {
          const whose = ours ? 'ours' : this.isSameRun(holder.body?.owner) ? 'same-run' : 'other'
          if (await this.takeOver(etag, holder, whose, unchangedFor)) return
          if (immediate++ < MAX_IMMEDIATE_RETRIES) continue
        }
      }
      immediate = 0
      const now = clock.monotonic()
      if (now >= deadline) {
        throw new UserError(
          `Another rollover of '${this.app}' holds the deploy lock: ${describeHolder(seen?.holder)}. ` +
            `Waited ${formatDuration(timeoutMs)}. Wait for it to finish, or raise 'lock-timeout'.`,
        )
      }
      const reportEvery = this.options.reportEveryMs ?? DEFAULT_TIMINGS.lockReportEveryMs
      if (seen && now - lastReport >= reportEvery) {
        lastReport = now
        log.info(
          `Waiting for the deploy lock of '${this.app}', held by ${describeHolder(seen.holder)}; unchanged for ${formatDuration(now - seen.since)} of its ${formatDuration(this.leaseOf(seen.holder))} lease.`,
        )
      }
      const pollMs = this.options.pollMs ?? DEFAULT_TIMINGS.lockPollMs
      const jittered = pollMs * (0.8 + 0.4 * (this.options.random ?? Math.random)())
      await clock.sleep(Math.min(jittered, deadline - now), signal)
    }
  }

  /** Renews the lease in the background until release; aborts `lost` when it cannot. */
  startRenewing(): void {
    if (this.loops || !this.held) return
    const controller = new AbortController()
    const done = Promise.all([
      this.renewLoop(controller.signal),
      this.watchdog(controller.signal),
    ]).then(() => undefined)
    this.loops = { controller, done }
  }

  /** Never throws: it runs in `finally`, and an unreleased lock is taken over after a lease. */
  release(): Promise<void> {
    this.releasing ??= this.doRelease().finally(() => (this.releasing = undefined))
    return this.releasing
  }

  /** Resolves once no renewal write is in flight, so a following delete sees the latest etag. */
  async stopRenewing(): Promise<void> {
    const loops = this.loops
    this.loops = undefined
    loops?.controller.abort()
    await loops?.done
  }

  private async doRelease(): Promise<void> {
    const { store, location, log } = this.options
    await this.stopRenewing()
    if (!this.held) return
    if (this.lost.aborted) {
      // Another run may hold it now; its object is not ours to delete.
      this.setHeld(undefined)
      return
    }
    try {
      await releaseLockByEtag(store, location, this.held.etag, log, this.options.owner.deploymentId)
      this.setHeld(undefined)
    } catch (error) {
      log.warning(
        `Could not release the deploy lock ${s3Uri(location)} (${describeError(error)}); ` +
          `another run takes it over once it has stayed unchanged for ${formatDuration(this.leaseMs)}.`,
      )
    }
  }

  private leaseOf(holder: Holder): number {
    return Math.max(this.leaseMs, holder.body?.leaseMs ?? 0)
  }

  private async tryCreate(): Promise<{ etag: string; holder: Holder } | 'acquired' | 'gone'> {
    const { store, location, log } = this.options
    try {
      await this.write({ ifNoneMatch: true })
      log.info(`Acquired the deploy lock ${s3Uri(location)}.`)
      return 'acquired'
    } catch (error) {
      if (!(error instanceof PreconditionFailed)) throw error
    }
    const current = await store.getText(location)
    if (!current) return 'gone'
    const holder = { body: parseLockBody(current.body), lastModified: current.lastModified }
    return { etag: current.etag, holder }
  }

  private async takeOver(
    etag: string,
    holder: Holder,
    whose: 'ours' | 'same-run' | 'other',
    unchangedFor: number,
  ): Promise<boolean> {
    const { log } = this.options
    try {
      await this.write({ ifMatch: etag })
    } catch (error) {
      if (error instanceof PreconditionFailed) return false
      throw error
    }
    if (whose === 'ours')
      log.info(`Took over the deploy lock our own earlier write created (its answer was lost).`)
    else if (whose === 'same-run')
      log.info(
        `Took over the deploy lock left by ${describeHolder(holder)}, an earlier attempt of this workflow run: unchanged for ${formatDuration(unchangedFor)}, a whole lease.`,
      )
    else
      log.warning(
        `Took over the deploy lock of ${describeHolder(holder)}: unchanged for ${formatDuration(unchangedFor)}, a whole lease.`,
      )
    return true
  }

  // Another attempt of this run: GitHub re-runs completed runs only, but a self-hosted runner
  // that lost its connection may still run the earlier attempt. Only the message differs.
  private isSameRun(other: LockOwner | undefined): boolean {
    const me = this.options.owner
    if (!other) return false
    if (me.repository === undefined || me.runId === undefined) return false
    if (other.repository !== me.repository || other.runId !== me.runId) return false
    return other.runAttempt !== me.runAttempt || other.deploymentId === me.deploymentId
  }

  private body(token: string): LockBody {
    const now = this.options.clock.now()
    return {
      version: 1,
      owner: this.options.owner,
      acquiredAt: this.held?.acquiredAt ?? new Date(now).toISOString(),
      renewedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.leaseMs).toISOString(),
      leaseMs: this.leaseMs,
      token,
    }
  }

  private newToken(): string {
    return this.options.token?.() ?? randomBytes(8).toString('hex')
  }

  /** One conditional write of our lease; on success the lease counts from the request's start. */
  private async write(
    condition: { ifNoneMatch?: true; ifMatch?: string },
    signal?: AbortSignal,
  ): Promise<void> {
    const { store, location, clock } = this.options
    const startedAt = clock.monotonic()
    const token = this.newToken()
    const body = this.body(token)
    try {
      const etag = await store.putText(location, JSON.stringify(body), condition, { signal })
      this.unconfirmed.length = 0
      this.setHeld({ etag, acquiredAt: body.acquiredAt, renewedFrom: startedAt })
    } catch (error) {
      if (!(error instanceof PreconditionFailed)) {
        // The request may have landed even though no answer came back.
        this.unconfirmed.push({ token, startedAt })
        if (this.unconfirmed.length > 8) this.unconfirmed.shift()
        throw error
      }
      if (condition.ifNoneMatch) throw error
      // A 412 behind a lost response: the SDK's retry (or ours) meets our own newer version. The
      // lease counts from the start of the write that landed, never later.
      const current = await store.getText(location, { signal }).catch(() => undefined)
      const found = current && parseLockBody(current.body)?.token
      const landed =
        found === token
          ? { token, startedAt }
          : this.unconfirmed.find((u) => found !== undefined && u.token === found)
      if (current && landed) {
        this.unconfirmed.length = 0
        this.setHeld({
          etag: current.etag,
          acquiredAt: body.acquiredAt,
          renewedFrom: landed.startedAt,
        })
        return
      }
      throw error
    }
  }

  private setHeld(held: Held | undefined): void {
    const changed = this.held?.etag !== held?.etag
    this.held = held
    if (changed) this.options.onStateChange?.(this.state)
  }

  private async renewLoop(stop: AbortSignal): Promise<void> {
    const { clock, log, location, store } = this.options
    const renewEveryMs = this.options.renewEveryMs ?? DEFAULT_TIMINGS.lockRenewEveryMs
    const timeoutMs = this.options.renewTimeoutMs ?? DEFAULT_TIMINGS.lockRenewTimeoutMs
    let failures = 0
    while (this.held && !this.lost.aborted) {
      // After a failure, try again soon: the lease is running out.
      const wait = failures === 0 ? renewEveryMs : Math.min(renewEveryMs, 2_000 * failures)
      try {
        await clock.sleep(wait, AbortSignal.any([stop, this.lost]))
      } catch {
        return
      }
      const held = this.held
      if (!held || this.lost.aborted) return
      const request = AbortSignal.any([stop, this.lost, timeoutSignal(clock, timeoutMs, stop)])
      try {
        await this.write({ ifMatch: held.etag }, request)
        failures = 0
        log.debug(`Renewed the deploy lock ${s3Uri(location)}.`)
      } catch (error) {
        if (stop.aborted || this.lost.aborted) return
        if (error instanceof PreconditionFailed) {
          // A 409 can mean a concurrent write that did not win: only a changed etag proves a loss.
          const current = await store.getText(location).then(
            (read) => read ?? 'deleted',
            () => 'unknown' as const,
          )
          if (current === 'deleted') return this.lose('it was deleted')
          if (current !== 'unknown' && current.etag !== held.etag)
            return this.lose('another run took it over')
        }
        failures += 1
        log.warning(`Could not renew the deploy lock (${describeError(error)}); will retry.`)
      }
    }
  }

  /** Declares the lock lost on time, even while a renewal request hangs. */
  private async watchdog(stop: AbortSignal): Promise<void> {
    const { clock } = this.options
    while (this.held && !this.lost.aborted) {
      const age = clock.monotonic() - this.held.renewedFrom
      const left = this.leaseMs - this.marginMs - age
      if (left < 0) return this.lose(`no renewal succeeded for ${formatDuration(age)}`)
      try {
        await clock.sleep(left + 1, stop)
      } catch {
        return
      }
    }
  }

  private lose(reason: string): void {
    if (this.lost.aborted) return
    const message =
      `Lost the deploy lock of '${this.app}' (${s3Uri(this.options.location)}): ${reason}. ` +
      'Stopping before the next change, so that two rollovers never act on the application at once.'
    this.options.log.warning(message)
    this.lostController.abort(new LockLost(message))
  }
}

/** An AbortSignal that fires after `ms` on the injected clock (tests run it on fake time). */
function timeoutSignal(clock: Clock, ms: number, stop: AbortSignal): AbortSignal {
  const controller = new AbortController()
  clock.sleep(ms, stop).then(
    () => controller.abort(new Error(`timed out after ${formatDuration(ms)}`)),
    () => undefined,
  )
  return controller.signal
}
