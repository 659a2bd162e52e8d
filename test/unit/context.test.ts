import { describe, expect, it } from 'vitest'
import { newDeploymentId } from '../../src/contract/identity.ts'
import { runContextFromEnv } from '../../src/settings/github-run.ts'

const ID_FORM = /^[0-9]{8}t[0-9]{6}z-[0-9a-f]{6}$/

describe('runContextFromEnv', () => {
  const env: NodeJS.ProcessEnv = {
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'acme/clickstream',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_RUN_ID: '9876543210',
    GITHUB_RUN_ATTEMPT: '2',
    GITHUB_ACTOR: 'octocat',
    GITHUB_WORKFLOW: 'release',
  }

  it('reads the run from the runner environment, with the attempt in the run URL', () => {
    expect(runContextFromEnv(env)).toEqual({
      repository: 'acme/clickstream',
      sha: '0123456789abcdef0123456789abcdef01234567',
      ref: 'refs/heads/main',
      runId: '9876543210',
      runAttempt: '2',
      runUrl: 'https://github.com/acme/clickstream/actions/runs/9876543210/attempts/2',
      actor: 'octocat',
      workflow: 'release',
    })
  })

  it('links the run without an attempt when the attempt is unknown', () => {
    const { runUrl } = runContextFromEnv({ ...env, GITHUB_RUN_ATTEMPT: '' })
    expect(runUrl).toBe('https://github.com/acme/clickstream/actions/runs/9876543210')
  })

  it('uses the server URL of GitHub Enterprise Server', () => {
    const { runUrl } = runContextFromEnv({ ...env, GITHUB_SERVER_URL: 'https://ghe.acme.example' })
    expect(runUrl).toBe(
      'https://ghe.acme.example/acme/clickstream/actions/runs/9876543210/attempts/2',
    )
  })

  it('defaults the server to github.com', () => {
    const { runUrl } = runContextFromEnv({ ...env, GITHUB_SERVER_URL: undefined })
    expect(runUrl).toBe('https://github.com/acme/clickstream/actions/runs/9876543210/attempts/2')
  })

  it('has no run URL without a repository or a run id', () => {
    expect(runContextFromEnv({ ...env, GITHUB_REPOSITORY: undefined }).runUrl).toBeUndefined()
    expect(runContextFromEnv({ ...env, GITHUB_RUN_ID: '' }).runUrl).toBeUndefined()
  })

  it('turns empty variables into undefined, outside a runner', () => {
    expect(runContextFromEnv({ GITHUB_REPOSITORY: '', GITHUB_SHA: '' })).toEqual({
      repository: undefined,
      sha: undefined,
      ref: undefined,
      runId: undefined,
      runAttempt: undefined,
      runUrl: undefined,
      actor: undefined,
      workflow: undefined,
    })
  })
})

describe('newDeploymentId', () => {
  const fixed = () => Buffer.from([0xa1, 0xb2, 0x0c])

  it('is the UTC time to the second, lower-case, and six hex digits', () => {
    const now = Date.parse('2025-01-02T03:04:05.678Z')
    expect(newDeploymentId(now, fixed)).toBe('20250102t030405z-a1b20c')
  })

  it('matches the documented form with real randomness', () => {
    for (let i = 0; i < 50; i++) expect(newDeploymentId(Date.now())).toMatch(ID_FORM)
  })

  it('is safe in S3 keys, step names and YARN tags (lower-case alphanumerics and -)', () => {
    const id = newDeploymentId(Date.parse('2030-12-31T23:59:59.999Z'))
    expect(id).toMatch(/^[a-z0-9-]+$/)
    expect(id).toBe(id.toLowerCase())
  })

  it('sorts by time, as strings', () => {
    const times = [
      '2024-12-31T23:59:59.999Z',
      '2025-01-01T00:00:00.000Z',
      '2025-01-01T00:00:01.000Z',
      '2025-01-01T09:59:59.000Z',
      '2025-01-01T10:00:00.000Z',
      '2025-10-01T00:00:00.000Z',
    ].map((t) => Date.parse(t))
    const ids = times.map((t, i) => newDeploymentId(t, () => Buffer.from([255 - i, 0, 0])))
    expect([...ids].sort()).toEqual(ids)
  })

  it('differs between two ids of the same second', () => {
    const now = Date.parse('2025-01-02T03:04:05Z')
    const ids = new Set(Array.from({ length: 20 }, () => newDeploymentId(now)))
    expect(ids.size).toBeGreaterThan(1)
    for (const id of ids) expect(id.startsWith('20250102t030405z-')).toBe(true)
  })
})
