// How both AWS clients read their settings from the environment. The SDK reads these variables
// too, but only from process.env and only at the first request; reading them from an injected
// `env` keeps client construction a pure function of its arguments.

export const USER_AGENT = 'emr-streaming-rollover'

export function resolveRegion(region: string | undefined, env: NodeJS.ProcessEnv): string {
  return (
    nonEmpty(region) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? 'us-east-1'
  )
}

/** The service's custom endpoint, with the SDK's precedence: service-specific, then global. */
export function resolveEndpoint(service: 'S3' | 'EMR', env: NodeJS.ProcessEnv): string | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === 'true') return undefined
  return nonEmpty(env[`AWS_ENDPOINT_URL_${service}`]) ?? nonEmpty(env.AWS_ENDPOINT_URL)
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}
