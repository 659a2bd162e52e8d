// Reads and writes the app's markers and the driver's reports through the ObjectStore port.
import type { ObjectStore, WriteCondition } from '../aws/object-store.ts'
import { s3Uri, type S3Location } from '../aws/s3-location.ts'
import type { AppLayout } from '../contract/layout.ts'
import {
  ACK_SUFFIX,
  ackLocation,
  parseMarkerBody,
  type Marker,
  type MarkerBody,
  type MarkerScan,
  type StopAck,
} from '../contract/markers.ts'

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
