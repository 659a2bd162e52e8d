// A lock between processes that works anywhere: mkdir is atomic, so whoever creates the directory
// holds it. A lock whose holder (its pid file) is gone was left by a killed process and is taken
// over. Used where two vitest workers, or a test and a demo, may build the same thing at once.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** Runs `fn` holding the lock `path`; waits up to `waitMs` for another holder. */
export async function withLockDir<T>(
  path: string,
  waitMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  mkdirSync(dirname(path), { recursive: true })
  const deadline = Date.now() + waitMs
  for (;;) {
    try {
      mkdirSync(path)
      writeFileSync(join(path, 'pid'), String(process.pid))
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    if (holderGone(path)) {
      rmSync(path, { recursive: true, force: true })
      continue
    }
    if (Date.now() > deadline) {
      throw new Error(`${path} is still held after ${Math.round(waitMs / 1000)} s`)
    }
    await sleep(500)
  }
  try {
    return await fn()
  } finally {
    rmSync(path, { recursive: true, force: true })
  }
}

function holderGone(path: string): boolean {
  let pid: number
  try {
    pid = Number(readFileSync(join(path, 'pid'), 'utf8'))
  } catch {
    return false // just created: its pid file comes next
  }
  if (!Number.isInteger(pid) || pid <= 0) return true
  try {
    process.kill(pid, 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
