// `npm run stack`: the local stack (moto S3 + EMR emulator, one cluster, a sample jar in S3) as a
// background service, for a workflow or a shell that runs the action against it.
//
//   npm run stack -- --github-env   start it detached; append its variables to $GITHUB_ENV
//   npm run stack                   start it detached; print `export ...` lines (eval "$(...)")
//   npm run stack -- status         say whether it runs, and print its variables
//   npm run stack -- stop           stop it (drivers, moto, the emulator) and remove the pid file
//
// Variables: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_EMR, test credentials, AWS_REGION,
// ROLLOVER_CLUSTER_ID, ROLLOVER_MARKER_PREFIX, ROLLOVER_JAR (an uploaded sample jar).
// The pid file (JSON: pid, variables, log path) is <tmpdir>/emr-streaming-rollover-stack.json.
import { spawn } from 'node:child_process'
import { appendFileSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startStack } from './stack.ts'

const PID_FILE = join(tmpdir(), 'emr-streaming-rollover-stack.json')
const START_TIMEOUT_MS = 60_000
const SELF = fileURLToPath(import.meta.url)

interface StackInfo {
  readonly pid: number
  readonly log: string
  readonly env: Record<string, string>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readInfo(): StackInfo | undefined {
  if (!existsSync(PID_FILE)) return undefined
  try {
    const info = JSON.parse(readFileSync(PID_FILE, 'utf8')) as StackInfo
    return alive(info.pid) ? info : undefined
  } catch {
    return undefined
  }
}

/** The background process: starts the stack, publishes its variables, lives until SIGTERM. */
async function serve(readyFile: string): Promise<void> {
  const stack = await startStack({ appName: 'sample' })
  const jar = await stack.makeJar('sample-v1', 'ok', { upload: true })
  const env: Record<string, string> = {
    ...stack.env,
    ROLLOVER_CLUSTER_ID: stack.clusterId,
    ROLLOVER_CLUSTER_NAME: stack.clusterName,
    ROLLOVER_MARKER_PREFIX: stack.markerPrefix,
    ROLLOVER_JAR: jar,
    ROLLOVER_STACK_PID_FILE: PID_FILE,
  }
  // stack.ts ends everything on SIGINT/SIGTERM; only the pid file is ours to remove.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.prependOnceListener(signal, () => {
      console.log(`${new Date().toISOString()} ${signal}: stopping the stack`)
      if (readInfo()?.pid === process.pid) rmSync(PID_FILE, { force: true })
    })
  }
  writeFileSync(readyFile, JSON.stringify({ pid: process.pid, env }))
  console.log(`${new Date().toISOString()} stack up: ${JSON.stringify(env)}`)
  // Keeps the event loop (and the emulator's server) alive until a signal ends the process.
  setInterval(() => undefined, 1 << 30)
}

async function start(githubEnv: boolean): Promise<void> {
  let info = readInfo()
  if (info) {
    console.error(`The local stack already runs (pid ${info.pid}); reusing it.`)
  } else {
    const log = join(tmpdir(), `emr-streaming-rollover-stack-${Date.now()}.log`)
    const readyFile = `${log}.ready`
    const out = openSync(log, 'a')
    const child = spawn(process.execPath, [SELF, '__serve', readyFile], {
      detached: true,
      stdio: ['ignore', out, out],
      cwd: process.cwd(),
      env: process.env,
    })
    child.unref()
    let exited: number | null | undefined
    child.once('exit', (code) => (exited = code))
    const deadline = Date.now() + START_TIMEOUT_MS
    while (!existsSync(readyFile)) {
      if (exited !== undefined || Date.now() > deadline) {
        if (exited === undefined && child.pid) process.kill(child.pid, 'SIGTERM')
        const why =
          exited === undefined ? `not up after ${START_TIMEOUT_MS / 1000} s` : `exited ${exited}`
        throw new Error(`the local stack ${why}; its log (${log}):\n${readFileSync(log, 'utf8')}`)
      }
      await sleep(100)
    }
    const ready = JSON.parse(readFileSync(readyFile, 'utf8')) as Omit<StackInfo, 'log'>
    rmSync(readyFile, { force: true })
    info = { ...ready, log }
    writeFileSync(PID_FILE, JSON.stringify(info, null, 2))
    console.error(`Local stack started (pid ${info.pid}, log ${log}, pid file ${PID_FILE}).`)
  }

  if (githubEnv) {
    const file = process.env.GITHUB_ENV
    if (!file) throw new Error('--github-env: GITHUB_ENV is not set (this is for GitHub Actions)')
    appendFileSync(
      file,
      Object.entries(info.env)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    )
    console.error(`Appended ${Object.keys(info.env).join(', ')} to $GITHUB_ENV.`)
  } else {
    for (const [k, v] of Object.entries(info.env)) console.log(`export ${k}='${v}'`)
  }
}

async function stop(): Promise<void> {
  const info = readInfo()
  if (!info) {
    rmSync(PID_FILE, { force: true })
    console.error('No local stack is running.')
    return
  }
  process.kill(info.pid, 'SIGTERM')
  const deadline = Date.now() + 15_000
  while (alive(info.pid)) {
    if (Date.now() > deadline) {
      process.kill(info.pid, 'SIGKILL')
      break
    }
    await sleep(100)
  }
  rmSync(PID_FILE, { force: true })
  rmSync(info.log, { force: true })
  console.error(`Local stack stopped (pid ${info.pid}).`)
}

function status(): void {
  const info = readInfo()
  if (!info) {
    console.error('No local stack is running.')
    process.exitCode = 1
    return
  }
  console.error(`The local stack runs (pid ${info.pid}, log ${info.log}).`)
  for (const [k, v] of Object.entries(info.env)) console.log(`export ${k}='${v}'`)
}

const USAGE = 'usage: npm run stack -- [start] [--github-env] | status | stop'

async function main(args: string[]): Promise<void> {
  if (args[0] === '__serve') return serve(args[1] as string)
  const positional = args.filter((a) => !a.startsWith('--'))
  const flags = args.filter((a) => a.startsWith('--'))
  const unknown = flags.filter((f) => f !== '--github-env')
  const command = positional[0] ?? 'start'
  if (unknown.length > 0 || positional.length > 1 || (flags.length > 0 && command !== 'start')) {
    throw new Error(USAGE)
  }
  if (command === 'start') return start(flags.includes('--github-env'))
  if (command === 'stop') return stop()
  if (command === 'status') return status()
  throw new Error(USAGE)
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error))
  process.exit(1)
})
