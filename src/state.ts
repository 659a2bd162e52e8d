// Every value the main step saves for the post step (core.saveState), in one place, as
// actions/checkout's state-helper does. The post step runs in another process, after the job's
// other steps, also when the main step was cancelled or killed.
import * as core from '@actions/core'
import type { S3Location } from './aws/s3-location.ts'

const LOCK = 'lock'

/** What the post step needs to release the deploy lock the main step holds. */
export interface LockState {
  readonly location: S3Location
  readonly etag: string
  /** The holder's deployment: a renewal S3 applied after the last save is still its lock. */
  readonly deploymentId?: string
}

/** Saves the held lock (or clears it, with undefined) whenever its etag changes. */
export function saveLockState(state: LockState | undefined): void {
  core.saveState(LOCK, state ? JSON.stringify(state) : '')
}

/** The lock the main step left held, or undefined when it released it or never held one. */
export function readLockState(): LockState | undefined {
  return parseLockState(core.getState(LOCK))
}

/** Undefined for '' (core.getState of a step that never held the lock) or anything malformed. */
export function parseLockState(text: string): LockState | undefined {
  try {
    const v = JSON.parse(text) as {
      location?: { bucket?: unknown; key?: unknown }
      etag?: unknown
      deploymentId?: unknown
    }
    const { bucket, key } = v.location ?? {}
    if (typeof bucket !== 'string' || typeof key !== 'string' || typeof v.etag !== 'string')
      return undefined
    const deploymentId = typeof v.deploymentId === 'string' ? v.deploymentId : undefined
    return { location: { bucket, key }, etag: v.etag, ...(deploymentId ? { deploymentId } : {}) }
  } catch {
    return undefined
  }
}
