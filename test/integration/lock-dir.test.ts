// The lock between processes that guards the venv and the sample app's build
// (test/support/lock-dir.ts): holders take turns, and a lock left by a dead process is taken over.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { withLockDir } from '../support/lock-dir.ts'

describe('withLockDir', () => {
  it('runs one holder at a time', async () => {
    const lock = join(mkdtempSync(join(tmpdir(), 'lock-test-')), 'x.lock')
    const events: string[] = []
    const holder = (name: string) =>
      withLockDir(lock, 30_000, async () => {
        events.push(`${name} in`)
        await sleep(200)
        events.push(`${name} out`)
      })
    await Promise.all([holder('a'), holder('b')])
    expect(events).toHaveLength(4)
    // Whoever went first left before the other came in.
    expect(events[1]).toBe(`${events[0]?.split(' ')[0]} out`)
  })

  it('takes over a lock whose holder is dead, and waits for a live one', async () => {
    const lock = join(mkdtempSync(join(tmpdir(), 'lock-test-')), 'x.lock')
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])
    mkdirSync(lock)
    writeFileSync(join(lock, 'pid'), dead.stdout.toString())
    expect(await withLockDir(lock, 5_000, async () => 'taken over')).toBe('taken over')

    mkdirSync(lock)
    writeFileSync(join(lock, 'pid'), String(process.pid)) // alive: this very process
    await expect(withLockDir(lock, 1_000, async () => 'never')).rejects.toThrow(/still held/)
  })
})
