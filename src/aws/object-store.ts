// The S3 port: the only way the rollover logic reaches S3. Conditional writes are part of the
// port because the lock, the markers and the standby switch are compare-and-swap. The adapter
// is aws/s3.ts, the test double test/support/memory-store.ts.
import type { S3Location } from './s3-location.ts'

export interface ObjectHead {
  readonly etag: string
  readonly size: number
  readonly lastModified?: Date
}

export interface ObjectText extends ObjectHead {
  readonly body: string
}

export interface ListedObject extends ObjectHead {
  readonly key: string
}

/** Per-request options: an abort signal bounds a request that hangs (e.g. a lock renewal). */
export interface RequestOptions {
  readonly signal?: AbortSignal
}

/** Conditions for compare-and-swap writes. `ifNoneMatch` = create only. */
export interface WriteCondition {
  readonly ifNoneMatch?: true
  readonly ifMatch?: string
}

/** The first bytes of an object, read with a cap (diagnosis reads logs it did not write). */
export interface ObjectBytes {
  /** At most the `maxBytes` asked for: the whole object when it is smaller. */
  readonly bytes: Uint8Array
  /** The whole object's size, which may be more than `bytes` holds. */
  readonly size: number
}

export interface ReadBytesOptions {
  readonly maxBytes: number
  /** Where to start (default 0): a jar's central directory is at its end. */
  readonly offset?: number
  /** Aborts the request (a diagnosis must not hold up the run). */
  readonly signal?: AbortSignal
}

export interface UploadProgress {
  readonly loaded: number
  readonly total: number
}

/**
 * Thrown by ObjectStore when a conditional write or delete does not apply (HTTP 412), or loses a
 * race with a concurrent write (HTTP 409). Callers re-read and decide.
 */
export class PreconditionFailed extends Error {
  readonly location: S3Location
  readonly status: 409 | 412

  constructor(location: S3Location, status: 409 | 412) {
    super(`condition failed on s3://${location.bucket}/${location.key} (HTTP ${status})`)
    this.location = location
    this.status = status
    this.name = 'PreconditionFailed'
  }
}

/**
 * Thrown by ObjectStore.getBytes when S3 refuses the read (HTTP 403): the caller can say which
 * permission is missing instead of treating it as any other error.
 */
export class AccessDenied extends Error {
  readonly location: S3Location

  constructor(location: S3Location, detail?: string) {
    super(`access denied to s3://${location.bucket}/${location.key}${detail ? ` (${detail})` : ''}`)
    this.location = location
    this.name = 'AccessDenied'
  }
}

export interface ObjectStore {
  /** undefined when the object does not exist. */
  head(location: S3Location): Promise<ObjectHead | undefined>
  /** undefined when the object does not exist. */
  getText(location: S3Location, options?: RequestOptions): Promise<ObjectText | undefined>
  /** Every object whose key starts with `prefix.key + '/'`, all pages. */
  list(prefix: S3Location): Promise<ListedObject[]>
  /** Returns the new ETag. Throws PreconditionFailed when `condition` does not hold. */
  putText(
    location: S3Location,
    body: string,
    condition?: WriteCondition,
    options?: RequestOptions,
  ): Promise<string>
  /** Deleting a missing object succeeds. Throws PreconditionFailed when `ifMatch` does not hold. */
  delete(location: S3Location, condition?: { readonly ifMatch?: string }): Promise<void>
  /**
   * Optional (diagnosis and the standby jar check need it): `maxBytes` of an object from
   * `offset`, as bytes; undefined when it does not exist. Throws AccessDenied on HTTP 403.
   */
  getBytes?(location: S3Location, options: ReadBytesOptions): Promise<ObjectBytes | undefined>
  /** Uploads a local file (multipart when large), reporting progress. */
  uploadFile(
    location: S3Location,
    filePath: string,
    onProgress?: (progress: UploadProgress) => void,
  ): Promise<void>
}
