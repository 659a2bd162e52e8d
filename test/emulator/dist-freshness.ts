// The end-to-end tests, the demo and the bench run the bundled dist/, as users get it. A dist/
// older than src/ would test yesterday's code, so `npm run package` stamps dist/ with a hash of
// everything it is built from, and the local stack rebuilds first when the stamp is stale.
//
// Run directly (`node test/emulator/dist-freshness.ts write`) by `npm run package`.
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { REPO_ROOT } from './node-bin.ts'

const STAMP = join(REPO_ROOT, 'dist', 'source-hash.txt')
const INPUTS = ['src', 'package-lock.json', 'tsconfig.json']
const LOCK = join(REPO_ROOT, 'node_modules', '.cache', 'rollover-dist-build.lock')

function files(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path]
  return readdirSync(path)
    .sort()
    .flatMap((name) => files(join(path, name)))
}

/** sha256 over the relative path and content of every file dist/ is built from. */
export function sourceHash(): string {
  const hash = createHash('sha256')
  for (const input of INPUTS) {
    for (const file of files(join(REPO_ROOT, input))) {
      // Test vectors are read by tests, never bundled.
      if (relative(REPO_ROOT, file).startsWith(join('src', 'contract', 'vectors'))) continue
      hash.update(relative(REPO_ROOT, file)).update('\0').update(readFileSync(file)).update('\0')
    }
  }
  return hash.digest('hex')
}

export function writeStamp(): void {
  writeFileSync(STAMP, `${sourceHash()}\n`)
}

export function distIsFresh(): boolean {
  try {
    return readFileSync(STAMP, 'utf8').trim() === sourceHash()
  } catch {
    return false
  }
}

/**
 * Rebuilds dist/ when it is stale. Test files run in parallel workers, so the build is serialised
 * with a lock directory and the check is repeated once the lock is held.
 */
export async function ensureFreshDist(log: (line: string) => void = console.log): Promise<void> {
  if (distIsFresh()) return
  mkdirSync(join(LOCK, '..'), { recursive: true })
  for (let waited = 0; ; waited += 500) {
    try {
      mkdirSync(LOCK)
      break
    } catch {
      // Another worker builds; a lock older than 3 minutes is left by a killed build.
      const age = Date.now() - (statSafe(LOCK) ?? Date.now())
      if (age > 180_000) rmSync(LOCK, { recursive: true, force: true })
      await sleep(500)
      if (waited > 240_000) throw new Error(`dist/ is stale and ${LOCK} stays locked`)
    }
  }
  try {
    if (distIsFresh()) return
    log('dist/ is older than src/: rebuilding it with npm run package (about 15 s).')
    execFileSync('npm', ['run', 'package', '--silent'], { cwd: REPO_ROOT, stdio: 'ignore' })
    if (!distIsFresh()) throw new Error('npm run package did not produce a fresh dist/')
  } finally {
    rmSync(LOCK, { recursive: true, force: true })
  }
}

function statSafe(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs
  } catch {
    return undefined
  }
}

if (process.argv[1] && import.meta.filename === process.argv[1] && process.argv[2] === 'write') {
  writeStamp()
}
