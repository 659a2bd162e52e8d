import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  KILL_STEP_MARKER_ARG,
  YARN_KILL_SCRIPT,
  buildKillStep,
} from '../../../src/contract/kill-step.ts'
const DEPLOYMENT = '20250102t030405z-a1b2c3'

describe('buildKillStep', () => {
  const TAGS = ['rollover-d8b8e80d06-20250102t030405z-a1b2c3', 'rollover-zebrafeed-old']

  it('passes each tag as its own argv element, after the script and $0', () => {
    const step = buildKillStep({ name: `rollover-kill:ZebraFeed:x:${DEPLOYMENT}`, tags: TAGS })
    expect(step).toEqual({
      name: `rollover-kill:ZebraFeed:x:${DEPLOYMENT}`,
      jar: 'command-runner.jar',
      args: ['bash', '-c', YARN_KILL_SCRIPT, KILL_STEP_MARKER_ARG, ...TAGS],
      actionOnFailure: 'CONTINUE',
    })
  })

  it('never puts a tag into the script text', () => {
    const [, , script] = buildKillStep({ name: 'k', tags: TAGS }).args
    expect(script).toBe(YARN_KILL_SCRIPT)
    expect(script?.toLowerCase()).not.toContain('zebrafeed')
    expect(script).not.toContain(DEPLOYMENT)
  })

  it('refuses to build a kill step that names nothing', () => {
    expect(() => buildKillStep({ name: 'k', tags: [] })).toThrow(/no tag/)
  })
})

// The script runs under bash with fake `hostname`, `curl` and `yarn` on the PATH.

describe('YARN_KILL_SCRIPT', () => {
  let dir: string

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'rollover-kill-'))
    const bin = path.join(dir, 'bin')
    const scripts: Record<string, string> = {
      hostname: 'echo primary.ec2.internal',
      yarn: 'echo "yarn $*" >> "$LOG"',
      // Answers from $ANSWERS, one file per call (1, 2, ...); exit 22 when the file is missing.
      curl: [
        'echo "curl $*" >> "$LOG"',
        'n=$(( $(cat "$COUNT" 2>/dev/null || echo 0) + 1 )); echo $n > "$COUNT"',
        '[ -f "$ANSWERS/$n" ] || exit 22',
        'cat "$ANSWERS/$n"',
      ].join('\n'),
    }
    spawnSync('mkdir', ['-p', bin])
    for (const [name, body] of Object.entries(scripts)) {
      writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`)
      chmodSync(path.join(bin, name), 0o755)
    }
  })

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  function runScript(name: string, answers: readonly string[], tag = 'rollover-zebrafeed') {
    const work = path.join(dir, name)
    const answersDir = path.join(work, 'answers')
    spawnSync('mkdir', ['-p', answersDir])
    answers.forEach((a, i) => writeFileSync(path.join(answersDir, String(i + 1)), a))
    const log = path.join(work, 'log')
    const result = spawnSync('bash', ['-c', YARN_KILL_SCRIPT, KILL_STEP_MARKER_ARG, tag], {
      cwd: work,
      encoding: 'utf8',
      timeout: 10_000,
      env: {
        PATH: `${path.join(dir, 'bin')}:/usr/bin:/bin`,
        HOME: work,
        LOG: log,
        COUNT: path.join(work, 'count'),
        ANSWERS: answersDir,
      },
    })
    const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []
    return { ...result, calls, work }
  }

  const RUNNING =
    '{"apps":{"app":[{"id":"application_1700000000000_0042","state":"RUNNING"},{"id":"application_1700000000000_0042"}]}}'
  const NONE = '{"apps":null}'

  it('kills each tagged application once and confirms none is left', () => {
    const r = runScript('kills', [RUNNING, NONE])
    expect(r.status).toBe(0)
    expect(r.stdout).toBe('killed: application_1700000000000_0042\n')
    expect(r.calls).toEqual([
      'curl -sfL --max-time 30 http://primary.ec2.internal:8088/ws/v1/cluster/apps?applicationTags=rollover-zebrafeed&states=NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING',
      'yarn application -kill application_1700000000000_0042',
      'curl -sfL --max-time 30 http://primary.ec2.internal:8088/ws/v1/cluster/apps?applicationTags=rollover-zebrafeed&states=NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING',
    ])
  })

  it('succeeds with nothing to kill when the ResourceManager lists no application', () => {
    const r = runScript('none', [NONE, NONE])
    expect(r.status).toBe(0)
    expect(r.stdout).toBe('killed: none\n')
    expect(r.calls.filter((c) => c.startsWith('yarn'))).toEqual([])
  })

  it('fails when the ResourceManager cannot be queried, instead of reporting "killed: none"', () => {
    const r = runScript('unreachable', [])
    expect(r.status).not.toBe(0)
    expect(r.stdout).not.toContain('killed')
    expect(r.stderr).toContain('cannot query the ResourceManager')
    expect(r.calls.filter((c) => c.startsWith('yarn'))).toEqual([])
  })

  it('fails when the confirming query fails after the kill', () => {
    const r = runScript('confirm-fails', [RUNNING])
    expect(r.status).not.toBe(0)
    expect(r.stdout).not.toContain('killed:')
    expect(r.calls).toContain('yarn application -kill application_1700000000000_0042')
  })

  it('never evaluates the tag as shell code', () => {
    const r = runScript('injection', [NONE, NONE], '$(touch pwned)`touch pwned2`')
    expect(r.status).toBe(0)
    expect(existsSync(path.join(r.work, 'pwned'))).toBe(false)
    expect(existsSync(path.join(r.work, 'pwned2'))).toBe(false)
    expect(r.calls[0]).toContain('applicationTags=$(touch pwned)`touch pwned2`&states=')
  })
})
