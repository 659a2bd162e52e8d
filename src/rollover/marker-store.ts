// Reads and writes the app's markers and the driver's reports through the ObjectStore port.
import type { ObjectStore, ObjectText, WriteCondition } from '../aws/object-store.ts'
import { isTransient } from '../aws/transient.ts'
import { markerKeyOfReport, PROGRESS_SUFFIX } from '../contract/reports.ts'
import { describeError } from '../errors.ts'
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
  private readonly warn: (message: string) => void

  constructor(store: ObjectStore, layout: AppLayout, warn: (message: string) => void = () => {}) {
    this.store = store
    this.layout = layout
    this.warn = warn
  }

  async scan(): Promise<MarkerScan> {
    const listed = await this.store.list(this.layout.markers)
    // Folder placeholders (keys ending in '/', as the S3 console makes them) are nobody's marker.
    const objects = listed.filter((o) => !o.key.endsWith('/'))
    const markerObjects = objects.filter((o) => markerKeyOfReport(o.key) === undefined)
    const ackObjects = objects.filter((o) => o.key.endsWith(ACK_SUFFIX))
    const progress = new Map(
      objects
        .filter((o) => o.key.endsWith(PROGRESS_SUFFIX))
        .map((o) => [this.uriOf(markerKeyOfReport(o.key) as string), o] as const),
    )
    const markers = await Promise.all(
      markerObjects.map(async (o): Promise<Marker | undefined> => {
        const location = { bucket: this.layout.markers.bucket, key: o.key }
        const read = await this.readOrWarn(location, 'marker')
        if (read === 'gone') return undefined // deleted since the listing
        if (read === 'unreadable') {
          // Still a marker: deleting it still stops its driver; it just cannot be put back.
          return { location, uri: s3Uri(location), etag: o.etag, text: '', unreadable: true }
        }
        return {
          location,
          uri: s3Uri(location),
          etag: read.etag,
          text: read.body,
          body: parseMarkerBody(read.body),
          ...(read.lastModified ? { lastModified: read.lastModified } : {}),
        }
      }),
    )
    const acks = await Promise.all(ackObjects.map((o) => this.readAckAt(o.key)))
    return {
      markers: markers.filter((m): m is Marker => m !== undefined),
      acks: acks.filter((a): a is StopAck => a !== undefined),
      progress,
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

  /**
   * The reports (`.stopped`, `.progress`, `.ready`) of markers that no longer exist: their
   * deployment is retired. Returns how many were removed.
   */
  async removeStaleReports(): Promise<number> {
    const listed = await this.store.list(this.layout.markers)
    const markers = new Set(
      listed.map((o) => o.key).filter((k) => markerKeyOfReport(k) === undefined),
    )
    const stale = listed.filter((o) => {
      const marker = markerKeyOfReport(o.key)
      return marker !== undefined && !markers.has(marker)
    })
    await Promise.all(
      stale.map((o) => this.store.delete({ bucket: this.layout.markers.bucket, key: o.key })),
    )
    return stale.length
  }

  async removeAcks(acks: readonly StopAck[]): Promise<void> {
    await Promise.all(acks.map((a) => this.store.delete(a.location)))
  }

  /** The object, 'gone', or 'unreadable' (403, a KMS key we may not use) with a warning. */
  private async readOrWarn(
    location: S3Location,
    what: string,
  ): Promise<ObjectText | 'gone' | 'unreadable'> {
    try {
      return (await this.store.getText(location)) ?? 'gone'
    } catch (error) {
      if (isTransient(error)) throw error
      this.warn(
        `Cannot read the ${what} ${s3Uri(location)} (${describeError(error)}); treating it as unreadable. Allow s3:GetObject (and kms:Decrypt for its key) on the marker prefix.`,
      )
      return 'unreadable'
    }
  }

  private uriOf(key: string): string {
    return `s3://${this.layout.markers.bucket}/${key}`
  }

  private async readAckAt(key: string): Promise<StopAck | undefined> {
    const location = { bucket: this.layout.markers.bucket, key }
    const read = await this.readOrWarn(location, 'acknowledgement')
    // An acknowledgement we cannot read is treated as absent: never as proof of a stop.
    if (read === 'gone' || read === 'unreadable') return undefined
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
