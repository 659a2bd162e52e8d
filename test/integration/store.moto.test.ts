// The S3 adapter against a real S3 wire protocol (moto_server): conditional writes, pagination
// and multipart uploads are where a mock would only echo our own assumptions back.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { S3ObjectStore, createS3Client } from '../../src/aws/s3.ts'
import { PreconditionFailed, type UploadProgress } from '../../src/aws/object-store.ts'
import type { S3Location } from '../../src/aws/s3-location.ts'
import { MOTO_ACCOUNT_ID, createBucket, describeWithMoto } from '../support/moto.ts'

const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/0000-test'

describeWithMoto('S3ObjectStore against moto_server', (moto) => {
  let bucket: string
  let store: S3ObjectStore
  const at = (key: string): S3Location => ({ bucket, key })

  beforeEach(async () => {
    bucket = await createBucket(moto.client)
    store = new S3ObjectStore(moto.client, {})
  })

  describe('read and write', () => {
    it('puts, gets and heads text, with matching etags and content types', async () => {
      const etag = await store.putText(at('app/markers/d1'), '{"step":"s-1"}')
      expect(etag).toMatch(/^".+"$/)
      const text = await store.getText(at('app/markers/d1'))
      expect(text).toMatchObject({ body: '{"step":"s-1"}', etag, size: 14 })
      expect(text?.lastModified).toBeInstanceOf(Date)
      expect(await store.head(at('app/markers/d1'))).toMatchObject({ etag, size: 14 })

      await store.putText(at('app/plain'), 'hello ✓')
      const raw = await moto.client.send(
        new HeadObjectCommand({ Bucket: bucket, Key: 'app/plain' }),
      )
      expect(raw.ContentType).toBe('text/plain')
      const json = await moto.client.send(
        new HeadObjectCommand({ Bucket: bucket, Key: 'app/markers/d1' }),
      )
      expect(json.ContentType).toBe('application/json')
      expect((await store.getText(at('app/plain')))?.body).toBe('hello ✓')
    })

    it('returns undefined for a missing object, and surfaces a missing bucket', async () => {
      expect(await store.head(at('nope'))).toBeUndefined()
      expect(await store.getText(at('nope'))).toBeUndefined()
      await expect(store.getText({ bucket: `${bucket}-missing`, key: 'k' })).rejects.toMatchObject({
        name: 'NoSuchBucket',
      })
    })

    it('lists only keys under prefix + "/", across several pages', async () => {
      // 1000-key pages would need 1000+ PUTs (~7 s on moto); a small page proves the same loop.
      const keys = Array.from(
        { length: 25 },
        (_, i) => `app/markers/m-${String(i).padStart(4, '0')}`,
      )
      await inBatches(keys, 8, (key) =>
        moto.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' })),
      )
      await store.putText(at('app-2/markers/other'), 'y')
      await store.putText(at('app/markers'), 'not under the prefix')

      const paged = new S3ObjectStore(moto.client, { listPageSize: 10 })
      const send = vi.spyOn(moto.client, 'send')
      const listed = await paged.list(at('app/markers'))
      expect(send).toHaveBeenCalledTimes(3)
      send.mockRestore()
      expect(listed).toHaveLength(25)
      expect(listed.map((o) => o.key).sort()).toEqual(keys)
      expect(listed[0]).toMatchObject({ size: 1, etag: expect.stringMatching(/^".+"$/) })
      expect(await store.list(at('app/markers'))).toEqual(listed)
      expect(await store.list(at('empty'))).toEqual([])
    })
  })

  describe('conditional writes', () => {
    it('create-only put fails the second time with 412', async () => {
      const first = await store.putText(at('lock'), '{"owner":"a"}', { ifNoneMatch: true })
      const second = store.putText(at('lock'), '{"owner":"b"}', { ifNoneMatch: true })
      await expect(second).rejects.toBeInstanceOf(PreconditionFailed)
      await expect(second).rejects.toMatchObject({ status: 412 })
      expect(await store.getText(at('lock'))).toMatchObject({ body: '{"owner":"a"}', etag: first })
    })

    it('compare-and-swap with IfMatch: right etag wins, stale etag fails', async () => {
      const v1 = await store.putText(at('lock'), '{"v":1}', { ifNoneMatch: true })
      const v2 = await store.putText(at('lock'), '{"v":2}', { ifMatch: v1 })
      expect(v2).not.toBe(v1)
      await expect(store.putText(at('lock'), '{"v":3}', { ifMatch: v1 })).rejects.toMatchObject({
        name: 'PreconditionFailed',
        status: 412,
      })
      expect((await store.getText(at('lock')))?.body).toBe('{"v":2}')
    })

    it('IfMatch on a missing object fails like a stale etag (moto and S3 answer 404)', async () => {
      await expect(store.putText(at('gone'), '{}', { ifMatch: '"abc"' })).rejects.toMatchObject({
        name: 'PreconditionFailed',
        status: 412,
      })
      expect(await store.head(at('gone'))).toBeUndefined()
    })

    it('conditional delete: stale etag fails and keeps the object, right etag deletes', async () => {
      const v1 = await store.putText(at('lock'), '{"v":1}')
      const v2 = await store.putText(at('lock'), '{"v":2}')
      await expect(store.delete(at('lock'), { ifMatch: v1 })).rejects.toMatchObject({
        name: 'PreconditionFailed',
        status: 412,
      })
      expect(await store.head(at('lock'))).toMatchObject({ etag: v2 })
      await store.delete(at('lock'), { ifMatch: v2 })
      expect(await store.head(at('lock'))).toBeUndefined()
    })

    it('deleting a missing object succeeds, with or without a condition', async () => {
      await expect(store.delete(at('never'))).resolves.toBeUndefined()
      await expect(store.delete(at('never'), { ifMatch: '"abc"' })).resolves.toBeUndefined()
    })
  })

  describe('uploadFile', () => {
    let dir: string
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'store-moto-'))
    })
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true })
    })

    async function roundTrip(size: number): Promise<UploadProgress[]> {
      const path = join(dir, `f-${size}.jar`)
      const data = randomBytes(size)
      await writeFile(path, data)
      const progress: UploadProgress[] = []
      await store.uploadFile(at(`artifacts/${size}.jar`), path, (p) => progress.push(p))
      const out = await moto.client.send(
        new GetObjectCommand({ Bucket: bucket, Key: `artifacts/${size}.jar` }),
      )
      const back = Buffer.from(await out.Body!.transformToByteArray())
      expect(back.length).toBe(size)
      expect(back.equals(data)).toBe(true)
      expect(progress.at(-1)).toEqual({ loaded: size, total: size })
      return progress
    }

    it('uploads a small file in one PUT', async () => {
      const progress = await roundTrip(10_000)
      expect(progress).toHaveLength(1)
    })

    it('uploads a file over 8 MiB in parts, reporting progress per part', async () => {
      const size = 8 * 1024 * 1024 * 2 + 12_345
      const progress = await roundTrip(size)
      expect(progress.length).toBeGreaterThanOrEqual(3)
      const loaded = progress.map((p) => p.loaded)
      expect(loaded).toEqual([...loaded].sort((a, b) => a - b))
      expect(progress.every((p) => p.total === size)).toBe(true)
      const head = await moto.client.send(
        new HeadObjectCommand({ Bucket: bucket, Key: `artifacts/${size}.jar` }),
      )
      // A multipart ETag is "<md5 of part md5s>-<part count>".
      expect(head.ETag).toMatch(/-3"$/)
    })
  })

  describe('options', () => {
    it('passes ExpectedBucketOwner on every operation without error', async () => {
      const owned = new S3ObjectStore(moto.client, { expectedBucketOwner: MOTO_ACCOUNT_ID })
      const etag = await owned.putText(at('o/a'), '{}', { ifNoneMatch: true })
      expect(await owned.head(at('o/a'))).toMatchObject({ etag })
      expect(await owned.getText(at('o/a'))).toMatchObject({ etag })
      expect(await owned.list(at('o'))).toHaveLength(1)
      const path = join(tmpdir(), `owner-${bucket}.bin`)
      await writeFile(path, 'abc')
      try {
        await owned.uploadFile(at('o/b'), path)
      } finally {
        await rm(path, { force: true })
      }
      await owned.delete(at('o/a'), { ifMatch: etag })
      expect(await owned.list(at('o'))).toEqual([expect.objectContaining({ key: 'o/b' })])
    })

    it('writes with SSE-KMS when a key is given', async () => {
      const encrypted = new S3ObjectStore(moto.client, { sseKmsKeyId: KMS_KEY })
      await encrypted.putText(at('k/marker'), '{}')
      const head = await moto.client.send(
        new HeadObjectCommand({ Bucket: bucket, Key: 'k/marker' }),
      )
      expect(head).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY })
    })

    it('createS3Client reaches the emulator through AWS_ENDPOINT_URL_S3, path-style', async () => {
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'test')
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test')
      const client = createS3Client({ env: { AWS_ENDPOINT_URL_S3: moto.endpoint } })
      try {
        const viaEnv = new S3ObjectStore(client, {})
        const etag = await viaEnv.putText(at('env/x'), 'via env', { ifNoneMatch: true })
        expect(await store.getText(at('env/x'))).toMatchObject({ body: 'via env', etag })
      } finally {
        client.destroy()
        vi.unstubAllEnvs()
      }
    })
  })
})

async function inBatches<T>(
  items: T[],
  size: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) {
    await Promise.all(items.slice(i, i + size).map(fn))
  }
}
