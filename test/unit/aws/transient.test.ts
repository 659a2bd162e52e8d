import { describe, expect, it } from 'vitest'
import { isThrottling, isTransient } from '../../../src/aws/transient.ts'

const named = (name: string, status?: number): Error =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } })

describe('isThrottling and isTransient', () => {
  it.each([
    ['EMR throttling', named('ThrottlingException', 400), true, true],
    ['S3 throttling', named('SlowDown', 503), true, true],
    ['an HTTP 429', named('Whatever', 429), true, true],
    ['a 500', named('InternalServerError', 500), false, true],
    ['an unnamed 503', named('Unknown', 503), false, true],
    ['a timeout', named('TimeoutError'), false, true],
    ['a reset connection', Object.assign(new Error('reset'), { code: 'ECONNRESET' }), false, true],
    ['a validation error', named('ValidationException', 400), false, false],
    ['a denied permission', named('AccessDeniedException', 403), false, false],
    ['not an error', 'Rate exceeded', false, false],
  ])('%s: throttling %s, transient %s', (_what, error, throttling, transient) => {
    expect(isThrottling(error)).toBe(throttling)
    expect(isTransient(error)).toBe(transient)
  })
})
