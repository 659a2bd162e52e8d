// What the S3 adapter sends and how it reads S3's answers, with the client mocked. The wire
// behaviour (does S3/moto honour these headers) is in test/integration/store.moto.test.ts.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { mockClient } from 'aws-sdk-client-mock'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { USER_AGENT } from '../../../src/aws/endpoints.ts'
import { S3ObjectStore, createS3Client } from '../../../src/aws/s3.ts'
import {
  AccessDenied,
  PreconditionFailed,
  type UploadProgress,
} from '../../../src/aws/object-store.ts'

const s3 = mockClient(S3Client)
const client = new S3Client({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
})
const OWNER = '111122223333'
const KMS = 'arn:aws:kms:us-east-1:111122223333:key/k'
const loc = { bucket: 'bkt', key: 'p/app/lock' }
const store = new S3ObjectStore(client, { expectedBucketOwner: OWNER })
const plain = new S3ObjectStore(client, {})

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  })
}

beforeEach(() => {
  s3.reset()
})

describe('createS3Client', () => {
  const regionOf = (options: Parameters<typeof createS3Client>[0]) =>
    createS3Client(options).config.region()

  it('takes the region from the option, then AWS_REGION, AWS_DEFAULT_REGION, us-east-1', async () => {
    const env = { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-central-1' }
    expect(await regionOf({ region: 'ap-south-1', env })).toBe('ap-south-1')
    expect(await regionOf({ env })).toBe('eu-west-1')
    expect(await regionOf({ env: { AWS_DEFAULT_REGION: 'eu-central-1' } })).toBe('eu-central-1')
    expect(await regionOf({ env: { AWS_REGION: ' ' } })).toBe('us-east-1')
  })

  it('uses AWS, virtual-hosted style, without an endpoint or when told to ignore it', () => {
    const ignore = {
      AWS_ENDPOINT_URL_S3: 'http://h:1',
      AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true',
    }
    for (const env of [{}, ignore]) {
      const c = createS3Client({ env })
      expect(c.config.forcePathStyle).toBe(false)
      expect(c.config.isCustomEndpoint).toBe(false)
      expect(JSON.stringify(c.config.customUserAgent)).toContain(USER_AGENT)
    }
  })

  it('goes path-style to AWS_ENDPOINT_URL_S3, which wins over AWS_ENDPOINT_URL', async () => {
    const both = createS3Client({
      env: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4566', AWS_ENDPOINT_URL: 'http://other:1' },
    })
    expect(both.config.forcePathStyle).toBe(true)
    expect(await both.config.endpoint?.()).toMatchObject({ hostname: '127.0.0.1', port: 4566 })
    expect(await both.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED')

    const generic = createS3Client({ env: { AWS_ENDPOINT_URL: 'http://minio:9000' } })
    expect(generic.config.forcePathStyle).toBe(true)
    expect(await generic.config.endpoint?.()).toMatchObject({ hostname: 'minio', port: 9000 })
  })
})

describe('head and getText', () => {
  it('sends ExpectedBucketOwner and maps the answer', async () => {
    const lastModified = new Date('2025-01-02T03:04:05Z')
    s3.on(HeadObjectCommand).resolves({
      ETag: '"e1"',
      ContentLength: 7,
      LastModified: lastModified,
    })
    expect(await store.head(loc)).toEqual({ etag: '"e1"', size: 7, lastModified })
    expect(s3).toHaveReceivedCommandWith(HeadObjectCommand, {
      Bucket: 'bkt',
      Key: 'p/app/lock',
      ExpectedBucketOwner: OWNER,
    })
  })

  it('omits ExpectedBucketOwner when none is given', async () => {
    s3.on(HeadObjectCommand).resolves({ ETag: '"e1"', ContentLength: 0 })
    await plain.head(loc)
    expect(s3.commandCalls(HeadObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'bkt',
      Key: 'p/app/lock',
    })
  })

  it('reads the body as UTF-8', async () => {
    const body = {
      transformToString: async (encoding?: string) => (encoding === 'utf-8' ? '{"a":"✓"}' : '?'),
    }
    s3.on(GetObjectCommand).resolves({ Body: body as never, ETag: '"e2"', ContentLength: 11 })
    expect(await store.getText(loc)).toEqual({ body: '{"a":"✓"}', etag: '"e2"', size: 11 })
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { ExpectedBucketOwner: OWNER })
  })

  it.each([
    ['NotFound', 404],
    ['NoSuchKey', 404],
  ])('returns undefined on %s', async (name, status) => {
    s3.on(HeadObjectCommand).rejects(s3Error(name, status))
    s3.on(GetObjectCommand).rejects(s3Error(name, status))
    expect(await store.head(loc)).toBeUndefined()
    expect(await store.getText(loc)).toBeUndefined()
  })

  it.each([
    ['NoSuchBucket', 404],
    ['AccessDenied', 403],
  ])('rethrows %s', async (name, status) => {
    s3.on(HeadObjectCommand).rejects(s3Error(name, status))
    s3.on(GetObjectCommand).rejects(s3Error(name, status))
    await expect(store.head(loc)).rejects.toMatchObject({ name })
    await expect(store.getText(loc)).rejects.toMatchObject({ name })
  })
})

describe('getBytes', () => {
  async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
    for (const part of parts) yield Buffer.from(part)
  }

  it('asks for the first bytes only, and gives the whole size from Content-Range', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: chunks('abc', 'de') as never,
      ContentRange: 'bytes 0-4/5000',
      ContentLength: 5,
    })
    const read = await store.getBytes(loc, { maxBytes: 5 })
    expect(Buffer.from(read?.bytes ?? []).toString()).toBe('abcde')
    expect(read?.size).toBe(5000)
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, {
      Bucket: 'bkt',
      Key: 'p/app/lock',
      Range: 'bytes=0-4',
      ExpectedBucketOwner: OWNER,
    })
  })

  it('stops reading at the cap when the server ignores the range', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: chunks('abc', 'defgh', 'ijk') as never,
      ContentLength: 11,
    })
    const read = await store.getBytes(loc, { maxBytes: 4 })
    expect(Buffer.from(read?.bytes ?? []).toString()).toBe('abcd')
    expect(read?.size).toBe(11)
  })

  it('passes the abort signal to the request', async () => {
    s3.on(GetObjectCommand).resolves({ Body: chunks('x') as never })
    const controller = new AbortController()
    await store.getBytes(loc, { maxBytes: 1, signal: controller.signal })
    const args: unknown[] = s3.commandCalls(GetObjectCommand)[0]?.args ?? []
    expect(args[1]).toMatchObject({
      abortSignal: controller.signal,
    })
  })

  it('undefined when missing, empty on an empty object (416), AccessDenied on 403', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('NoSuchKey', 404))
    expect(await store.getBytes(loc, { maxBytes: 10 })).toBeUndefined()
    s3.on(GetObjectCommand).rejects(s3Error('InvalidRange', 416))
    expect(await store.getBytes(loc, { maxBytes: 10 })).toEqual({
      bytes: new Uint8Array(0),
      size: 0,
    })
    s3.on(GetObjectCommand).rejects(s3Error('AccessDenied', 403))
    await expect(store.getBytes(loc, { maxBytes: 10 })).rejects.toBeInstanceOf(AccessDenied)
    s3.on(GetObjectCommand).rejects(s3Error('NoSuchBucket', 404))
    await expect(store.getBytes(loc, { maxBytes: 10 })).rejects.toMatchObject({
      name: 'NoSuchBucket',
    })
  })
})

describe('list', () => {
  it('pages with ContinuationToken under key + "/"', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        IsTruncated: true,
        NextContinuationToken: 't1',
        Contents: [{ Key: 'm/a', ETag: '"1"', Size: 1 }],
      })
      .resolvesOnce({ IsTruncated: false, Contents: [{ Key: 'm/b', ETag: '"2"', Size: 2 }] })
    const listed = await store.list({ bucket: 'bkt', key: 'm' })
    expect(listed).toEqual([
      { key: 'm/a', etag: '"1"', size: 1 },
      { key: 'm/b', etag: '"2"', size: 2 },
    ])
    const inputs = s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input)
    expect(inputs).toEqual([
      { Bucket: 'bkt', Prefix: 'm/', ExpectedBucketOwner: OWNER },
      { Bucket: 'bkt', Prefix: 'm/', ContinuationToken: 't1', ExpectedBucketOwner: OWNER },
    ])
  })

  it('returns [] for an empty prefix answer and passes MaxKeys when a page size is set', async () => {
    s3.on(ListObjectsV2Command).resolves({ KeyCount: 0 })
    const small = new S3ObjectStore(client, { listPageSize: 5 })
    expect(await small.list({ bucket: 'bkt', key: 'm' })).toEqual([])
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, { MaxKeys: 5 })
  })
})

describe('putText', () => {
  it('sends JSON as application/json, create-only with IfNoneMatch, and returns the ETag', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"new"' })
    expect(await store.putText(loc, '{"x":1}', { ifNoneMatch: true })).toBe('"new"')
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'bkt',
      Key: 'p/app/lock',
      ExpectedBucketOwner: OWNER,
      Body: '{"x":1}',
      ContentType: 'application/json',
      IfNoneMatch: '*',
    })
  })

  it('sends other text as text/plain, compare-and-swap with IfMatch, with SSE-KMS', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"new"' })
    const kms = new S3ObjectStore(client, { sseKmsKeyId: KMS })
    await kms.putText(loc, 'hello', { ifMatch: '"old"' })
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'bkt',
      Key: 'p/app/lock',
      Body: 'hello',
      ContentType: 'text/plain',
      IfMatch: '"old"',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: KMS,
    })
  })

  it('sends no condition headers for an unconditional put', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"new"' })
    await plain.putText(loc, '{}')
    const input = s3.commandCalls(PutObjectCommand)[0]?.args[0].input
    expect(input).not.toHaveProperty('IfMatch')
    expect(input).not.toHaveProperty('IfNoneMatch')
    expect(input).not.toHaveProperty('ServerSideEncryption')
  })

  it.each([
    ['PreconditionFailed', 412, { ifNoneMatch: true as const }, 412],
    ['PreconditionFailed', 412, { ifMatch: '"old"' }, 412],
    ['ConditionalRequestConflict', 409, { ifMatch: '"old"' }, 409],
    ['ConditionalRequestConflict', 409, { ifNoneMatch: true as const }, 409],
    ['NoSuchKey', 404, { ifMatch: '"old"' }, 412],
  ])('maps %s (%i) with %o to PreconditionFailed %i', async (name, status, condition, expected) => {
    s3.on(PutObjectCommand).rejects(s3Error(name, status))
    const error = await store.putText(loc, '{}', condition).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PreconditionFailed)
    expect(error).toMatchObject({ status: expected, location: loc })
  })

  it('rethrows other errors, and 409 on an unconditional put', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('NoSuchBucket', 404))
    await expect(store.putText(loc, '{}', { ifMatch: '"e"' })).rejects.toMatchObject({
      name: 'NoSuchBucket',
    })
    s3.on(PutObjectCommand).rejects(s3Error('InternalError', 500))
    await expect(store.putText(loc, '{}', { ifNoneMatch: true })).rejects.toMatchObject({
      name: 'InternalError',
    })
    s3.on(PutObjectCommand).rejects(s3Error('OperationAborted', 409))
    await expect(store.putText(loc, '{}')).rejects.toMatchObject({ name: 'OperationAborted' })
  })

  it('fails loudly when S3 returns no ETag', async () => {
    s3.on(PutObjectCommand).resolves({})
    await expect(store.putText(loc, '{}')).rejects.toThrow(/no ETag/)
  })
})

describe('delete', () => {
  it('sends IfMatch and ExpectedBucketOwner', async () => {
    s3.on(DeleteObjectCommand).resolves({})
    await store.delete(loc, { ifMatch: '"e"' })
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'bkt',
      Key: 'p/app/lock',
      ExpectedBucketOwner: OWNER,
      IfMatch: '"e"',
    })
  })

  it('succeeds when the object is missing', async () => {
    s3.on(DeleteObjectCommand).rejects(s3Error('NoSuchKey', 404))
    await expect(store.delete(loc, { ifMatch: '"e"' })).resolves.toBeUndefined()
    await expect(store.delete(loc)).resolves.toBeUndefined()
  })

  it.each([
    ['PreconditionFailed', 412],
    ['ConditionalRequestConflict', 409],
  ] as const)('maps %s to PreconditionFailed', async (name, status) => {
    s3.on(DeleteObjectCommand).rejects(s3Error(name, status))
    await expect(store.delete(loc, { ifMatch: '"e"' })).rejects.toEqual(
      new PreconditionFailed(loc, status),
    )
  })

  it('rethrows a missing bucket and other errors', async () => {
    s3.on(DeleteObjectCommand).rejects(s3Error('NoSuchBucket', 404))
    await expect(store.delete(loc)).rejects.toMatchObject({ name: 'NoSuchBucket' })
    s3.on(DeleteObjectCommand).rejects(s3Error('AccessDenied', 403))
    await expect(store.delete(loc, { ifMatch: '"e"' })).rejects.toMatchObject({
      name: 'AccessDenied',
    })
  })
})

describe('uploadFile', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'store-unit-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  async function file(name: string, size: number): Promise<string> {
    const path = join(dir, name)
    await writeFile(path, Buffer.alloc(size, 7))
    return path
  }

  const sse = { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: KMS }
  const encrypted = new S3ObjectStore(client, { expectedBucketOwner: OWNER, sseKmsKeyId: KMS })
  const jar = { bucket: 'bkt', key: 'artifacts/app/abc.jar' }

  it('puts a small file in one request with SSE-KMS and the bucket owner', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e"' })
    const progress: UploadProgress[] = []
    await encrypted.uploadFile(jar, await file('small.jar', 1000), (p) => progress.push(p))
    expect(s3).toHaveReceivedCommandOnce(PutObjectCommand)
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'bkt',
      Key: 'artifacts/app/abc.jar',
      ExpectedBucketOwner: OWNER,
      ...sse,
    })
    expect(s3).not.toHaveReceivedCommand(CreateMultipartUploadCommand)
    expect(progress).toEqual([{ loaded: 1000, total: 1000 }])
  })

  it('uploads a file over 8 MiB in 8 MiB parts', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' })
    s3.on(UploadPartCommand).resolves({ ETag: '"p"' })
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"e-2"' })
    const size = 9 * 1024 * 1024
    const progress: UploadProgress[] = []
    await encrypted.uploadFile(jar, await file('big.jar', size), (p) => progress.push(p))

    expect(s3).toHaveReceivedCommandWith(CreateMultipartUploadCommand, {
      ExpectedBucketOwner: OWNER,
      ...sse,
    })
    const parts = s3.commandCalls(UploadPartCommand).map((c) => c.args[0].input)
    expect(parts.map((p) => [p.PartNumber, p.UploadId, p.ExpectedBucketOwner])).toEqual([
      [1, 'u1', OWNER],
      [2, 'u1', OWNER],
    ])
    expect(s3).toHaveReceivedCommandWith(CompleteMultipartUploadCommand, { UploadId: 'u1' })
    expect(progress.at(-1)).toEqual({ loaded: size, total: size })
    expect(progress.every((p) => p.total === size)).toBe(true)
  })

  it('aborts the multipart upload when a part fails', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u2' })
    s3.on(UploadPartCommand).rejects(s3Error('InternalError', 500))
    s3.on(AbortMultipartUploadCommand).resolves({})
    await expect(
      plain.uploadFile(jar, await file('bad.jar', 9 * 1024 * 1024)),
    ).rejects.toMatchObject({
      name: 'InternalError',
    })
    expect(s3).toHaveReceivedCommandWith(AbortMultipartUploadCommand, { UploadId: 'u2' })
  })
})
