// Runs a real moto_server (S3 emulator) for integration suites. In CI a missing moto_server must
// fail the suite: a skipped integration suite is how a green build hides an untested S3 adapter.
// moto_server comes from the project's .venv (test/support/python-env.ts), created on first use;
// only outside CI, and only when that venv cannot be created (offline, no Python venv module), a
// moto_server on PATH stands in for it.
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { createServer } from 'node:net'
import { delimiter, join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe } from 'vitest'
import { ensurePythonEnv, pythonEnvReady, venvBin } from './python-env.ts'

export const MOTO_MISSING =
  'moto_server not found: the project venv (.venv, from test/python/requirements.txt) could not ' +
  'be created (run `node test/support/python-env.ts` to see why) and there is no moto_server on PATH'

const STARTUP_TIMEOUT_MS = 15_000
/** moto's default account: what ExpectedBucketOwner must be, had moto checked it. */
export const MOTO_ACCOUNT_ID = '123456789012'

export interface MotoServer {
  readonly endpoint: string
  readonly port: number
  stop(): Promise<void>
}

/** moto_server on PATH, if any: the stand-in when the venv cannot be created. */
function motoOnPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    try {
      accessSync(join(dir, 'moto_server'), constants.X_OK)
      return join(dir, 'moto_server')
    } catch {
      // not in this directory
    }
  }
  return undefined
}

/** Sync, for a suite's skip decision: the venv is ready (vitest's globalSetup made it), or PATH. */
export function motoAvailable(): boolean {
  return pythonEnvReady() || (process.env.CI !== 'true' && motoOnPath() !== undefined)
}

let pathFallbackSaid = false

/** The venv's moto_server, created on first use; PATH's only outside CI and when that fails. */
export async function motoServerCommand(): Promise<string> {
  try {
    await ensurePythonEnv()
    return venvBin('moto_server')
  } catch (error) {
    const onPath = motoOnPath()
    if (process.env.CI === 'true' || !onPath) throw error
    if (!pathFallbackSaid) {
      pathFallbackSaid = true
      const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]
      process.stderr.write(`python env: ${reason}; using ${onPath} instead\n`)
    }
    return onPath
  }
}

export async function startMoto(): Promise<MotoServer> {
  const command = await motoServerCommand()
  // Another process may take the free port between our probe and moto's bind: try again.
  let lastError: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnPort(command, await freePort())
    } catch (error) {
      lastError = error
    }
  }
  throw lastError
}

async function startOnPort(command: string, port: number): Promise<MotoServer> {
  const child = spawn(command, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: the pyenv shim may leave a wrapper, and stop() must end them all.
    detached: true,
    // moto reads AWS_* itself: a profile that exists only on a developer's machine makes it answer 500.
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_'))),
  })
  let output = ''
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000)
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject))
  const killOnExit = (): void => killGroup(child, 'SIGKILL')
  process.once('exit', killOnExit)

  const endpoint = `http://127.0.0.1:${port}`
  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit)
    if (child.exitCode !== null || child.signalCode !== null) return
    killGroup(child, 'SIGTERM')
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
  try {
    await Promise.race([waitForHttp(endpoint, child), spawnError])
  } catch (error) {
    await stop()
    throw new Error(`moto_server did not start on port ${port}: ${String(error)}\n${output}`)
  }
  return { endpoint, port, stop }
}

async function waitForHttp(endpoint: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`)
    try {
      await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) })
      return
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  throw new Error(`no HTTP answer within ${STARTUP_TIMEOUT_MS / 1000}s`)
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // already gone
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Path-style client with moto's dummy credentials. */
export function createMotoClient(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  })
}

/** Creates a bucket with a unique name (tests share one server) and returns the name. */
export async function createBucket(client: S3Client, prefix = 'rollover-test'): Promise<string> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`
  await client.send(new CreateBucketCommand({ Bucket: name }))
  return name
}

export interface MotoContext {
  readonly endpoint: string
  readonly client: S3Client
}

/**
 * `describe` with a moto_server started before and stopped after the suite. Outside CI a missing
 * moto_server skips the suite with the reason in its title; in CI the suite runs and fails.
 */
export function describeWithMoto(name: string, body: (moto: MotoContext) => void): void {
  if (!motoAvailable() && process.env.CI !== 'true') {
    // The reporter only counts skipped tests; say why where a developer will see it.
    console.warn(`[${name}] skipped: ${MOTO_MISSING} (with CI=true this fails instead)`)
    describe.skip(`${name} [skipped: ${MOTO_MISSING}]`, () => body(notStarted))
    return
  }
  describe(name, () => {
    let server: MotoServer | undefined
    let client: S3Client | undefined
    const context: MotoContext = {
      get endpoint() {
        return started(server).endpoint
      },
      get client() {
        started(server)
        return client as S3Client
      },
    }
    beforeAll(async () => {
      server = await startMoto()
      client = createMotoClient(server.endpoint)
    })
    afterAll(async () => {
      client?.destroy()
      await server?.stop()
    })
    body(context)
  })
}

function started(server: MotoServer | undefined): MotoServer {
  if (!server) throw new Error('moto_server is not running (read the context inside tests only)')
  return server
}

const notStarted: MotoContext = {
  get endpoint(): string {
    return started(undefined).endpoint
  },
  get client(): S3Client {
    return started(undefined) as never
  },
}
