// Records the rollover as a GitHub deployment, so the repository's Environments page shows what
// runs where. Strictly best effort: a missing permission or a GitHub outage must never fail or
// delay the rollover, so every API error becomes a warning and the reporter goes quiet.
import { getOctokit } from '@actions/github'
import type { Log } from '../log.ts'

/** environmentUrl: the EMR console page of the step; logUrl: the workflow run. */
export interface DeploymentStatusInfo {
  description: string
  environmentUrl?: string
  logUrl?: string
}

export type FinalDeploymentState = 'success' | 'failure' | 'error' | 'inactive'

export interface DeploymentReporter {
  start(info: DeploymentStatusInfo): Promise<void>
  finish(state: FinalDeploymentState, info: DeploymentStatusInfo): Promise<void>
  readonly deploymentId?: number
}

/**
 * The two REST calls used, as a structural subset of the Octokit from `getOctokit`, so tests can
 * inject a fake. Method syntax keeps parameter checks bivariant, which lets the real (wider)
 * Octokit methods satisfy it.
 */
export interface DeploymentsApi {
  readonly rest: {
    readonly repos: {
      createDeployment(params: {
        owner: string
        repo: string
        ref: string
        environment: string
        task: string
        description: string
        auto_merge: boolean
        required_contexts: string[]
        transient_environment: boolean
        production_environment?: boolean
        payload: Record<string, string>
        request?: { signal?: AbortSignal }
      }): Promise<{ status: number; data: { id?: number; message?: string } }>
      createDeploymentStatus(params: {
        owner: string
        repo: string
        deployment_id: number
        state: FinalDeploymentState | 'in_progress'
        description: string
        log_url?: string
        environment_url?: string
        auto_inactive?: boolean
        request?: { signal?: AbortSignal }
      }): Promise<unknown>
    }
  }
}

export interface DeploymentReporterOptions {
  token?: string
  environment?: string
  context: { owner: string; repo: string; sha: string; ref: string }
  appName: string
  log: Log
  octokit?: DeploymentsApi
}

/** GitHub rejects longer descriptions with 422. */
export const MAX_DESCRIPTION = 140
// Octokit sets no timeout and undici waits minutes for headers: a hung call must not hold up
// the rollover, whose stop/verify phases sit between start() and finish().
export const REQUEST_TIMEOUT_MS = 15_000
const request = () => ({ signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })

export function truncateDescription(text: string): string {
  // Code points, not UTF-16 units, so an emoji is never cut in half.
  const chars = Array.from(text)
  return chars.length <= MAX_DESCRIPTION ? text : chars.slice(0, MAX_DESCRIPTION - 1).join('') + '…'
}

const NOOP: DeploymentReporter = { start: async () => {}, finish: async () => {} }

export function createDeploymentReporter(options: DeploymentReporterOptions): DeploymentReporter {
  const { token, environment, context, appName, log } = options
  if (!environment || !token) return NOOP

  let api = options.octokit
  const octokit = (): DeploymentsApi => (api ??= getOctokit(token))
  let deploymentId: number | undefined
  // Set after the first failure: one clear warning is enough, and a half-recorded deployment
  // (created, but statuses refused) is better left alone than retried on every call.
  let disabled = false

  const warn = (action: string, error: unknown): void => {
    disabled = true
    log.warning(
      redact(`Could not ${action} for environment '${environment}': ${explain(error)}`, token) +
        ' The rollover goes on; only the GitHub deployment record is missing.',
    )
  }

  return {
    get deploymentId() {
      return deploymentId
    },

    async start(info) {
      if (disabled || deploymentId !== undefined) return
      try {
        const response = await octokit().rest.repos.createDeployment({
          owner: context.owner,
          repo: context.repo,
          // The exact commit built, not the branch, which may have moved on since.
          ref: context.sha,
          environment,
          task: `deploy:${appName}`,
          description: truncateDescription(info.description),
          // Merging the default branch in, or waiting for commit statuses, would make GitHub
          // refuse or delay the record; the rollover itself is the check.
          auto_merge: false,
          required_contexts: [],
          transient_environment: false,
          ...(/prod/i.test(environment) ? { production_environment: true } : {}),
          payload: { appName, ref: context.ref },
          request: request(),
        })
        const id = response.data.id
        if (typeof id !== 'number') {
          // 202 (a merge of the default branch instead of a deployment) should not happen with
          // auto_merge off, but a response without an id leaves nothing to attach statuses to.
          disabled = true
          log.warning(
            redact(
              `GitHub did not create a deployment for environment '${environment}' ` +
                `(HTTP ${response.status}: ${response.data.message ?? 'no deployment id'}). ` +
                'The rollover goes on without a deployment record.',
              token,
            ),
          )
          return
        }
        deploymentId = id
        log.info(`GitHub deployment ${id} created for environment '${environment}'.`)
      } catch (error) {
        warn('create a GitHub deployment', error)
        return
      }
      await status('in_progress', info)
    },

    async finish(state, info) {
      if (deploymentId === undefined) {
        log.debug(`No GitHub deployment to mark '${state}'.`)
        return
      }
      await status(state, info)
    },
  }

  async function status(
    state: FinalDeploymentState | 'in_progress',
    info: DeploymentStatusInfo,
  ): Promise<void> {
    if (disabled || deploymentId === undefined) return
    try {
      await octokit().rest.repos.createDeploymentStatus({
        owner: context.owner,
        repo: context.repo,
        deployment_id: deploymentId,
        state,
        description: truncateDescription(info.description),
        ...(info.logUrl ? { log_url: info.logUrl } : {}),
        ...(info.environmentUrl ? { environment_url: info.environmentUrl } : {}),
        // GitHub defaults auto_inactive to true for every state. Only a success replaces what
        // ran before: after a failure or a rollback the previous deployment is still live.
        ...(state === 'in_progress' ? {} : { auto_inactive: state === 'success' }),
        request: request(),
      })
    } catch (error) {
      warn(`mark GitHub deployment ${deploymentId} '${state}'`, error)
    }
  }
}

function explain(error: unknown): string {
  const status = (error as { status?: unknown } | null)?.status
  const message = error instanceof Error ? error.message : String(error)
  const fix = 'add `permissions: deployments: write` to the job, or pass a token that has it.'
  if (status === 403) return `${message} (HTTP 403). The token may not write deployments: ${fix}`
  if (status === 404) return `${message} (HTTP 404). The token cannot see the repository: ${fix}`
  if (status === 422) return `${message} (HTTP 422). GitHub rejected the request.`
  // Octokit reports our own timeout as HTTP 500, which would blame GitHub for a server error.
  if (/abort|timeout/i.test(message))
    return `no answer from GitHub within ${REQUEST_TIMEOUT_MS / 1000}s.`
  return typeof status === 'number' ? `${message} (HTTP ${status}).` : `${message}.`
}

/** Error messages may echo request details; the token must never reach the log. */
function redact(text: string, token: string): string {
  return token.length >= 4 ? text.split(token).join('***') : text
}
