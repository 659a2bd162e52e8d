// A connection that opens and then never answers must end as a transient error, not hold the
// run until the runner's job timeout: both clients carry socket limits (endpoints.ts).
import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { AwsEmr, createEmrClient } from '../../../src/aws/emr.ts'
import { DEFAULT_SOCKET_TIMEOUTS, requestHandlerOptions } from '../../../src/aws/endpoints.ts'
import { createS3Client, S3ObjectStore } from '../../../src/aws/s3.ts'
import { isTransient } from '../../../src/aws/transient.ts'

const SHORT = { connectionTimeoutMs: 2_000, requestTimeoutMs: 300 }

describe('socket timeouts of both AWS clients', () => {
  let server: Server
  let sockets: Socket[]
  let url: string

  beforeEach(async () => {
    sockets = []
    // Accepts the connection, reads the request, never answers.
    server = createServer((socket) => void sockets.push(socket.on('data', () => undefined)))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST')
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret')
    vi.stubEnv('AWS_SESSION_TOKEN', '')
    vi.stubEnv('AWS_PROFILE', '')
  })

  afterEach(async () => {
    vi.unstubAllEnvs()
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
  })

  it('are set by default, to seconds rather than the SDK’s none', () => {
    expect(requestHandlerOptions()).toEqual({
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
      throwOnRequestTimeout: true,
    })
    expect(DEFAULT_SOCKET_TIMEOUTS.requestTimeoutMs).toBeLessThan(60_000)
  })

  it('EMR: a request that is never answered fails as a transient TimeoutError', async () => {
    const client = createEmrClient({ env: { AWS_ENDPOINT_URL_EMR: url }, timeouts: SHORT })
    const emr = new AwsEmr(client)
    const error = await emr.resolveCluster({ kind: 'id', id: 'j-1' }).catch((e: unknown) => e)
    client.destroy()
    expect(error).toMatchObject({ name: 'TimeoutError' })
    expect(isTransient(error)).toBe(true)
    expect(sockets.length).toBeGreaterThan(0)
  })

  it('S3: a request that is never answered fails as a transient TimeoutError', async () => {
    const client = createS3Client({ env: { AWS_ENDPOINT_URL_S3: url }, timeouts: SHORT })
    const store = new S3ObjectStore(client)
    const error = await store
      .getText({ bucket: 'b', key: 'rollover/app/lock' })
      .catch((e: unknown) => e)
    client.destroy()
    expect(isTransient(error)).toBe(true)
    expect(sockets.length).toBeGreaterThan(0)
  })
})
