import { describe, expect, it } from 'vitest'
import { runContextFromEnv } from '../../../src/settings/github-run.ts'

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
