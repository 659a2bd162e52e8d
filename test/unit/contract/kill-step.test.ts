import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  KILL_STEP_MARKER_ARG,
  YARN_KILL_SCRIPT,
  buildKillStep,
  killStepTags,
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

  it('({ name, tags }): one argument per tag, lower-cased and without repeats', () => {
    const step = buildKillStep({
      name: 'rollover-kill:zebrafeed:d2',
      tags: ['rollover-ZebraFeed-d1', 'rollover-zebrafeed-d0', 'rollover-zebrafeed-D1'],
    })
    expect(step.name).toBe('rollover-kill:zebrafeed:d2')
    expect(step.args.slice(3)).toEqual([
      KILL_STEP_MARKER_ARG,
      'rollover-zebrafeed-d1',
      'rollover-zebrafeed-d0',
    ])
    expect(killStepTags(step.args)).toEqual(['rollover-zebrafeed-d1', 'rollover-zebrafeed-d0'])
    expect(killStepTags(['spark-submit', '--class', 'x'])).toEqual([])
  })

  it('refuses no tag, a tag the script would refuse, and a name EMR would refuse', () => {
    expect(() => buildKillStep({ name: 'k', tags: [] })).toThrow(/no tag/)
    expect(() => buildKillStep({ name: 'k', tags: ['a&states=FINISHED'] })).toThrow(/tag 'a&/)
    expect(() => buildKillStep({ name: 'k', tags: ['a'.repeat(101)] })).toThrow(/1 to 100/)
    expect(() => buildKillStep({ name: 'x'.repeat(257), tags: ['a'] })).toThrow(/256/)
  })

  it('never puts a tag into the script text', () => {
    const [, , script] = buildKillStep({ name: 'k', tags: TAGS }).args
    expect(script).toBe(YARN_KILL_SCRIPT)
    expect(script?.toLowerCase()).not.toContain('zebrafeed')
    expect(script).not.toContain(DEPLOYMENT)
    expect(script).toContain('for t in "$@"; do')
  })
})

// The script runs under bash with fake `hostname`, `curl` and `yarn` on the PATH. The fake curl
// answers from $ANSWERS/<n>.code and <n>.body for its n-th call (and exits 7, "failed to
// connect", when there is no answer n), printing the body and then "\n<code>" as `-w` asks.

interface Answer {
  readonly code?: number
  readonly body: string
}

describe('YARN_KILL_SCRIPT', () => {
  let dir: string

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'rollover-kill-'))
    const bin = path.join(dir, 'bin')
    const scripts: Record<string, string> = {
      hostname: '[ "$1" = -f ] && echo primary.ec2.internal',
      yarn: 'echo "yarn $*" >> "$LOG"; exit "${YARN_EXIT:-0}"',
      curl: [
        'printf "%s\\n" "curl $*" >> "$LOG"',
        'n=$(( $(cat "$COUNT" 2>/dev/null || echo 0) + 1 )); echo $n > "$COUNT"',
        '[ -f "$ANSWERS/$n.code" ] || { echo "curl: (7) Failed to connect" >&2; exit 7; }',
        'cat "$ANSWERS/$n.body"; printf "\\n%s" "$(cat "$ANSWERS/$n.code")"',
      ].join('\n'),
    }
    mkdirSync(bin, { recursive: true })
    for (const [name, body] of Object.entries(scripts)) {
      writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`)
      chmodSync(path.join(bin, name), 0o755)
    }
  })

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  function runScript(
    name: string,
    answers: ReadonlyArray<Answer | string>,
    tags: readonly string[] = ['rollover-zebrafeed'],
    env: Record<string, string> = {},
  ) {
    const work = path.join(dir, name)
    const answersDir = path.join(work, 'answers')
    mkdirSync(answersDir, { recursive: true })
    answers.forEach((a, i) => {
      const answer = typeof a === 'string' ? { body: a } : a
      writeFileSync(path.join(answersDir, `${i + 1}.code`), String(answer.code ?? 200))
      writeFileSync(path.join(answersDir, `${i + 1}.body`), answer.body)
    })
    const log = path.join(work, 'log')
    const result = spawnSync('bash', ['-c', YARN_KILL_SCRIPT, KILL_STEP_MARKER_ARG, ...tags], {
      cwd: work,
      encoding: 'utf8',
      timeout: 10_000,
      env: {
        PATH: `${path.join(dir, 'bin')}:/usr/bin:/bin`,
        HOME: work,
        LOG: log,
        COUNT: path.join(work, 'count'),
        ANSWERS: answersDir,
        ROLLOVER_KILL_CONFIRM_INTERVAL: '0',
        ...env,
      },
    })
    const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []
    const kills = calls.filter((c) => c.startsWith('yarn'))
    const urls = calls.filter((c) => c.startsWith('curl')).map((c) => c.split(' ').at(-1))
    return { ...result, calls, kills, urls, work }
  }

  const QUERY =
    'http://primary.ec2.internal:8088/ws/v1/cluster/apps?applicationTags=rollover-zebrafeed&states=NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING'
  const app = (id: string, extra: Record<string, unknown> = {}) => ({
    id: `application_1700000000000_${id}`,
    name: 'com.acme.Stream',
    applicationTags: 'rollover-zebrafeed,rollover-zebrafeed-d1',
    state: 'RUNNING',
    diagnostics: '',
    ...extra,
  })
  const apps = (...list: object[]) => JSON.stringify({ apps: { app: list } })
  const NONE = '{"apps":null}'

  it('kills each tagged application once and confirms none is left', () => {
    const r = runScript('kills', [apps(app('0042'), app('0042')), NONE])
    expect(r.status).toBe(0)
    expect(r.stdout).toBe(
      'killing application_1700000000000_0042\nkilled: application_1700000000000_0042\n',
    )
    expect(r.kills).toEqual(['yarn application -kill application_1700000000000_0042'])
    expect(r.urls).toEqual([QUERY, QUERY])
    expect(r.calls[0]).toContain('-H Accept: application/json')
  })

  it('takes ids from the id members only, not from names or diagnostics that mention other apps', () => {
    const tricky = app('0042', {
      name: 'replaces application_1700000000000_0007 "id":"application_1700000000000_0008"',
      diagnostics:
        'Application application_1700000000000_0009 failed 2 times due to AM Container for appattempt_1700000000000_0042_000001 exited',
    })
    // Pretty-printed, as a proxy might re-indent it.
    const body = JSON.stringify({ apps: { app: [tricky] } }, null, 2)
    const r = runScript('names', [body, NONE])
    expect(r.status).toBe(0)
    expect(r.kills).toEqual(['yarn application -kill application_1700000000000_0042'])
  })

  it('kills the applications carrying any of several tags, lower-cased, in one query', () => {
    const r = runScript(
      'tags',
      [apps(app('0001'), app('0002')), NONE],
      ['rollover-zebrafeed-D1', 'rollover-zebrafeed-d2'],
    )
    expect(r.status).toBe(0)
    expect(r.urls[0]).toContain('applicationTags=rollover-zebrafeed-d1,rollover-zebrafeed-d2&')
    expect(r.kills).toEqual([
      'yarn application -kill application_1700000000000_0001',
      'yarn application -kill application_1700000000000_0002',
    ])
  })

  it('succeeds with nothing to kill when the ResourceManager lists no application', () => {
    for (const empty of [NONE, '{"apps":{}}', '{"apps":{"app":[]}}']) {
      const r = runScript(`none-${empty.length}`, [empty, empty])
      expect(r.status, r.stderr).toBe(0)
      expect(r.stdout).toBe('killed: none\n')
      expect(r.kills).toEqual([])
    }
  })

  it('asks $ROLLOVER_RM_URL when it is set, else the primary node on port 8088', () => {
    const r = runScript('rm-url', [NONE, NONE], ['rollover-zebrafeed'], {
      ROLLOVER_RM_URL: 'http://127.0.0.1:4567/j-1/',
    })
    expect(r.status).toBe(0)
    expect(r.urls[0]).toBe(
      'http://127.0.0.1:4567/j-1/ws/v1/cluster/apps?applicationTags=rollover-zebrafeed&states=NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING',
    )
    expect(r.calls[0]).toMatch(/ -L /)
  })

  it.each([
    ['unreachable', [], /cannot query the ResourceManager.*curl exit 7/],
    ['kerberos', [{ code: 401, body: '<html>Authentication required</html>' }], /HTTP 401/],
    ['server-error', [{ code: 500, body: '{"RemoteException":{}}' }], /HTTP 500/],
    ['html', ['<html><body>Sign in</body></html>'], /not the ResourceManager's JSON/],
    ['xml', ['<?xml version="1.0"?><apps/>'], /not the ResourceManager's JSON/],
    ['empty', [''], /not the ResourceManager's JSON/],
  ] as const)(
    'fails, killing nothing, when the query fails (%s) instead of reporting "killed: none"',
    (name, answers, message) => {
      const r = runScript(name, answers)
      expect(r.status).toBe(1)
      expect(r.stdout).not.toContain('killed')
      expect(r.stderr).toMatch(message)
      expect(r.kills).toEqual([])
    },
  )

  it('fails when the confirming query fails after the kill', () => {
    const r = runScript('confirm-fails', [apps(app('0042'))])
    expect(r.status).toBe(1)
    expect(r.stdout).not.toContain('killed:')
    expect(r.kills).toEqual(['yarn application -kill application_1700000000000_0042'])
  })

  it('fails naming the survivors when they are still listed after every check', () => {
    const listed = apps(app('0042'))
    const r = runScript('survivor', [listed, listed, listed, listed], ['rollover-zebrafeed'], {
      ROLLOVER_KILL_CONFIRM_TRIES: '3',
    })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('still running: application_1700000000000_0042')
    expect(r.urls).toHaveLength(4)
  })

  it('keeps checking when yarn fails, and succeeds once the application is gone', () => {
    const r = runScript('yarn-fails', [apps(app('0042')), NONE], ['rollover-zebrafeed'], {
      YARN_EXIT: '255',
    })
    expect(r.status).toBe(0)
    expect(r.stderr).toContain('yarn application -kill application_1700000000000_0042 failed')
  })

  it('refuses a tag that is not plain (shell code, query syntax, empty) and never evaluates it', () => {
    for (const [i, tag] of ['$(touch pwned)`touch pwned2`', 'a&states=FINISHED', ''].entries()) {
      const r = runScript(`injection-${i}`, [NONE, NONE], ['rollover-ok', tag])
      expect(r.status).toBe(2)
      expect(r.stderr).toContain('refusing tag')
      expect(r.urls).toEqual([])
      expect(existsSync(path.join(r.work, 'pwned'))).toBe(false)
      expect(existsSync(path.join(r.work, 'pwned2'))).toBe(false)
    }
    expect(runScript('no-tag', [NONE], []).status).toBe(2)
  })
})
