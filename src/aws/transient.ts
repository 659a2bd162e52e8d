// Which AWS errors are worth retrying: throttling, 5xx and dropped connections. Everything else
// (a denied permission, a validation error) is final and surfaces at once.

// Throttling is told apart from the rest because it is the one signal that the caller itself (or
// someone sharing its quota) is going too fast: it lowers the call rate, a 5xx does not.
const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
])

const SERVER_NAMES = new Set([
  'InternalServerError',
  'InternalServerException',
  'ServiceUnavailable',
  'TimeoutError',
  // PacedEmr's own: the run's budget had no token in time, nothing was sent (paced-emr.ts).
  'EmrBudgetSpent',
])

interface AwsErrorShape {
  name?: string
  $metadata?: { httpStatusCode?: number }
  code?: string
}

function shape(error: unknown): AwsErrorShape | undefined {
  return typeof error === 'object' && error !== null ? (error as AwsErrorShape) : undefined
}

/** "Rate exceeded" and its cousins: the request was refused before it did anything. */
export function isThrottling(error: unknown): boolean {
  const e = shape(error)
  if (!e) return false
  if (e.name && THROTTLING_NAMES.has(e.name)) return true
  return e.$metadata?.httpStatusCode === 429
}

export function isTransient(error: unknown): boolean {
  const e = shape(error)
  if (!e) return false
  if (isThrottling(e)) return true
  if (e.name && SERVER_NAMES.has(e.name)) return true
  const status = e.$metadata?.httpStatusCode
  if (status !== undefined && status >= 500) return true
  return e.code === 'ECONNRESET' || e.code === 'ECONNREFUSED' || e.code === 'ETIMEDOUT'
}
