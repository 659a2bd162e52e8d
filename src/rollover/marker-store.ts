// Reads and writes the app's markers and the driver's reports through the ObjectStore port.
import {
  PreconditionFailed,
  type ObjectStore,
  type ObjectText,
  type WriteCondition,
} from '../aws/object-store.ts'
import { isTransient } from '../aws/transient.ts'
import {
  markerKeyOfReport,
  parseProgress,
  parseReady,
  PROGRESS_SUFFIX,
  READY_SUFFIX,
  type ProgressReport,
  type ReadyReport,
} from '../contract/reports.ts'
import { describeError } from '../errors.ts'
import { parseS3Location, s3Uri, type S3Location } from '../aws/s3-location.ts'
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
    const etag = await this.writeOwn(location, text, { ifNoneMatch: true })
    return { location, uri: s3Uri(location), etag, text, body }
  }

  /** Records the step id in the marker body, only if nobody changed or deleted the marker. */
  async attachStep(marker: Marker, stepId: string): Promise<Marker> {
    const body = { ...(marker.body as MarkerBody), stepId }
    const text = JSON.stringify(body, null, 2)
    const etag = await this.writeOwn(marker.location, text, { ifMatch: marker.etag })
    return { ...marker, etag, text, body }
  }

  /**
   * A conditional write whose answer may be lost: after a 412 (the SDK's retry met the object
   * its first attempt wrote) or a transient error, the object is read back, and if it holds
   * exactly what was written, the write happened. The body is unique (deployment id, time).
   */
  private async writeOwn(
    location: S3Location,
    text: string,
    condition: WriteCondition,
  ): Promise<string> {
    try {
      return await this.store.putText(location, text, condition)
    } catch (error) {
      if (!(error instanceof PreconditionFailed) && !isTransient(error)) throw error
      const now = await this.store.getText(location).catch(() => undefined)
      if (now?.body === text) return now.etag
      throw error
    }
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

  /** `<marker>.progress`, parsed; undefined when absent, unreadable or not a report. */
  async readProgress(
    markerUri: string,
  ): Promise<{ etag: string; report: ProgressReport } | undefined> {
    const read = await this.readReport(markerUri, PROGRESS_SUFFIX)
    const report = read && parseProgress(read.body)
    return read && report ? { etag: read.etag, report } : undefined
  }

  /** Whether `<marker>.ready` exists (a standby driver is up and waits for `run`). */
  async readReady(markerUri: string): Promise<ReadyReport | undefined> {
    const read = await this.readReport(markerUri, READY_SUFFIX)
    return read ? (parseReady(read.body) ?? {}) : undefined
  }

  private async readReport(markerUri: string, suffix: string): Promise<ObjectText | undefined> {
    const location = parseS3Location(`${markerUri}${suffix}`)
    if (!location) return undefined
    const read = await this.readOrWarn(location, `report ${suffix}`)
    return read === 'gone' || read === 'unreadable' ? undefined : read
  }

  /**
   * Rewrites the marker's mode to `run` with IfMatch (compare-and-swap): the standby driver may
   * now read its checkpoint. Throws PreconditionFailed when the marker changed or is gone.
   */
  async switchToRun(marker: Marker, retried = false): Promise<Marker> {
    const body = { ...(marker.body as MarkerBody), mode: 'run' as const }
    const text = JSON.stringify(body, null, 2)
    try {
      const etag = await this.writeOwn(marker.location, text, { ifMatch: marker.etag })
      return { ...marker, etag, text, body }
    } catch (error) {
      if (!(error instanceof PreconditionFailed) || retried) throw error
      // Our etag is stale (a lost answer to an earlier write of ours, e.g. the step id): the
      // marker is still this deployment's standby marker, so the swap is redone on what is
      // there now. Deleted or someone else's: the error stands.
      const now = await this.store.getText(marker.location)
      const fresh = now && parseMarkerBody(now.body)
      if (!now || fresh?.deploymentId !== marker.body?.deploymentId) throw error
      if (fresh?.mode !== 'standby') throw error
      return this.switchToRun({ ...marker, etag: now.etag, text: now.body, body: fresh }, true)
    }
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
    return {
      markerUri: `s3://${location.bucket}/${markerKey}`,
      location,
      body,
      ...(read.lastModified ? { writtenAt: read.lastModified } : {}),
    }
  }
}
