// Issue 9: a marker or an acknowledgement the action may not read (403: a bucket policy, a KMS key
// the role cannot use) is logged and treated as absent: it never fails preflight, never aborts a
// stop after the markers are deleted, and is never taken as proof that a driver stopped.
import { afterEach, describe, expect, it } from 'vitest'
import { ACK_SUFFIX } from '../../../src/contract/markers.ts'
import {
  disposeWorlds,
  makeWorld,
  markerKeys,
  rollover,
  seedDeployment,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

const warnings = (lines: readonly string[]) => lines.filter((l) => l.startsWith('warning: '))

describe('reports the action cannot read', () => {
  it('an unreadable marker: a warning naming it and the permission, deleted all the same, and the run deploys', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', {}, { ledger: true })
    w.store.denied.add(old.markerUri)

    const out = await rollover(w)

    expect(out.error).toBeUndefined()
    expect(old.step.app?.alive).toBe(false) // the delete still stopped its driver
    expect(markerKeys(w)).not.toContain(old.markerUri)
    const warned = warnings(w.lines).filter((l) => l.includes(old.markerUri))
    expect(warned.length).toBeGreaterThan(0)
    expect(warned[0]).toMatch(/Cannot read the marker .*s3:GetObject.*kms:Decrypt/)
    expect(w.emr.submitted).toHaveLength(1)
  })

  it('an unreadable acknowledgement is not proof of a stop: the stop is confirmed by EMR, then the run deploys', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { drainMs: 3_000 }, { ledger: true })
    w.store.denied.add(`${old.markerUri}${ACK_SUFFIX}`)

    const out = await rollover(w)

    expect(out.error).toBeUndefined()
    const [fresh] = w.emr.submitted
    // Submitted only after the old driver was gone, which only EMR could say here.
    expect(fresh?.createdAt).toBeGreaterThanOrEqual(old.step.app?.endedAt ?? Infinity)
    expect(w.emr.count('describeStep')).toBeGreaterThan(0)
    expect(warnings(w.lines).some((l) => l.includes(`${old.markerUri}${ACK_SUFFIX}`))).toBe(true)
  })

  it('the dry run warns and plans instead of failing', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', {}, { ledger: true })
    w.store.denied.add(old.markerUri)

    const out = await rollover(w, { settings: { dryRun: true } })

    expect(out.error).toBeUndefined()
    expect(markerKeys(w)).toContain(old.markerUri)
    expect(w.emr.submitted).toHaveLength(0)
    expect(warnings(w.lines).some((l) => l.includes(old.markerUri))).toBe(true)
  })
})
