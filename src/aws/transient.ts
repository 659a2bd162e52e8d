// Which AWS errors are worth retrying: throttling, 5xx and dropped connections. Everything else
// (a denied permission, a validation error) is final and surfaces at once.

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'InternalServerError',
  'InternalServerException',
  'ServiceUnavailable',
  'TimeoutError',
])

export function isTransient(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number }; code?: string }
  if (e.name && TRANSIENT_NAMES.has(e.name)) return true
  const status = e.$metadata?.httpStatusCode
  if (status !== undefined && (status === 429 || status >= 500)) return true
  return e.code === 'ECONNRESET' || e.code === 'ECONNREFUSED' || e.code === 'ETIMEDOUT'
}
