// Regression (review): the handoff check was skipped on the reconcile path. A run cancelled while the
// old driver drains leaves the driver's `.stopped` (final offsets) in S3; the re-run finds that
// driver already gone, so stopDrivers() returns `stopped: []`, oldDriverOf() has no report, and
// a new driver that starts from the wrong offsets is reported `deployed` (green, records lost).
import { afterEach, describe, expect, it } from 'vitest'
import { UserError } from '../../../src/errors.ts'
import {
  disposeWorlds,
  makeWorld,
  rollover,
  seedDeployment,
  whenDeleted,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

describe('handoff after a re-run', () => {
  it('a re-run after a cancel during the drain still judges the handoff (gap is not green)', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { drainMs: 60_000 }, { ledger: true, current: true })
    const cancel = new AbortController()
    whenDeleted(w, old.markerUri, 500, () => cancel.abort(new UserError('Cancelled (SIGTERM).')))
    const first = await rollover(w, { signal: cancel.signal })
    expect(first.error?.message).toContain('nothing new was submitted')
    // The old driver finishes its drain and acknowledges with its final offsets.
    await w.clock.advance(70_000)
    expect(old.step.state).toBe('COMPLETED')
    expect(w.store.objects.has(`${old.markerUri}.stopped`)).toBe(true)

    // The re-run's new jar starts 50 offsets after the checkpoint: records skipped.
    w.emr.queue({ behaviour: 'gap' })
    const out = await rollover(w, { deploymentId: 'd-003' })

    // Today: result 'deployed', error undefined, handoff never compared.
    expect({ result: out.report.result, handoff: out.report.handoff?.verdict }).toEqual({
      result: 'rolled-back',
      handoff: 'gap',
    })
  })
})
