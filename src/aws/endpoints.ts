// How both AWS clients read their settings from the environment. The SDK reads these variables
// too, but only from process.env and only at the first request; reading them from an injected
// `env` keeps client construction a pure function of its arguments.

export const USER_AGENT = 'emr-streaming-rollover'

/**
 * Both clients' socket limits. Without them a connection that never opens, or a request that
 * never answers, holds a run until the runner's job timeout (six hours). A request ended here is
 * a transient error, retried (EMR reads, PacedEmr) or handled (S3, per call) like a 5xx.
 */
export interface SocketTimeouts {
  /** To open the TCP (and TLS) connection. */
  readonly connectionTimeoutMs: number
  /** Of silence on an open connection: no byte sent or received. */
  readonly requestTimeoutMs: number
}

export const DEFAULT_SOCKET_TIMEOUTS: SocketTimeouts = Object.freeze({
  connectionTimeoutMs: 5_000,
  requestTimeoutMs: 30_000,
})

/**
 * The SDK's requestHandler options for `timeouts`. throwOnRequestTimeout: since
 * @smithy/node-http-handler 4.x an exceeded requestTimeout only logs a warning by default, and
 * the request goes on waiting.
 */
export function requestHandlerOptions(timeouts: SocketTimeouts = DEFAULT_SOCKET_TIMEOUTS): {
  connectionTimeout: number
  requestTimeout: number
  throwOnRequestTimeout: boolean
} {
  return {
    connectionTimeout: timeouts.connectionTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    throwOnRequestTimeout: true,
  }
}

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
