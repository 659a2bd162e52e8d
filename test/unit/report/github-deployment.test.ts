import { describe, expect, it, vi } from 'vitest'
import type { getOctokit } from '@actions/github'
import {
  createDeploymentReporter,
  truncateDescription,
  type DeploymentReporterOptions,
  type DeploymentsApi,
} from '../../../src/report/github-deployment.ts'
import type { Log } from '../../../src/log.ts'

// Compile-time proof that the real Octokit satisfies the minimal interface we inject.
const _realOctokitFits: ReturnType<typeof getOctokit> extends DeploymentsApi ? true : never = true

const TOKEN = 'ghs_secretTokenValue123'
const CONTEXT = { owner: 'acme', repo: 'pipelines', sha: 'abc123def', ref: 'refs/heads/main' }
const RUN_URL = 'https://github.com/acme/pipelines/actions/runs/42/attempts/1'
const EMR_URL = 'https://console.aws.amazon.com/emr/home?region=eu-west-1#/clusterDetails/j-1'

function fakeLog() {
  const messages: string[] = []
  const log: Log = {
    info: vi.fn((m: string) => void messages.push(m)),
    warning: vi.fn((m: string) => void messages.push(m)),
    debug: vi.fn((m: string) => void messages.push(m)),
    group: (_name, fn) => fn(),
  }
  return { log, messages, warnings: () => vi.mocked(log.warning).mock.calls.map((c) => c[0]) }
}

type Repos = DeploymentsApi['rest']['repos']

function fakeOctokit(
  createDeployment: () => ReturnType<Repos['createDeployment']> = () =>
    Promise.resolve({ status: 201, data: { id: 7 } }),
  createDeploymentStatus: () => Promise<unknown> = () => Promise.resolve({ status: 201 }),
) {
  const repos = {
    createDeployment: vi.fn<Repos['createDeployment']>(createDeployment),
    createDeploymentStatus: vi.fn<Repos['createDeploymentStatus']>(createDeploymentStatus),
  }
  const octokit: DeploymentsApi = { rest: { repos } }
  return { octokit, repos }
}

function httpError(status: number, message: string): Error {
  return Object.assign(new Error(message), { status, name: 'HttpError' })
}

function setup(overrides: Partial<DeploymentReporterOptions> = {}, api = fakeOctokit()) {
  const logs = fakeLog()
  const reporter = createDeploymentReporter({
    token: TOKEN,
    environment: 'staging',
    context: CONTEXT,
    appName: 'clickstream',
    log: logs.log,
    octokit: api.octokit,
    ...overrides,
  })
  return { reporter, ...api, ...logs }
}

describe('createDeploymentReporter', () => {
  it.each([
    ['environment', { environment: undefined }],
    ['environment (empty)', { environment: '' }],
    ['token', { token: undefined }],
  ])('is a no-op without %s', async (_what, overrides) => {
    const { reporter, repos, messages } = setup(overrides)
    await reporter.start({ description: 'Rolling over', logUrl: RUN_URL })
    await reporter.finish('success', { description: 'Done', environmentUrl: EMR_URL })
    expect(repos.createDeployment).not.toHaveBeenCalled()
    expect(repos.createDeploymentStatus).not.toHaveBeenCalled()
    expect(reporter.deploymentId).toBeUndefined()
    expect(messages).toEqual([])
  })

  it('start creates the deployment for the commit, then marks it in_progress', async () => {
    const { reporter, repos } = setup()
    await reporter.start({ description: 'Rolling clickstream over to abc123d', logUrl: RUN_URL })

    expect(repos.createDeployment).toHaveBeenCalledTimes(1)
    expect(repos.createDeployment).toHaveBeenCalledWith({
      owner: 'acme',
      repo: 'pipelines',
      ref: 'abc123def',
      environment: 'staging',
      task: 'deploy:clickstream',
      description: 'Rolling clickstream over to abc123d',
      auto_merge: false,
      required_contexts: [],
      transient_environment: false,
      payload: { appName: 'clickstream', ref: 'refs/heads/main' },
      request: { signal: expect.any(AbortSignal) },
    })
    expect(repos.createDeploymentStatus).toHaveBeenCalledTimes(1)
    expect(repos.createDeploymentStatus).toHaveBeenCalledWith({
      owner: 'acme',
      repo: 'pipelines',
      deployment_id: 7,
      state: 'in_progress',
      description: 'Rolling clickstream over to abc123d',
      log_url: RUN_URL,
      request: { signal: expect.any(AbortSignal) },
    })
    expect(reporter.deploymentId).toBe(7)
  })

  it.each([
    ['Production', true],
    ['eu-prod-1', true],
    ['staging', false],
  ])('production_environment for %s: %s', async (environment, production) => {
    const { reporter, repos } = setup({ environment })
    await reporter.start({ description: 'x' })
    const params = repos.createDeployment.mock.calls[0]![0]
    expect(params.environment).toBe(environment)
    if (production) expect(params.production_environment).toBe(true)
    else expect(params).not.toHaveProperty('production_environment')
  })

  it('finish success sets both URLs and auto_inactive: true', async () => {
    const { reporter, repos } = setup()
    await reporter.start({ description: 'start', logUrl: RUN_URL })
    await reporter.finish('success', {
      description: 'clickstream runs step s-NEW',
      environmentUrl: EMR_URL,
      logUrl: RUN_URL,
    })
    expect(repos.createDeploymentStatus).toHaveBeenCalledTimes(2)
    expect(repos.createDeploymentStatus).toHaveBeenLastCalledWith({
      owner: 'acme',
      repo: 'pipelines',
      deployment_id: 7,
      state: 'success',
      description: 'clickstream runs step s-NEW',
      environment_url: EMR_URL,
      log_url: RUN_URL,
      auto_inactive: true,
      request: { signal: expect.any(AbortSignal) },
    })
  })

  it('finish failure keeps the previous deployment active and truncates the description', async () => {
    const { reporter, repos } = setup()
    await reporter.start({ description: 'start' })
    const long = 'Rolled back: ' + 'x'.repeat(200)
    await reporter.finish('failure', {
      description: long,
      environmentUrl: EMR_URL,
      logUrl: RUN_URL,
    })
    const params = repos.createDeploymentStatus.mock.calls[1]![0]
    expect(params).toEqual({
      owner: 'acme',
      repo: 'pipelines',
      deployment_id: 7,
      state: 'failure',
      description: long.slice(0, 139) + '…',
      environment_url: EMR_URL,
      log_url: RUN_URL,
      auto_inactive: false,
      request: { signal: expect.any(AbortSignal) },
    })
    expect(Array.from(params.description)).toHaveLength(140)
  })

  it('truncates the createDeployment description too, without splitting a code point', async () => {
    const { reporter, repos } = setup()
    const long = '🚀'.repeat(150)
    await reporter.start({ description: long })
    const description = repos.createDeployment.mock.calls[0]![0].description
    expect(description).toBe('🚀'.repeat(139) + '…')
    expect(truncateDescription('short')).toBe('short')
    expect(truncateDescription('y'.repeat(140))).toBe('y'.repeat(140))
  })

  it('finish without a successful start makes no call', async () => {
    const { reporter, repos } = setup()
    await reporter.finish('error', { description: 'never started' })
    expect(repos.createDeploymentStatus).not.toHaveBeenCalled()
  })

  it('403 on create: warns naming deployments: write, never throws, later calls are no-ops', async () => {
    const api = fakeOctokit(() =>
      Promise.reject(httpError(403, 'Resource not accessible by integration')),
    )
    const { reporter, repos, warnings } = setup({}, api)
    await expect(reporter.start({ description: 'start', logUrl: RUN_URL })).resolves.toBeUndefined()
    await expect(
      reporter.finish('success', { description: 'done', environmentUrl: EMR_URL }),
    ).resolves.toBeUndefined()

    expect(warnings()).toHaveLength(1)
    expect(warnings()[0]).toContain('Resource not accessible by integration')
    expect(warnings()[0]).toContain('HTTP 403')
    expect(warnings()[0]).toContain('permissions: deployments: write')
    expect(warnings()[0]).toContain("'staging'")
    expect(repos.createDeployment).toHaveBeenCalledTimes(1)
    expect(repos.createDeploymentStatus).not.toHaveBeenCalled()
    expect(reporter.deploymentId).toBeUndefined()
  })

  it('403 on the status: one warning, finish is then a no-op', async () => {
    const api = fakeOctokit(undefined, () =>
      Promise.reject(httpError(403, 'Resource not accessible by integration')),
    )
    const { reporter, repos, warnings } = setup({}, api)
    await reporter.start({ description: 'start' })
    await reporter.finish('success', { description: 'done' })
    expect(repos.createDeploymentStatus).toHaveBeenCalledTimes(1)
    expect(warnings()).toHaveLength(1)
    expect(warnings()[0]).toContain('deployments: write')
  })

  it.each([
    [httpError(404, 'Not Found'), 'HTTP 404'],
    [httpError(422, 'Validation Failed'), 'HTTP 422'],
    [new TypeError('fetch failed'), 'fetch failed'],
    [new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'within 15s'],
    [
      Object.assign(new Error('The operation was aborted due to timeout'), { status: 500 }),
      'no answer from GitHub within 15s',
    ],
    ['a string thrown', 'a string thrown'],
  ])('%s on create: warning, no throw', async (error, expected) => {
    const { reporter, warnings } = setup(
      {},
      fakeOctokit(() => Promise.reject(error)),
    )
    await expect(reporter.start({ description: 'start' })).resolves.toBeUndefined()
    expect(warnings()).toHaveLength(1)
    expect(warnings()[0]).toContain(expected)
  })

  it('202 without an id: warns and stays quiet afterwards', async () => {
    const api = fakeOctokit(() =>
      Promise.resolve({
        status: 202,
        data: { message: 'Auto-merged main into topic on deployment.' },
      }),
    )
    const { reporter, repos, warnings } = setup({}, api)
    await reporter.start({ description: 'start' })
    await reporter.finish('success', { description: 'done' })
    expect(warnings()).toHaveLength(1)
    expect(warnings()[0]).toContain('HTTP 202')
    expect(warnings()[0]).toContain('Auto-merged')
    expect(repos.createDeploymentStatus).not.toHaveBeenCalled()
    expect(reporter.deploymentId).toBeUndefined()
  })

  it('never writes the token to the log, even when an error message echoes it', async () => {
    const api = fakeOctokit(() =>
      Promise.reject(httpError(401, `Bad credentials for token ${TOKEN}`)),
    )
    const { reporter, messages, warnings } = setup({}, api)
    await reporter.start({ description: 'start' })
    expect(warnings()[0]).toContain('***')

    const ok = setup()
    await ok.reporter.start({ description: 'start', logUrl: RUN_URL })
    await ok.reporter.finish('success', { description: 'done' })
    for (const message of [...messages, ...ok.messages]) expect(message).not.toContain(TOKEN)
    expect(messages.length + ok.messages.length).toBeGreaterThan(0)
  })

  it('start twice creates one deployment', async () => {
    const { reporter, repos } = setup()
    await reporter.start({ description: 'start' })
    await reporter.start({ description: 'again' })
    expect(repos.createDeployment).toHaveBeenCalledTimes(1)
  })
})
