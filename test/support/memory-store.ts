// An in-memory ObjectStore with S3's conditional-write semantics, for unit tests of the logic
// above the S3 port. It records every call so tests can assert what was (not) mutated.
import { readFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import {
  AccessDenied,
  PreconditionFailed,
  type ListedObject,
  type ObjectBytes,
  type ObjectHead,
  type ObjectStore,
  type ObjectText,
  type RequestOptions,
  type ReadBytesOptions,
  type UploadProgress,
  type WriteCondition,
} from '../../src/aws/object-store.ts'
import type { S3Location } from '../../src/aws/s3-location.ts'

interface StoredObject {
  body: string
  /** Set by seedBytes: the exact bytes (binary objects such as gzip logs). */
  bytes?: Buffer
  etag: string
  lastModified: Date
}

export interface StoreCall {
  readonly op: 'head' | 'getText' | 'getBytes' | 'list' | 'putText' | 'delete' | 'uploadFile'
  readonly uri: string
}

const MUTATING = new Set(['putText', 'delete', 'uploadFile'])

export class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, StoredObject>()
  readonly calls: StoreCall[] = []
  /**
   * URIs whose reads S3 refuses with AccessDenied (no s3:GetObject, or a KMS key the role may not
   * use): getBytes always; getText once the object exists (with s3:ListBucket a missing key is a
   * 404 either way).
   */
  readonly denied = new Set<string>()
  private version = 0
  /** Hook to inject failures or races: runs before each call; may throw, or hang. */
  beforeCall?: (call: StoreCall) => void | Promise<void>
  /**
   * Runs after a write or delete was applied; throwing here is a response lost on the way back
   * (S3 did it, the client sees an error and may retry).
   */
  afterWrite?: (call: StoreCall) => void | Promise<void>

  private readonly now: () => number

  constructor(now: () => number = () => Date.now()) {
    this.now = now
  }

  get mutations(): StoreCall[] {
    return this.calls.filter((c) => MUTATING.has(c.op))
  }

  private async record(
    op: StoreCall['op'],
    location: S3Location,
    options?: RequestOptions,
  ): Promise<StoreCall> {
    const call = { op, uri: `s3://${location.bucket}/${location.key}` }
    this.calls.push(call)
    const signal = options?.signal
    signal?.throwIfAborted()
    const before = Promise.resolve(this.beforeCall?.(call))
    if (!signal) {
      await before
      return call
    }
    // A hanging hook is a hanging request: the caller's signal ends it, as it would the SDK's.
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      before.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
    return call
  }

  /** Test helper: put without recording a call. */
  seed(uri: string, body: string): void {
    this.objects.set(uri, this.makeObject(body))
  }

  /** Test helper: put binary content (e.g. a gzip log) without recording a call. */
  seedBytes(uri: string, bytes: Uint8Array): void {
    const buffer = Buffer.from(bytes)
    this.objects.set(uri, { ...this.makeObject(buffer.toString('latin1')), bytes: buffer })
  }

  text(uri: string): string | undefined {
    return this.objects.get(uri)?.body
  }

  json<T = unknown>(uri: string): T | undefined {
    const body = this.text(uri)
    return body === undefined ? undefined : (JSON.parse(body) as T)
  }

  keysUnder(uriPrefix: string): string[] {
    return [...this.objects.keys()].filter((k) => k.startsWith(uriPrefix)).sort()
  }

  private makeObject(body: string): StoredObject {
    this.version += 1
    const etag = `"${createHash('md5').update(`${this.version}:${body}`).digest('hex')}"`
    return { body, etag, lastModified: new Date(this.now()) }
  }

  async head(location: S3Location): Promise<ObjectHead | undefined> {
    await this.record('head', location)
    const o = this.objects.get(uriOf(location))
    return o && { etag: o.etag, size: Buffer.byteLength(o.body), lastModified: o.lastModified }
  }

  async getText(location: S3Location, options?: RequestOptions): Promise<ObjectText | undefined> {
    await this.record('getText', location, options)
    const o = this.objects.get(uriOf(location))
    if (o && this.denied.has(uriOf(location))) throw new AccessDenied(location, 'AccessDenied')
    return (
      o && {
        body: o.body,
        etag: o.etag,
        size: Buffer.byteLength(o.body),
        lastModified: o.lastModified,
      }
    )
  }

  async getBytes(
    location: S3Location,
    options: ReadBytesOptions,
  ): Promise<ObjectBytes | undefined> {
    await this.record('getBytes', location)
    const uri = uriOf(location)
    if (this.denied.has(uri)) throw new AccessDenied(location, 'AccessDenied')
    const o = this.objects.get(uri)
    if (!o) return undefined
    const all = o.bytes ?? Buffer.from(o.body, 'utf8')
    const from = options.offset ?? 0
    return { bytes: all.subarray(from, from + Math.max(0, options.maxBytes)), size: all.length }
  }

  async list(prefix: S3Location): Promise<ListedObject[]> {
    await this.record('list', prefix)
    const start = `s3://${prefix.bucket}/${prefix.key}/`
    return [...this.objects.entries()]
      .filter(([uri]) => uri.startsWith(start))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([uri, o]) => ({
        key: uri.slice(`s3://${prefix.bucket}/`.length),
        etag: o.etag,
        size: Buffer.byteLength(o.body),
        lastModified: o.lastModified,
      }))
  }

  async putText(
    location: S3Location,
    body: string,
    condition?: WriteCondition,
    options?: RequestOptions,
  ): Promise<string> {
    const call = await this.record('putText', location, options)
    const uri = uriOf(location)
    const existing = this.objects.get(uri)
    if (condition?.ifNoneMatch && existing) throw new PreconditionFailed(location, 412)
    if (condition?.ifMatch !== undefined && existing?.etag !== condition.ifMatch) {
      throw new PreconditionFailed(location, 412)
    }
    const stored = this.makeObject(body)
    this.objects.set(uri, stored)
    await this.afterWrite?.(call)
    return stored.etag
  }

  async delete(location: S3Location, condition?: { readonly ifMatch?: string }): Promise<void> {
    const call = await this.record('delete', location)
    const uri = uriOf(location)
    const existing = this.objects.get(uri)
    if (condition?.ifMatch !== undefined && existing && existing.etag !== condition.ifMatch) {
      throw new PreconditionFailed(location, 412)
    }
    this.objects.delete(uri)
    await this.afterWrite?.(call)
  }

  async uploadFile(
    location: S3Location,
    filePath: string,
    onProgress?: (progress: UploadProgress) => void,
  ): Promise<void> {
    await this.record('uploadFile', location)
    const data = await readFile(filePath)
    onProgress?.({ loaded: data.length, total: data.length })
    this.objects.set(uriOf(location), this.makeObject(data.toString('latin1')))
  }
}

function uriOf(location: S3Location): string {
  return `s3://${location.bucket}/${location.key}`
}
