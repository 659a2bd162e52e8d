import { describe, expect, it } from 'vitest'
import { newDeploymentId, parseStepName, stepName } from '../../../src/contract/identity.ts'
import { buildSparkStep } from '../../../src/contract/step.ts'
import { DEPLOYMENT, INPUT } from './step-input.ts'

describe('stepName / parseStepName', () => {
  it.each([
    ['clickstream', DEPLOYMENT],
    ['Click-Stream', DEPLOYMENT],
    ['app.v2_prod', `${DEPLOYMENT}-rb`],
  ])('round-trips %s / %s', (appName, deploymentId) => {
    const name = stepName(appName, deploymentId)
    expect(name).toBe(`rollover:${appName}:${deploymentId}`)
    expect(parseStepName(name)).toEqual({ appName, deploymentId })
  })

  it('round-trips the name of a built step', () => {
    expect(parseStepName(buildSparkStep(INPUT).name)).toEqual({
      appName: 'Click-Stream',
      deploymentId: DEPLOYMENT,
    })
  })

  it.each([
    'Spark application',
    'rollover:',
    'rollover:clickstream',
    'rollover:clickstream:',
    'rollover::20250102t030405z-a1b2c3',
    `rollover-kill:clickstream:${DEPLOYMENT}`,
    `Rollover:clickstream:${DEPLOYMENT}`,
  ])('is undefined for a name the action did not give: %s', (name) => {
    expect(parseStepName(name)).toBeUndefined()
  })
})

const ID_FORM = /^[0-9]{8}t[0-9]{6}z-[0-9a-f]{6}$/

describe('newDeploymentId', () => {
  const fixed = () => Buffer.from([0xa1, 0xb2, 0x0c])

  it('is the UTC time to the second, lower-case, and six hex digits', () => {
    const now = Date.parse('2025-01-02T03:04:05.678Z')
    expect(newDeploymentId(now, fixed)).toBe('20250102t030405z-a1b20c')
  })

  it('matches the documented form with real randomness', () => {
    for (let i = 0; i < 50; i++) expect(newDeploymentId(Date.now())).toMatch(ID_FORM)
  })

  it('is safe in S3 keys, step names and YARN tags (lower-case alphanumerics and -)', () => {
    const id = newDeploymentId(Date.parse('2030-12-31T23:59:59.999Z'))
    expect(id).toMatch(/^[a-z0-9-]+$/)
    expect(id).toBe(id.toLowerCase())
  })

  it('sorts by time, as strings', () => {
    const times = [
      '2024-12-31T23:59:59.999Z',
      '2025-01-01T00:00:00.000Z',
      '2025-01-01T00:00:01.000Z',
      '2025-01-01T09:59:59.000Z',
      '2025-01-01T10:00:00.000Z',
      '2025-10-01T00:00:00.000Z',
    ].map((t) => Date.parse(t))
    const ids = times.map((t, i) => newDeploymentId(t, () => Buffer.from([255 - i, 0, 0])))
    expect([...ids].sort()).toEqual(ids)
  })

  it('differs between two ids of the same second', () => {
    const now = Date.parse('2025-01-02T03:04:05Z')
    const ids = new Set(Array.from({ length: 20 }, () => newDeploymentId(now)))
    expect(ids.size).toBeGreaterThan(1)
    for (const id of ids) expect(id.startsWith('20250102t030405z-')).toBe(true)
  })
})
