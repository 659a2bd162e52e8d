// The marker contract with the Spark driver (DESIGN.md): one object per deployment under
// <marker-prefix>/<app>/markers/. The driver runs while its marker exists; deleting it asks the
// driver to drain and exit. The driver may acknowledge with `<marker key>.stopped`.
import type { S3Location } from '../aws/s3-location.ts'
import type { RunContext } from '../settings/github-run.ts'

import { STOPPED_SUFFIX } from './reports.ts'

export const ACK_SUFFIX = STOPPED_SUFFIX

export interface MarkerBody {
  readonly version: 1
  readonly app: string
  readonly deploymentId: string
  readonly clusterId: string
  readonly jar: string
  readonly createdAt: string
  readonly stepId?: string
  /** Set on a marker written by a rollback, naming the deployment that failed. */
  readonly rollbackOf?: string
  /** `standby`: Spark may start, the checkpoint may not be read, until the action writes `run`. */
  readonly mode?: MarkerMode
  readonly github?: RunContext
}

export type MarkerMode = 'run' | 'standby'

/** What a driver reads from any marker text: `standby` only when a version-1 body says so. */
export function markerMode(text: string): MarkerMode {
  return parseMarkerBody(text)?.mode === 'standby' ? 'standby' : 'run'
}

export interface Marker {
  readonly location: S3Location
  readonly uri: string
  readonly etag: string
  /** The raw text, kept so a marker can be put back exactly as it was. */
  readonly text: string
  /** undefined when the object was not written by this action (e.g. an app's own marker). */
  readonly body?: MarkerBody
  /** It exists but this run may not read it (403, KMS): it can be deleted, not restored. */
  readonly unreadable?: boolean
  /** S3's LastModified: when it was written, on AWS's clock. */
  readonly lastModified?: Date
}

export interface StopAck {
  readonly markerUri: string
  readonly location: S3Location
  readonly body: Record<string, unknown>
}

export function ackLocation(marker: S3Location): S3Location {
  return { bucket: marker.bucket, key: `${marker.key}${ACK_SUFFIX}` }
}

export function parseMarkerBody(text: string): MarkerBody | undefined {
  try {
    const value = JSON.parse(text) as Partial<MarkerBody>
    if (value && value.version === 1 && typeof value.deploymentId === 'string') {
      return value as MarkerBody
    }
  } catch {
    // Not ours: an application may keep its own marker here (keyed by its YARN application id).
  }
  return undefined
}

export interface MarkerScan {
  readonly markers: readonly Marker[]
  readonly acks: readonly StopAck[]
  /** `<marker>.progress` objects as listed (their LastModified says when), by marker URI. */
  readonly progress: ReadonlyMap<string, { readonly etag: string; readonly lastModified?: Date }>
}
