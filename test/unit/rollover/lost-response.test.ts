// Regression (review): a lost response to the new marker's create-only PUT. S3 applied it; the SDK's
// own retry (3 attempts, standard mode) meets the object it just wrote and surfaces 412. The
// deploy lock recognises its own write behind a 412 (its token), the marker does not:
// submit() throws before its try block, so the old driver is stopped, nothing is submitted, and
// the message says "the new marker was removed" while it is still there.
import { afterEach, describe, expect, it } from 'vitest'
import { PreconditionFailed } from '../../../src/aws/object-store.ts'
import {
  disposeWorlds,
  makeWorld,
  markerUri,
  rollover,
  seedDeployment,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

describe('lost response to the new marker write', () => {
  it('recognises its own marker behind a 412 and submits, instead of leaving the app down', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    const fresh = markerUri('d-002')
    let once = false
    w.store.afterWrite = (call) => {
      if (!once && call.op === 'putText' && call.uri === fresh) {
        once = true
        throw new PreconditionFailed(
          { bucket: 'data-lake', key: 'rollover/orders/markers/d-002' },
          412,
        )
      }
    }

    const out = await rollover(w)

    // Today: "Submitting the new step failed: condition failed ... the new marker was removed",
    // nothing of the app runs, and the marker stays.
    if (out.error) expect(w.store.objects.has(fresh)).toBe(false)
    expect(out.error).toBeUndefined()
    expect(out.report.result).toBe('deployed')
  })
})
