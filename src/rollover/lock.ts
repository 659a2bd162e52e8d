// The deploy lock: one S3 object per application, created with IfNoneMatch and renewed and
// deleted with IfMatch, so two rollovers of one application never act at once. Its lease is short
// and renewed while the run works, so the lock of a crashed run frees itself within a minute.
import { formatDuration } from '../clock.ts'
import { isTransient } from '../aws/transient.ts'
import { PreconditionFailed, type ObjectStore } from '../aws/object-store.ts'
import { s3Uri, type S3Location } from '../aws/s3-location.ts'
import type { Clock } from '../clock.ts'
import { UserError } from '../errors.ts'
import { DEFAULT_TIMINGS } from './timings.ts'
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

export { lockOwner, type LockOwner, type LockState } from './lock-body.ts'

export interface DeployLockOptions {
  readonly store: ObjectStore
  readonly location: S3Location
  readonly owner: LockOwner
  readonly clock: Clock
  readonly log: Log
  readonly leaseMs?: number
  readonly renewEveryMs?: number
  readonly pollMs?: number
  /** How often a waiter says who it waits for. */
  readonly reportEveryMs?: number
  readonly random?: () => number
  /** Called whenever the held etag changes, so the main step can core.saveState it for post. */
  readonly onStateChange?: (state: LockState | undefined) => void
}

// retry: the lock changed under us, look again at once; failed: S3 trouble, look after a pause.
type Attempt =
  { kind: 'acquired' } | { kind: 'retry' } | { kind: 'failed' } | { kind: 'held'; holder: Holder }

// Bounds the re-read/re-create loop when the lock keeps changing under us.
const MAX_IMMEDIATE_RETRIES = 5

export class DeployLock {
  readonly lost: AbortSignal
  private readonly lostController = new AbortController()
  private readonly leaseMs: number
  private readonly app: string
  private held: { etag: string; acquiredAt: string; expiresAt: number } | undefined
  private renewal: { controller: AbortController; done: Promise<void> } | undefined
  private releasing: Promise<void> | undefined

  private readonly options: DeployLockOptions

  constructor(options: DeployLockOptions) {
    this.options = options
    this.lost = this.lostController.signal
    this.leaseMs = options.leaseMs ?? DEFAULT_TIMINGS.lockLeaseMs
    this.app = options.location.key.split('/').at(-2) ?? options.location.key
  }

  get etag(): string | undefined {
    return this.held?.etag
  }

  get state(): LockState | undefined {
    return this.held && { location: this.options.location, etag: this.held.etag }
  }

  async acquire(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const { clock, log } = this.options
    const started = clock.now()
    const deadline = started + timeoutMs
    let lastReport = -Infinity
    let immediate = 0
    let holder: Holder | undefined
    for (;;) {
      signal?.throwIfAborted()
      let attempt: Attempt
      try {
        attempt = await this.attempt(started)
      } catch (error) {
        if (!isTransient(error) || clock.now() >= deadline) throw error
        log.debug(`Deploy lock: S3 error, will retry: ${String(error)}`)
        attempt = { kind: 'failed' }
      }
      if (attempt.kind === 'acquired') return
      if (attempt.kind === 'retry' && immediate++ < MAX_IMMEDIATE_RETRIES) continue
      immediate = 0
      if (attempt.kind === 'held') holder = attempt.holder
      const now = clock.now()
      if (now >= deadline) {
        throw new UserError(
          `Another rollover of '${this.app}' holds the deploy lock: ${describeHolder(holder)}. ` +
            `Waited ${formatDuration(timeoutMs)}. Wait for it to finish, or raise 'lock-timeout'.`,
        )
      }
      if (
        holder &&
        now - lastReport >= (this.options.reportEveryMs ?? DEFAULT_TIMINGS.lockReportEveryMs)
      ) {
        lastReport = now
        log.info(`Waiting for the deploy lock of '${this.app}', held by ${describeHolder(holder)}.`)
      }
      const pollMs = this.options.pollMs ?? DEFAULT_TIMINGS.lockPollMs
      const jittered = pollMs * (0.8 + 0.4 * (this.options.random ?? Math.random)())
      await clock.sleep(Math.min(jittered, deadline - now), signal)
    }
  }

  /** Renews the lease in the background until stopRenewing/release; aborts `lost` if it cannot. */
  startRenewing(): void {
    if (this.renewal || !this.held) return
    const controller = new AbortController()
    this.renewal = { controller, done: this.renewLoop(controller.signal) }
  }

  /** Resolves once no renewal write is in flight, so a following delete sees the latest etag. */
  stopRenewing(): Promise<void> {
    const renewal = this.renewal
    this.renewal = undefined
    renewal?.controller.abort()
    return renewal?.done ?? Promise.resolve()
  }

  /** Never throws: it runs in `finally`, and an unreleased lock still frees itself at expiry. */
  release(): Promise<void> {
    this.releasing ??= this.doRelease().finally(() => (this.releasing = undefined))
    return this.releasing
  }

  private async doRelease(): Promise<void> {
    const { store, location, log } = this.options
    await this.stopRenewing()
    if (!this.held) return
    try {
      await releaseLockByEtag(store, location, this.held.etag, log)
      this.setHeld(undefined)
    } catch (error) {
      log.warning(
        `Could not release the deploy lock ${s3Uri(location)} (${String(error)}); ` +
          `it frees itself at ${iso(this.held.expiresAt)}.`,
      )
    }
  }

  private async attempt(waitingSince: number): Promise<Attempt> {
    const { store, location, clock, log } = this.options
    const now = clock.now()
    try {
      await this.write(now, { ifNoneMatch: true })
      log.info(`Acquired the deploy lock ${s3Uri(location)}.`)
      return { kind: 'acquired' }
    } catch (error) {
      if (!(error instanceof PreconditionFailed)) throw error
    }
    const current = await store.getText(location)
    if (!current) return { kind: 'retry' }
    const holder: Holder = { body: parseLockBody(current.body), lastModified: current.lastModified }
    const ours = holder.body !== undefined && this.isSameRun(holder.body.owner)
    // A body we cannot read still had a writer: give it one full lease from its last write.
    const expiresAt = holder.body
      ? Date.parse(holder.body.expiresAt)
      : (current.lastModified?.getTime() ?? waitingSince) + this.leaseMs
    if (!ours && expiresAt >= now) return { kind: 'held', holder }
    try {
      await this.write(now, { ifMatch: current.etag })
    } catch (error) {
      if (error instanceof PreconditionFailed) return { kind: 'retry' }
      throw error
    }
    if (ours)
      log.info(`Took over the deploy lock left by ${describeHolder(holder)}: same workflow run.`)
    else log.warning(`Took over the expired deploy lock of ${describeHolder(holder)}.`)
    return { kind: 'acquired' }
  }

  // Another attempt of this run can only exist once that attempt has finished (GitHub re-runs
  // completed runs only). The same attempt may be a parallel matrix job, so it must wait.
  private isSameRun(other: LockOwner): boolean {
    const me = this.options.owner
    if (me.repository === undefined || me.runId === undefined) return false
    if (other.repository !== me.repository || other.runId !== me.runId) return false
    return other.runAttempt !== me.runAttempt || other.deploymentId === me.deploymentId
  }

  private async write(
    now: number,
    condition: { ifNoneMatch?: true; ifMatch?: string },
    acquiredAt = iso(now),
  ): Promise<void> {
    const { store, location, owner } = this.options
    const expiresAt = now + this.leaseMs
    const body: LockBody = {
      version: 1,
      owner,
      acquiredAt,
      renewedAt: iso(now),
      expiresAt: iso(expiresAt),
    }
    const etag = await store.putText(location, JSON.stringify(body), condition)
    this.setHeld({ etag, acquiredAt, expiresAt })
  }

  private setHeld(held: DeployLock['held']): void {
    this.held = held
    this.options.onStateChange?.(this.state)
  }

  private async renewLoop(signal: AbortSignal): Promise<void> {
    const { clock, log, store, location } = this.options
    const renewEveryMs = this.options.renewEveryMs ?? DEFAULT_TIMINGS.lockRenewEveryMs
    while (this.held) {
      const left = this.held.expiresAt - clock.now()
      if (left <= 0)
        return this.loseLock(
          `its lease ran out at ${iso(this.held.expiresAt)} before it could be renewed`,
        )
      try {
        // Halving the wait as expiry nears gives a failing renewal several more tries in time.
        await clock.sleep(left < 1_000 ? left : Math.min(renewEveryMs, left / 2), signal)
      } catch {
        return
      }
      if (signal.aborted) return
      if (clock.now() >= this.held.expiresAt) continue
      try {
        await this.write(clock.now(), { ifMatch: this.held.etag }, this.held.acquiredAt)
        log.debug(`Renewed the deploy lock until ${iso(this.held.expiresAt)}.`)
      } catch (error) {
        // A 409 can mean a concurrent write that did not win: only a changed etag proves a loss.
        if (error instanceof PreconditionFailed) {
          const current = await store.getText(location).catch(() => this.held)
          if (current?.etag !== this.held.etag)
            return this.loseLock('another run took it over or deleted it')
        }
        log.warning(`Could not renew the deploy lock (${String(error)}); will retry.`)
      }
    }
  }

  private loseLock(reason: string): void {
    const message =
      `Lost the deploy lock of '${this.app}' (${s3Uri(this.options.location)}): ${reason}. ` +
      'Stopping so that two rollovers never act on the application at once.'
    this.options.log.warning(message)
    this.lostController.abort(new UserError(message))
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}
