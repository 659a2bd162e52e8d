// Runs the bundled action (dist/index.js, or dist/post/index.js) in a child process exactly as the
// GitHub runner does: inputs as INPUT_* variables, file commands (GITHUB_OUTPUT, GITHUB_STATE,
// GITHUB_STEP_SUMMARY) in a temp dir, and optionally the runner's cancellation signals.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT, nodeBinary } from './node-bin.ts'

export interface SignalPlan {
  readonly signal: NodeJS.Signals
  /** Send it this long after start... */
  readonly afterMs?: number
  /** ...or as soon as stdout contains this. */
  readonly onStdout?: string | RegExp
  /** Like the runner: SIGINT first, then this signal after `thenAfterMs`. */
  readonly then?: { readonly signal: NodeJS.Signals; readonly afterMs: number }
}

/** SIGSTOP the action at a point, SIGCONT it `forMs` later: a runner that froze (or a VM paused). */
export interface PausePlan {
  /** Pause this long after start... */
  readonly afterMs?: number
  /** ...or as soon as stdout contains this. */
  readonly onStdout?: string | RegExp
  /** How long it stays stopped (e.g. past the deploy lock's lease). */
  readonly forMs: number
}

export interface RunActionOptions {
  /** Environment of the action (the stack's AWS endpoints and credentials). */
  readonly env?: Readonly<Record<string, string>>
  readonly extraEnv?: Readonly<Record<string, string>>
  readonly entry?: 'main' | 'post'
  /** For entry 'post': the state saved by main (STATE_<name> variables). */
  readonly state?: Readonly<Record<string, string>>
  readonly signal?: SignalPlan
  readonly pause?: PausePlan
  /** SIGKILL the action after this long (default 120 s): a hung action must not hang the suite. */
  readonly timeoutMs?: number
  /** Receives stdout/stderr as it comes, e.g. process.stdout.write for a demo. */
  readonly onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void
  readonly tmpDir?: string
}

export interface ActionRun {
  readonly exitCode: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly outputs: Record<string, string>
  /** What main saved with core.saveState: pass it to a post run. */
  readonly state: Record<string, string>
  readonly summary: string
  readonly durationMs: number
  readonly signalled: boolean
  readonly timedOut: boolean
  /** With `pause`: when the action was stopped and continued (epoch ms). */
  readonly pausedAt?: number
  readonly resumedAt?: number
  /** Every chunk of output with the time it arrived (epoch ms). */
  readonly chunks: ReadonlyArray<{
    readonly t: number
    readonly stream: 'stdout' | 'stderr'
    readonly text: string
  }>
}

let runSeq = 0

/** `INPUT_<NAME>` as @actions/core's getInput reads it: upper case, spaces to _, hyphens kept. */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
}

/** Parses a file-command file: `name<<DELIM\nvalue\nDELIM` blocks and `name=value` lines. */
export function parseFileCommands(text: string): Record<string, string> {
  const result: Record<string, string> = {}
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line)
    if (heredoc) {
      const [, name, delimiter] = heredoc as unknown as [string, string, string]
      const value: string[] = []
      for (i += 1; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] as string)
      result[name] = value.join('\n')
    } else if (line.includes('=')) {
      result[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1)
    }
  }
  return result
}

/** The parent's environment without anything that could point the action at real AWS/GitHub. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue
    if (/^(AWS_|INPUT_|GITHUB_|RUNNER_|STATE_|ACTIONS_)/.test(key)) continue
    env[key] = value
  }
  return env
}

export async function runAction(
  inputs: Readonly<Record<string, string>>,
  options: RunActionOptions = {},
): Promise<ActionRun> {
  const entry = join(REPO_ROOT, 'dist', ...(options.entry === 'post' ? ['post'] : []), 'index.js')
  if (!existsSync(entry)) throw new Error(`${entry} does not exist: run npm run package first`)
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'action-run-'))
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary.md'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_PATH: join(dir, 'path'),
  }
  for (const file of Object.values(files)) await writeFile(file, '')
  runSeq += 1
  const env: Record<string, string> = {
    ...cleanEnv(),
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_REPOSITORY: 'example/streaming',
    GITHUB_RUN_ID: String(9_000_000 + process.pid * 100 + runSeq),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_WORKFLOW: 'deploy',
    GITHUB_JOB: 'rollover',
    GITHUB_ACTOR: 'octocat',
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    GITHUB_WORKSPACE: REPO_ROOT,
    RUNNER_TEMP: dir,
    RUNNER_OS: 'Linux',
    ...files,
    ...options.env,
    ...options.extraEnv,
  }
  for (const [name, value] of Object.entries(inputs)) env[inputEnvName(name)] = value
  for (const [name, value] of Object.entries(options.state ?? {})) env[`STATE_${name}`] = value

  const started = Date.now()
  const child = spawn(nodeBinary(), [entry], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let signalled = false
  let timedOut = false
  const timers: NodeJS.Timeout[] = []
  const plan = options.signal
  const fire = () => {
    if (signalled || !plan) return
    signalled = true
    child.kill(plan.signal)
    if (plan.then) timers.push(setTimeout(() => child.kill(plan.then?.signal), plan.then.afterMs))
  }
  if (plan?.afterMs !== undefined) timers.push(setTimeout(fire, plan.afterMs))
  const pause = options.pause
  let pausedAt: number | undefined
  let resumedAt: number | undefined
  const stop = () => {
    if (!pause || pausedAt !== undefined) return
    pausedAt = Date.now()
    child.kill('SIGSTOP')
    timers.push(
      setTimeout(() => {
        resumedAt = Date.now()
        child.kill('SIGCONT')
      }, pause.forMs),
    )
  }
  if (pause?.afterMs !== undefined) timers.push(setTimeout(stop, pause.afterMs))
  const chunks: Array<{ t: number; stream: 'stdout' | 'stderr'; text: string }> = []
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    chunks.push({ t: Date.now(), stream: 'stdout', text: chunk.toString() })
    options.onOutput?.(chunk.toString(), 'stdout')
    const match = plan?.onStdout
    if (match && (typeof match === 'string' ? stdout.includes(match) : match.test(stdout))) fire()
    const at = pause?.onStdout
    if (at && (typeof at === 'string' ? stdout.includes(at) : at.test(stdout))) stop()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
    chunks.push({ t: Date.now(), stream: 'stderr', text: chunk.toString() })
    options.onOutput?.(chunk.toString(), 'stderr')
  })
  timers.push(
    setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, options.timeoutMs ?? 120_000),
  )
  // A stopped child must not outlive the test either: SIGKILL ends it even while stopped.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
    (resolve, reject) => {
      child.once('error', reject)
      child.once('close', (code, sig) => resolve([code, sig]))
    },
  )
  process.off('exit', killOnExit)
  for (const timer of timers) clearTimeout(timer)
  return {
    exitCode,
    signal,
    stdout,
    stderr,
    outputs: parseFileCommands(await readFile(files.GITHUB_OUTPUT, 'utf8')),
    state: parseFileCommands(await readFile(files.GITHUB_STATE, 'utf8')),
    summary: await readFile(files.GITHUB_STEP_SUMMARY, 'utf8'),
    durationMs: Date.now() - started,
    signalled,
    timedOut,
    ...(pausedAt === undefined ? {} : { pausedAt }),
    ...(resumedAt === undefined ? {} : { resumedAt }),
    chunks,
  }
}
