// The deploy lock's object in S3: its body, who holds it, and the conditional release the post
// step uses (post.ts imports this and the S3 adapter only, never EMR).
import { PreconditionFailed, type ObjectStore } from '../aws/object-store.ts'
import { s3Uri, type S3Location } from '../aws/s3-location.ts'
import type { Log } from '../log.ts'
import type { RunContext } from '../settings/github-run.ts'

export type { LockState } from '../state.ts'

export interface LockOwner {
  deploymentId: string
  repository?: string
  runId?: string
  runAttempt?: string
  runUrl?: string
  actor?: string
}

export interface LockBody {
  readonly version: 1
  readonly owner: LockOwner
  readonly acquiredAt: string
  readonly renewedAt: string
  /** For people reading the object: the holder's own clock. Never compared by a waiter. */
  readonly expiresAt: string
  /** How long the holder's lease lasts: a waiter takes over once the object is unchanged for it. */
  readonly leaseMs?: number
  /** Unique per write, so a holder can recognise its own write behind a lost response. */
  readonly token?: string
}

/** What a waiter knows of the lock's holder: its body, if it could be read. */
export interface Holder {
  readonly body?: LockBody
  readonly lastModified?: Date
}

export function lockOwner(deploymentId: string, run: RunContext): LockOwner {
  const { repository, runId, runAttempt, runUrl, actor } = run
  return { deploymentId, repository, runId, runAttempt, runUrl, actor }
}

/** Deletes the lock only if it is still the version `etag` names (for the post step). */
export async function releaseLockByEtag(
  store: ObjectStore,
  location: S3Location,
  etag: string,
  log: Log,
  /** The holder's own deployment: a version it wrote later (a renewal that landed after its
   * loop was stopped) is still its lock to delete. */
  ownDeploymentId?: string,
): Promise<'released' | 'not-held'> {
  // Retried because a 409 from a concurrent write says nothing about who holds the lock now.
  for (let i = 0; i < 3; i++) {
    const current = await store.getText(location)
    if (!current) {
      log.info(`The deploy lock ${s3Uri(location)} was already gone.`)
      return 'not-held'
    }
    const body = parseLockBody(current.body)
    if (current.etag !== etag && ownDeploymentId && body?.owner.deploymentId === ownDeploymentId) {
      etag = current.etag
    }
    if (current.etag !== etag) {
      const holder = describeHolder({
        body,
        lastModified: current.lastModified,
      })
      log.warning(`The deploy lock ${s3Uri(location)} is now held by ${holder}; left it in place.`)
      return 'not-held'
    }
    try {
      await store.delete(location, { ifMatch: etag })
      log.info(`Released the deploy lock ${s3Uri(location)}.`)
      return 'released'
    } catch (error) {
      if (!(error instanceof PreconditionFailed)) throw error
    }
  }
  log.warning(`The deploy lock ${s3Uri(location)} kept changing; left it in place.`)
  return 'not-held'
}

export function parseLockBody(text: string): LockBody | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockBody> | null
    if (v?.version !== 1 || typeof v.owner?.deploymentId !== 'string') return undefined
    if (typeof v.expiresAt !== 'string' || Number.isNaN(Date.parse(v.expiresAt))) return undefined
    return v as LockBody
  } catch {
    return undefined
  }
}

export function describeHolder(holder: Holder | undefined): string {
  if (!holder) return 'an unknown holder'
  const { body, lastModified } = holder
  if (!body)
    return `an unreadable lock object (last written ${lastModified?.toISOString() ?? 'at an unknown time'})`
  const o = body.owner
  const run = o.repository && o.runId ? `${o.repository} run ${o.runId}` : 'an unknown run'
  return `${o.runUrl ?? run} (deployment ${o.deploymentId}, last renewed ${body.renewedAt} by its clock)`
}
