// The GitHub run this action executes in, read from the runner's environment.

/** GitHub context recorded in markers, locks and deployment records. */
export interface RunContext {
  readonly repository?: string
  readonly sha?: string
  readonly ref?: string
  readonly runId?: string
  readonly runAttempt?: string
  readonly runUrl?: string
  readonly actor?: string
  readonly workflow?: string
}

/** The GitHub run this action executes in, from the runner's environment variables. */
export function runContextFromEnv(env: NodeJS.ProcessEnv): RunContext {
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com'
  const repository = env.GITHUB_REPOSITORY || undefined
  const runId = env.GITHUB_RUN_ID || undefined
  const runAttempt = env.GITHUB_RUN_ATTEMPT || undefined
  const runUrl =
    repository && runId
      ? `${server}/${repository}/actions/runs/${runId}${runAttempt ? `/attempts/${runAttempt}` : ''}`
      : undefined
  return {
    repository,
    sha: env.GITHUB_SHA || undefined,
    ref: env.GITHUB_REF || undefined,
    runId,
    runAttempt,
    runUrl,
    actor: env.GITHUB_ACTOR || undefined,
    workflow: env.GITHUB_WORKFLOW || undefined,
  }
}
