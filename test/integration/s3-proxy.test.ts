// The S3 fault proxy the action's S3 traffic goes through in the local stack: against a real
// moto_server with the real SDK client. Pass-through, injected 500/503, a hang that ends late or
// is dropped, and a response lost after S3 applied the write.
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { S3FaultProxy } from '../emulator/s3-proxy.ts'
import { createBucket, describeWithMoto } from '../support/moto.ts'

describeWithMoto('S3 fault proxy', (moto) => {
  let proxy: S3FaultProxy
  let client: S3Client
  let bucket: string

  beforeAll(async () => {
    proxy = await S3FaultProxy.start(moto.endpoint)
    client = new S3Client({
      endpoint: proxy.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    })
    bucket = await createBucket(moto.client, 'proxy')
  })
  afterAll(async () => {
    client?.destroy()
    await proxy?.close()
  })
  afterEach(() => proxy.clear())

  const put = (key: string, body: string, extra: { IfNoneMatch?: string } = {}) =>
    client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }))
  const inMoto = async (key: string) => {
    try {
      const out = await moto.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      return await out.Body?.transformToString()
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return undefined
      throw error
    }
  }
  const until = async (check: () => Promise<boolean> | boolean, what: string) => {
    const deadline = Date.now() + 15_000
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  it('passes requests through to moto and records them', async () => {
    await put('app/markers/d1', 'hello')
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'app/markers/d1' }))
    expect(await out.Body?.transformToString()).toBe('hello')
    expect(proxy.requests.slice(-2).map((r) => [r.method, r.key, r.status])).toEqual([
      ['PUT', 'app/markers/d1', 200],
      ['GET', 'app/markers/d1', 200],
    ])
  })

  it('fails matching requests with 503 SlowDown (or 500), leaving S3 and other requests alone', async () => {
    proxy.add({ method: 'PUT', key: /\/lock$/, fault: 'error' })
    await expect(put('app/lock', 'x')).rejects.toMatchObject({
      name: 'SlowDown',
      $metadata: { httpStatusCode: 503 },
    })
    expect(await inMoto('app/lock')).toBeUndefined()
    await put('app/other', 'y')
    expect(await inMoto('app/other')).toBe('y')
    proxy.clear()
    proxy.add({ method: 'PUT', key: 'lock', fault: 'error', status: 500, count: 1 })
    await expect(put('app/lock', 'x')).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } })
    await put('app/lock', 'x')
    expect(await inMoto('app/lock')).toBe('x')
  })

  it('hangs matching requests for a period, then lets them through late', async () => {
    proxy.add({ method: 'PUT', key: 'hang/late', fault: 'hang', forMs: 1500 })
    const pending = put('hang/late', 'late')
    await until(() => proxy.requestsMatching('PUT', /hang\/late/).length === 1, 'the request')
    expect(await inMoto('hang/late')).toBeUndefined()
    await pending
    expect(await inMoto('hang/late')).toBe('late')
  })

  it('drops a hung request when its rule is cleared: the client sees a reset, S3 nothing', async () => {
    const remove = proxy.add({ method: 'PUT', key: 'hang/drop', fault: 'hang' })
    const pending = put('hang/drop', 'never')
    await until(() => proxy.requestsMatching('PUT', /hang\/drop/).length === 1, 'the request')
    remove()
    await expect(pending).rejects.toThrow()
    expect(await inMoto('hang/drop')).toBeUndefined()
  })

  it('a hang cannot outlive the proxy: close() drops what it holds, and ends', async () => {
    const other = await S3FaultProxy.start(moto.endpoint)
    const c = new S3Client({
      endpoint: other.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    })
    try {
      other.add({ fault: 'hang', forMs: 600_000 })
      const pending = c.send(
        new PutObjectCommand({ Bucket: bucket, Key: 'hang/closed', Body: 'x' }),
      )
      await until(() => other.requests.length === 1, 'the request')
      await other.close()
      await expect(pending).rejects.toThrow()
      expect(await inMoto('hang/closed')).toBeUndefined()
    } finally {
      c.destroy()
    }
  })

  it('loses the response after S3 applied the write: a retry then meets the condition', async () => {
    proxy.add({ method: 'PUT', key: 'lost/lock', fault: 'drop-response', count: 1 })
    await expect(put('lost/lock', 'mine', { IfNoneMatch: '*' })).rejects.toThrow()
    expect(await inMoto('lost/lock')).toBe('mine')
    await expect(put('lost/lock', 'mine', { IfNoneMatch: '*' })).rejects.toMatchObject({
      $metadata: { httpStatusCode: 412 },
    })
  })
})
