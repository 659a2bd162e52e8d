import { describe, expect, it } from 'vitest'
import {
  appIdentity,
  appTag,
  deploymentTag,
  deploymentTagsIn,
  newDeploymentId,
  parseStepName,
  stepName,
} from '../../../src/contract/identity.ts'
import { buildSparkStep } from '../../../src/contract/step.ts'
import { APP, APP_ID, DEPLOYMENT, INPUT } from './step-input.ts'

describe('app identity', () => {
  const PREFIX = { bucket: 'data-lake', key: 'rollover' }

  it('is stable: the same prefix and name give the same id in every version', () => {
    expect(APP.id).toBe(APP_ID)
    expect(appIdentity(PREFIX, 'orders').id).toBe('fc77699021')
    expect(appIdentity(PREFIX, 'orders').markersUri).toBe('s3://data-lake/rollover/orders/markers/')
  })

  it('tells apart names that differ only by case, even after YARN lower-cases the tags', () => {
    const lower = appIdentity(PREFIX, 'orders')
    const upper = appIdentity(PREFIX, 'Orders')
    expect(lower.id).not.toBe(upper.id)
    expect(appTag(lower)).not.toBe(appTag(upper))
    expect(deploymentTag(lower, DEPLOYMENT).toLowerCase()).not.toBe(
      deploymentTag(upper, DEPLOYMENT).toLowerCase(),
    )
    expect(stepName(lower, DEPLOYMENT)).not.toBe(stepName(upper, DEPLOYMENT))
  })

  it("tells apart another team's app of the same name under another marker prefix", () => {
    const ours = appIdentity(PREFIX, 'orders')
    const theirs = appIdentity({ bucket: 'data-lake', key: 'team-b/rollover' }, 'orders')
    expect(ours.id).not.toBe(theirs.id)
    expect(ours.markersUri.startsWith(theirs.markersUri)).toBe(false)
    expect(theirs.markersUri.startsWith(ours.markersUri)).toBe(false)
  })

  it('keeps tags short enough for YARN (100 characters) for the longest app name', () => {
    const longest = appIdentity(PREFIX, 'a'.repeat(64))
    expect(deploymentTag(longest, `${DEPLOYMENT}-rb`).length).toBeLessThanOrEqual(100)
  })
})

describe('stepName / parseStepName', () => {
  it.each([
    ['clickstream', DEPLOYMENT],
    ['Click-Stream', DEPLOYMENT],
    ['app.v2_prod', `${DEPLOYMENT}-rb`],
  ])('round-trips %s / %s', (appName, deploymentId) => {
    const app = appIdentity({ bucket: 'b', key: 'p' }, appName)
    const name = stepName(app, deploymentId)
    expect(name).toBe(`rollover:${appName}:${app.id}:${deploymentId}`)
    expect(parseStepName(name)).toEqual({ appName, appId: app.id, deploymentId })
  })

  it('still reads the names of deployments made before identities', () => {
    expect(parseStepName(`rollover:orders:${DEPLOYMENT}`)).toEqual({
      appName: 'orders',
      deploymentId: DEPLOYMENT,
    })
  })

  it('round-trips the name of a built step', () => {
    expect(parseStepName(buildSparkStep(INPUT).name)).toEqual({
      appName: 'Click-Stream',
      appId: APP_ID,
      deploymentId: DEPLOYMENT,
    })
  })

  it.each([
    'rollover:',
    'rollover:clickstream',
    'rollover::x',
    'rollover:clickstream:',
    `rollover-kill:clickstream:${DEPLOYMENT}`,
    `Rollover:clickstream:${DEPLOYMENT}`,
    'my-own-step',
  ])('rejects %s', (name) => {
    expect(parseStepName(name)).toBeUndefined()
  })
})

describe('deploymentTagsIn', () => {
  it("finds today's and the earlier deployment tags, and nothing else", () => {
    const tags = [
      'rollover-fc77699021',
      `rollover-fc77699021-${DEPLOYMENT}`,
      `rollover-orders-${DEPLOYMENT}`,
      'rollover-orders',
      `team-${DEPLOYMENT}`,
    ]
    expect(deploymentTagsIn(tags, DEPLOYMENT)).toEqual([
      `rollover-fc77699021-${DEPLOYMENT}`,
      `rollover-orders-${DEPLOYMENT}`,
    ])
    expect(deploymentTagsIn(tags, 'other')).toEqual([])
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
