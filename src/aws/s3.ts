// The S3 adapter of the ObjectStore port. It only translates: conditions to S3 headers, S3
// errors to the port's outcomes (missing object -> undefined, lost condition ->
// PreconditionFailed). Markers, lock and records are built on top of it elsewhere.
import {
  requestHandlerOptions,
  resolveEndpoint,
  resolveRegion,
  USER_AGENT,
  type SocketTimeouts,
} from './endpoints.ts'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
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
} from './object-store.ts'
import type { S3Location } from './s3-location.ts'

export interface S3Options {
  /** Not read by the store (the client carries the region); kept so callers pass one bag. */
  readonly region?: string
  /** Account id; sent as ExpectedBucketOwner on every call so a hijacked bucket name fails. */
  readonly expectedBucketOwner?: string
  /** KMS key for SSE-KMS on every object this action writes. */
  readonly sseKmsKeyId?: string
  /** MaxKeys per ListObjectsV2 page; S3's (and the default) is 1000. Lets tests page cheaply. */
  readonly listPageSize?: number
}

const PART_SIZE = 8 * 1024 * 1024
const QUEUE_SIZE = 4

export function createS3Client(
  options: { region?: string; env?: NodeJS.ProcessEnv; timeouts?: SocketTimeouts } = {},
): S3Client {
  const env = options.env ?? process.env
  const region = resolveRegion(options.region, env)
  const endpoint = resolveEndpoint('S3', env)
  return new S3Client({
    region,
    customUserAgent: USER_AGENT,
    requestHandler: requestHandlerOptions(options.timeouts),
    ...(endpoint && {
      endpoint,
      // S3-compatible stores and emulators rarely serve virtual-hosted bucket names, and many
      // reject the flexible checksums the SDK adds by default since 2025.
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
  })
}

export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client
  private readonly options: S3Options

  constructor(client: S3Client, options: S3Options = {}) {
    this.client = client
    this.options = options
  }

  async head(location: S3Location): Promise<ObjectHead | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand(this.target(location)))
      return {
        etag: requireEtag(out.ETag, location),
        size: out.ContentLength ?? 0,
        ...(out.LastModified && { lastModified: out.LastModified }),
      }
    } catch (error) {
      if (isMissingObject(error)) return undefined
      throw error
    }
  }

  async getText(location: S3Location, options?: RequestOptions): Promise<ObjectText | undefined> {
    try {
      const out = await this.client.send(
        new GetObjectCommand(this.target(location)),
        abortable(options),
      )
      const body = (await out.Body?.transformToString('utf-8')) ?? ''
      return {
        body,
        etag: requireEtag(out.ETag, location),
        size: out.ContentLength ?? Buffer.byteLength(body),
        ...(out.LastModified && { lastModified: out.LastModified }),
      }
    } catch (error) {
      if (isMissingObject(error)) return undefined
      throw error
    }
  }

  async getBytes(
    location: S3Location,
    options: ReadBytesOptions,
  ): Promise<ObjectBytes | undefined> {
    const max = Math.max(1, Math.floor(options.maxBytes))
    const from = Math.max(0, Math.floor(options.offset ?? 0))
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          ...this.target(location),
          Range: `bytes=${from}-${from + max - 1}`,
        }),
        { abortSignal: options.signal },
      )
      const bytes = await readAtMost(out.Body as AsyncIterable<Uint8Array> | undefined, max)
      // "bytes 0-1023/5000": the whole size; without a range answer, the length is the whole.
      const total = /\/(\d+)$/.exec(out.ContentRange ?? '')?.[1]
      return {
        bytes,
        size: total === undefined ? (out.ContentLength ?? bytes.length) : Number(total),
      }
    } catch (error) {
      if (isMissingObject(error)) return undefined
      // A range on an empty object: S3 answers 416 InvalidRange.
      if (httpStatus(error) === 416) return { bytes: new Uint8Array(0), size: 0 }
      if (httpStatus(error) === 403 || errorName(error) === 'AccessDenied') {
        throw new AccessDenied(location, errorName(error))
      }
      throw error
    }
  }

  async list(prefix: S3Location): Promise<ListedObject[]> {
    const objects: ListedObject[] = []
    let token: string | undefined
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({
          Bucket: prefix.bucket,
          // The trailing '/' keeps `app` from matching `app-2`; an empty key lists the bucket.
          Prefix: prefix.key === '' ? '' : `${prefix.key}/`,
          ...(token !== undefined && { ContinuationToken: token }),
          ...(this.options.listPageSize !== undefined && { MaxKeys: this.options.listPageSize }),
          ...this.owner(),
        }),
      )
      for (const o of out.Contents ?? []) {
        if (o.Key === undefined) continue
        const location = { bucket: prefix.bucket, key: o.Key }
        objects.push({
          key: o.Key,
          etag: requireEtag(o.ETag, location),
          size: o.Size ?? 0,
          ...(o.LastModified && { lastModified: o.LastModified }),
        })
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined
    } while (token !== undefined)
    return objects
  }

  async putText(
    location: S3Location,
    body: string,
    condition?: WriteCondition,
    options?: RequestOptions,
  ): Promise<string> {
    const conditional = condition?.ifNoneMatch === true || condition?.ifMatch !== undefined
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          ...this.target(location),
          Body: body,
          ContentType: body.startsWith('{') ? 'application/json' : 'text/plain',
          ...(condition?.ifNoneMatch && { IfNoneMatch: '*' }),
          ...(condition?.ifMatch !== undefined && { IfMatch: condition.ifMatch }),
          ...this.encryption(),
        }),
        abortable(options),
      )
      return requireEtag(out.ETag, location)
    } catch (error) {
      if (!conditional) throw error
      // S3 answers If-Match on a missing key with 404 NoSuchKey: for the caller it is the same
      // stale view as a 412 (MemoryStore treats it so), and must not read as "bucket missing".
      if (condition?.ifMatch !== undefined && isMissingObject(error)) {
        throw new PreconditionFailed(location, 412)
      }
      throw asPreconditionFailed(error, location)
    }
  }

  async delete(location: S3Location, condition?: { readonly ifMatch?: string }): Promise<void> {
    try {
      await this.client.send(
        new DeleteObjectCommand({
          ...this.target(location),
          ...(condition?.ifMatch !== undefined && { IfMatch: condition.ifMatch }),
        }),
      )
    } catch (error) {
      // Plain deletes of a missing key already succeed (204); conditional ones answer 404.
      if (isMissingObject(error)) return
      if (condition?.ifMatch === undefined) throw error
      throw asPreconditionFailed(error, location)
    }
  }

  async uploadFile(
    location: S3Location,
    filePath: string,
    onProgress?: (progress: UploadProgress) => void,
  ): Promise<void> {
    const { size } = await stat(filePath)
    const params: PutObjectCommandInput = {
      ...this.target(location),
      Body: createReadStream(filePath),
      ContentLength: size,
      ...this.encryption(),
    }
    const upload = new Upload({
      client: this.client,
      params,
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      // An aborted multipart upload must not leave billed parts behind.
      leavePartsOnError: false,
    })
    if (onProgress) {
      upload.on('httpUploadProgress', (p) =>
        onProgress({ loaded: p.loaded ?? 0, total: p.total ?? size }),
      )
    }
    await upload.done()
  }

  private target(location: S3Location): {
    Bucket: string
    Key: string
    ExpectedBucketOwner?: string
  } {
    return { Bucket: location.bucket, Key: location.key, ...this.owner() }
  }

  private owner(): { ExpectedBucketOwner?: string } {
    const owner = this.options.expectedBucketOwner
    return owner ? { ExpectedBucketOwner: owner } : {}
  }

  private encryption(): Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'> {
    const key = this.options.sseKmsKeyId
    return key ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key } : {}
  }
}

function abortable(options: RequestOptions | undefined): { abortSignal?: AbortSignal } {
  return options?.signal ? { abortSignal: options.signal } : {}
}

/** The body's first `max` bytes; stops reading there even if the server ignored the range. */
async function readAtMost(
  body: AsyncIterable<Uint8Array> | undefined,
  max: number,
): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0)
  const chunks: Uint8Array[] = []
  let length = 0
  for await (const chunk of body) {
    chunks.push(chunk.subarray(0, max - length))
    length += Math.min(chunk.length, max - length)
    if (length >= max) break // leaving the loop destroys the stream
  }
  return Buffer.concat(chunks, length)
}

function asPreconditionFailed(error: unknown, location: S3Location): unknown {
  const status = httpStatus(error)
  return status === 412 || status === 409 ? new PreconditionFailed(location, status) : error
}

/** A missing key, but not a missing bucket: that is a configuration error and must surface. */
function isMissingObject(error: unknown): boolean {
  const name = errorName(error)
  if (name === 'NoSuchBucket') return false
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatus(error) === 404
}

function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined
}

function requireEtag(etag: string | undefined, location: S3Location): string {
  // Every conditional write depends on it; an S3-compatible store without ETags cannot host the lock.
  if (!etag) throw new Error(`S3 returned no ETag for s3://${location.bucket}/${location.key}`)
  return etag
}
