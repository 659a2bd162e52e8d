import { describe, expect, it } from 'vitest'
import { parseMarkerBody, type MarkerBody } from '../../../src/contract/markers.ts'

const ID = '20250102t030405z-a1b2c3'

function body(deploymentId: string, extra: Partial<MarkerBody> = {}): MarkerBody {
  return {
    version: 1,
    app: 'clickstream',
    deploymentId,
    clusterId: 'j-2AXXXXXXGAPLF',
    jar: 's3://acme-artifacts/clickstream.jar',
    createdAt: '2025-01-02T03:04:05.000Z',
    ...extra,
  }
}

describe('parseMarkerBody', () => {
  it('accepts a body written by the action', () => {
    expect(parseMarkerBody(JSON.stringify(body(ID)))).toEqual(body(ID))
  })

  it.each([
    '',
    'application_1700000000000_0042',
    '{"version":2,"deploymentId":"x"}',
    '{}',
    'null',
    '[1]',
  ])('is undefined for a body the action did not write: %j', (text) => {
    expect(parseMarkerBody(text)).toBeUndefined()
  })
})
