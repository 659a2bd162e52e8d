// The marker contract with the Spark driver (DESIGN.md): one object per deployment under
// <marker-prefix>/<app>/markers/. The driver runs while its marker exists; deleting it asks the
// driver to drain and exit. The driver may acknowledge with `<marker key>.stopped`.
import type { ObjectStore, WriteCondition } from '../aws/object-store.ts'
import { child, s3Uri, type S3Location } from '../aws/s3-location.ts'
import type { RunContext } from '../settings/github-run.ts'

export const ACK_SUFFIX = '.stopped'

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
  readonly github?: RunContext
}

export interface Marker {
  readonly location: S3Location
  readonly uri: string
  readonly etag: string
  /** The raw text, kept so a marker can be put back exactly as it was. */
  readonly text: string
  /** undefined when the object was not written by this action (e.g. an app's own marker). */
  readonly body?: MarkerBody
}

export interface StopAck {
  readonly markerUri: string
  readonly location: S3Location
  readonly body: Record<string, unknown>
}

/** Where everything of one app lives under the marker prefix. */
export class AppLayout {
  readonly app: S3Location
  readonly markers: S3Location
  readonly lock: S3Location
  readonly current: S3Location

  constructor(markerPrefix: S3Location, appName: string) {
    this.app = child(markerPrefix, appName)
    this.markers = child(this.app, 'markers')
    this.lock = child(this.app, 'lock')
    this.current = child(this.app, 'current.json')
  }

  marker(deploymentId: string): S3Location {
    return child(this.markers, deploymentId)
  }

  deploymentRecord(deploymentId: string): S3Location {
    return child(this.app, 'deployments', `${deploymentId}.json`)
  }
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
}

export class MarkerStore {
  private readonly store: ObjectStore
  readonly layout: AppLayout

  constructor(store: ObjectStore, layout: AppLayout) {
    this.store = store
    this.layout = layout
  }

  async scan(): Promise<MarkerScan> {
    const listed = await this.store.list(this.layout.markers)
    const markerObjects = listed.filter((o) => !o.key.endsWith(ACK_SUFFIX))
    const ackObjects = listed.filter((o) => o.key.endsWith(ACK_SUFFIX))
    const markers = await Promise.all(
      markerObjects.map(async (o): Promise<Marker | undefined> => {
        const location = { bucket: this.layout.markers.bucket, key: o.key }
        const read = await this.store.getText(location)
        if (!read) return undefined // deleted since the listing
        return {
          location,
          uri: s3Uri(location),
          etag: read.etag,
          text: read.body,
          body: parseMarkerBody(read.body),
        }
      }),
    )
    const acks = await Promise.all(ackObjects.map((o) => this.readAckAt(o.key)))
    return {
      markers: markers.filter((m): m is Marker => m !== undefined),
      acks: acks.filter((a): a is StopAck => a !== undefined),
    }
  }

  async create(deploymentId: string, body: MarkerBody): Promise<Marker> {
    const location = this.layout.marker(deploymentId)
    const text = JSON.stringify(body, null, 2)
    const etag = await this.store.putText(location, text, { ifNoneMatch: true })
    return { location, uri: s3Uri(location), etag, text, body }
  }

  /** Records the step id in the marker body, only if nobody changed or deleted the marker. */
  async attachStep(marker: Marker, stepId: string): Promise<Marker> {
    const body = { ...(marker.body as MarkerBody), stepId }
    const text = JSON.stringify(body, null, 2)
    const condition: WriteCondition = { ifMatch: marker.etag }
    const etag = await this.store.putText(marker.location, text, condition)
    return { ...marker, etag, text, body }
  }

  async remove(markers: readonly Marker[]): Promise<void> {
    await Promise.all(markers.map((m) => this.store.delete(m.location)))
  }

  /** Puts deleted markers back exactly as they were (create-only: never clobbers a newer one). */
  async restore(markers: readonly Marker[]): Promise<Marker[]> {
    return Promise.all(
      markers.map(async (m) => {
        const etag = await this.store.putText(m.location, m.text, { ifNoneMatch: true })
        return { ...m, etag }
      }),
    )
  }

  async readAck(marker: S3Location): Promise<StopAck | undefined> {
    return this.readAckAt(ackLocation(marker).key)
  }

  async removeAcks(acks: readonly StopAck[]): Promise<void> {
    await Promise.all(acks.map((a) => this.store.delete(a.location)))
  }

  private async readAckAt(key: string): Promise<StopAck | undefined> {
    const location = { bucket: this.layout.markers.bucket, key }
    const read = await this.store.getText(location)
    if (!read) return undefined
    let body: Record<string, unknown> = {}
    try {
      const parsed: unknown = JSON.parse(read.body)
      if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>
    } catch {
      body = { raw: read.body.slice(0, 500) }
    }
    const markerKey = key.slice(0, -ACK_SUFFIX.length)
    return { markerUri: `s3://${location.bucket}/${markerKey}`, location, body }
  }
}
