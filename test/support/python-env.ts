// The project's own Python environment: moto_server (the S3 of the integration and end-to-end
// tests and the demo) and, for the stack's real-Spark mode only, pyspark (spark-submit and Spark's
// jars). Created on first use in .venv from the pinned files in test/python/, and reused while the
// sha256 of each file (with the Python that built it) matches the stamp stored inside the venv.
// Several processes may ask at once (two vitest workers, a demo): a lock directory serialises
// them (lock-dir.ts), and whoever gets it second finds the work done.
//
//   node test/support/python-env.ts [--spark]    # create or check it, e.g. in CI
//
// ROLLOVER_VENV moves the venv (CI keeps it in the machine's cache so that fresh clones reuse it);
// ROLLOVER_PYTHON names the Python to build it with (default python3).
import { execFile, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { withLockDir } from './lock-dir.ts'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const REQUIREMENTS_DIR = join(REPO_ROOT, 'test', 'python')
export const VENV_DIR = process.env.ROLLOVER_VENV || join(REPO_ROOT, '.venv')
const LOCK_DIR = `${VENV_DIR}.lock`
/** pyspark's install (a 320 MB sdist built into a wheel) takes minutes on a slow network. */
const LOCK_WAIT_MS = 15 * 60_000
const MIN_PYTHON = [3, 9] as const

/** `base`: moto; `spark`: pyspark on top, for the real-Spark mode. */
export type PythonPart = 'base' | 'spark'
const FILES: Readonly<Record<PythonPart, string>> = {
  base: 'requirements.txt',
  spark: 'requirements-spark.txt',
}

export const PYTHON_MISSING =
  'Python 3.9+ with its venv module is needed for the local S3 (moto) and the real-Spark mode: ' +
  'install it (Debian/Ubuntu: apt-get install python3 python3-venv; macOS: brew install python)'

export function venvBin(name: string): string {
  return join(VENV_DIR, 'bin', name)
}

function stampFile(part: PythonPart): string {
  return join(VENV_DIR, `.rollover-${part}.sha256`)
}

/** What a part's stamp must say: its requirements file, and the Python the venv was built by. */
function wantedStamp(part: PythonPart, python: string): string {
  const text = readFileSync(join(REQUIREMENTS_DIR, FILES[part]))
  return createHash('sha256').update(python).update('\0').update(text).digest('hex')
}

function stampOf(part: PythonPart): string | undefined {
  try {
    return readFileSync(stampFile(part), 'utf8').trim()
  } catch {
    return undefined
  }
}

/** The Python recorded when the venv was built (the stamps hash it). */
function builtWith(): string | undefined {
  try {
    return readFileSync(join(VENV_DIR, '.rollover-python'), 'utf8').trim()
  } catch {
    return undefined
  }
}

/** True when the venv holds the part as its requirements file pins it now. Cheap and sync. */
export function pythonEnvReady(part: PythonPart = 'base'): boolean {
  const python = builtWith()
  if (!python || !existsSync(venvBin('python'))) return false
  const parts: PythonPart[] = part === 'spark' ? ['base', 'spark'] : ['base']
  return parts.every((p) => stampOf(p) === wantedStamp(p, python))
}

function run(
  command: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      [...args],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, cwd: REPO_ROOT },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}${error && !stderr ? String(error.message) : ''}`
        resolve({ ok: !error, output })
      },
    )
  })
}

/** The interpreter to build the venv with, as `<path> <major>.<minor>`, or an error naming it. */
function findPython(): string {
  const command = process.env.ROLLOVER_PYTHON || 'python3'
  const probe = spawnSync(
    command,
    ['-c', 'import sys; print(sys.executable, "%d.%d" % sys.version_info[:2])'],
    { encoding: 'utf8', timeout: 30_000 },
  )
  const match = /^(\S+) (\d+)\.(\d+)\s*$/.exec(probe.stdout ?? '')
  if (probe.status !== 0 || !match) throw new Error(`${PYTHON_MISSING} (${command}: not found)`)
  const [major, minor] = [Number(match[2]), Number(match[3])]
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    throw new Error(`${PYTHON_MISSING} (${command} is ${major}.${minor})`)
  }
  return `${match[1]} ${major}.${minor}`
}

/** Why no venv can be built here (no Python 3.9+), or undefined. For a suite's skip decision. */
export function pythonProblem(): string | undefined {
  if (builtWith()) return undefined
  try {
    findPython()
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

/** One attempt per part and process: a venv that cannot be made (offline) is not retried per call. */
const attempts = new Map<PythonPart, Promise<void>>()

/**
 * Makes sure the venv holds `part` (and the base under it): creates or updates it under the
 * lock, saying so in one line on stderr; returns at once when the stamps match.
 */
export function ensurePythonEnv(part: PythonPart = 'base'): Promise<void> {
  if (pythonEnvReady(part)) return Promise.resolve()
  let attempt = attempts.get(part)
  if (!attempt) {
    attempt = build(part)
    attempts.set(part, attempt)
    // A success is seen by pythonEnvReady from now on; only a failure needs remembering.
    void attempt.then(
      () => attempts.delete(part),
      () => {},
    )
  }
  return attempt
}

/**
 * Where a failed creation is remembered, so that the other processes of a test run (a vitest
 * worker per file) fall back at once instead of each waiting for pip to give up (offline).
 */
const FAILED_FILE = `${VENV_DIR}.failed`
const REMEMBER_FAILURE_MS = 10 * 60_000

function recentFailure(): string | undefined {
  if (process.env.CI === 'true') return undefined // CI tries every time, and fails
  try {
    const { at, message } = JSON.parse(readFileSync(FAILED_FILE, 'utf8')) as {
      at: number
      message: string
    }
    if (Date.now() - at > REMEMBER_FAILURE_MS) return undefined
    return `${message} (failed ${Math.round((Date.now() - at) / 1000)} s ago; delete ${FAILED_FILE} to try again now)`
  } catch {
    return undefined
  }
}

async function build(part: PythonPart): Promise<void> {
  const failure = recentFailure()
  if (failure) throw new Error(failure)
  try {
    await buildLocked(part)
    rmSync(FAILED_FILE, { force: true })
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    writeFileSync(FAILED_FILE, JSON.stringify({ at: Date.now(), message }))
    throw error
  }
}

async function buildLocked(part: PythonPart): Promise<void> {
  await withLockDir(LOCK_DIR, LOCK_WAIT_MS, async () => {
    if (pythonEnvReady(part)) return // another process did it while we waited
    const python = findPython()
    const [executable = 'python3'] = python.split(' ')
    const rebuild = builtWith() !== python || stampOf('base') !== wantedStamp('base', python)
    const parts: PythonPart[] = part === 'spark' ? ['base', 'spark'] : ['base']
    const todo = parts.filter((p) => rebuild || stampOf(p) !== wantedStamp(p, python))
    const where = relative(REPO_ROOT, VENV_DIR).startsWith('..')
      ? VENV_DIR
      : relative(REPO_ROOT, VENV_DIR)
    const pins = todo.map((p) => pinned(p)).join(', ')
    const size = todo.includes('spark') ? ', pyspark is ~320 MB' : ''
    process.stderr.write(
      `python env: ${rebuild ? 'creating' : 'adding to'} ${where}: ${pins} (first use only${size})\n`,
    )
    if (rebuild) {
      rmSync(VENV_DIR, { recursive: true, force: true })
      const made = await run(executable, ['-m', 'venv', VENV_DIR], 120_000)
      if (!made.ok)
        throw new Error(`${PYTHON_MISSING}: ${executable} -m venv failed:\n${tail(made)}`)
      writeFileSync(join(VENV_DIR, '.rollover-python'), `${python}\n`)
    }
    for (const p of todo) {
      const file = join(REQUIREMENTS_DIR, FILES[p])
      const pip = await run(
        venvBin('python'),
        ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', file],
        LOCK_WAIT_MS - 60_000,
      )
      if (!pip.ok) {
        throw new Error(`pip could not install ${relative(REPO_ROOT, file)}:\n${tail(pip)}`)
      }
      writeFileSync(stampFile(p), `${wantedStamp(p, python)}\n`)
    }
  })
}

/** The pins of a requirements file, for the one line that says what is installed. */
function pinned(part: PythonPart): string {
  return readFileSync(join(REQUIREMENTS_DIR, FILES[part]), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('-'))
    .join(', ')
}

function tail(result: { output: string }): string {
  return result.output.trim().split('\n').slice(-15).join('\n')
}

/** pyspark's install directory in the venv: SPARK_HOME for the real-Spark mode. */
export function sparkHome(): string {
  const lib = join(VENV_DIR, 'lib')
  for (const python of existsSync(lib) ? readdirSync(lib) : []) {
    const home = join(lib, python, 'site-packages', 'pyspark')
    if (existsSync(join(home, 'bin', 'spark-submit'))) return home
  }
  throw new Error(`pyspark is not installed in ${VENV_DIR}: call ensurePythonEnv('spark') first`)
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const part: PythonPart = process.argv.includes('--spark') ? 'spark' : 'base'
  ensurePythonEnv(part).then(
    () =>
      console.log(`python env: ${VENV_DIR} ready (${part === 'spark' ? 'moto, pyspark' : 'moto'})`),
    (error: unknown) => {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`)
      process.exitCode = 1
    },
  )
}
