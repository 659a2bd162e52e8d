// A rollback is "rolled back: the previous version runs again" only when it does: a version
// verified by its progress before is held to its progress again, so a rollback driver that is
// still starting (or stuck) when stable-for ends is not reported as running. Over the fake EMR.
import { afterEach, describe, expect, it } from 'vitest'
import { RolloverFailed } from '../../../src/rollover/rollover-failed.ts'
import {
  OLD_JAR,
  disposeWorlds,
  makeWorld,
  rollover,
  seedDeployment,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

// The harness's stable-for is 2 minutes: this rollback driver commits its first batch after it.
const SLOW_START = { initMs: 3 * 60_000 }

describe('rollback verified like the deployment it restores', () => {
  it('a previous version verified by progress: rolled back only once its driver commits', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true, verifiedBy: 'progress' })
    w.emr.queue({ behaviour: 'crash-on-start' }, SLOW_START)

    const out = await rollover(w)

    expect(out.error).toBeInstanceOf(RolloverFailed)
    expect(out.error?.message).toContain('Rolled back')
    expect(out.report.result).toBe('rolled-back')
    const back = w.emr.submitted.at(-1)
    expect(back?.spec.args).toContain(OLD_JAR)
    expect(out.report.rollback).toMatchObject({ stepId: back?.id, outcome: 'running' })
    // Judged by its own batches, after its slow start: not by EMR state alone.
    expect(out.report.rollback?.readiness?.method).toBe('progress')
    expect(out.report.rollback?.readiness?.batches).toBeGreaterThanOrEqual(2)
    const rollbackApp = w.emr.apps.find((a) => a.stepId === back?.id)
    expect(rollbackApp?.log?.batches.length).toBeGreaterThanOrEqual(2)
  })

  it('a rollback driver RUNNING but stuck: the rollback failed too, never "rolled back"', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true, verifiedBy: 'progress' })
    w.emr.queue({ behaviour: 'crash-on-start' }, { behaviour: 'stuck-after-start' })

    const out = await rollover(w, { settings: { startTimeoutMs: 3 * 60_000 } })

    expect(out.error).toBeInstanceOf(RolloverFailed)
    expect(out.report.result).not.toBe('rolled-back')
    const back = w.emr.submitted.at(-1)
    expect(out.error?.message).toContain(`The rollback step ${back?.id} failed too`)
    expect(out.error?.message).toContain('Nothing of this app runs now')
    expect(out.report.rollback?.outcome).toBe('failed-to-start')
  })

  it('a previous version recorded without a verdict (1.x): EMR state, as before', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ behaviour: 'crash-on-start' }, { behaviour: 'silent' })

    const out = await rollover(w)

    // A driver that publishes nothing is not failed for it: nothing said it would.
    expect(out.report.result).toBe('rolled-back')
    expect(out.report.rollback).toMatchObject({ outcome: 'running' })
    expect(out.report.rollback?.readiness?.method).toBe('emr-state')
  })

  it("verify-by emr-state: the rollback too ignores the driver's reports", async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true, verifiedBy: 'progress' })
    w.emr.queue({ behaviour: 'crash-on-start' }, { behaviour: 'stuck-after-start' })

    const out = await rollover(w, { settings: { verifyBy: 'emr-state' } })

    expect(out.report.result).toBe('rolled-back')
    expect(out.report.rollback?.readiness?.method).toBe('emr-state')
  })
})
