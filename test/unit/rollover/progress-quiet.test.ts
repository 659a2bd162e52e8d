// retire() judges the failed new driver by its step state alone. A step that
// ended FAILED while its YARN application lives on (spark-submit died on the primary node: the
// case DESIGN.md's "a fresh .progress outranks the step state" is about) is taken for gone at
// once, because launchCandidate() carries no progressAt and stopDrivers() only refreshes the
// reports of candidates it already judged alive. The rollback is then submitted beside it.
import { afterEach, describe, expect, it } from 'vitest'
import {
  disposeWorlds,
  makeWorld,
  rollover,
  seedDeployment,
  whenDeleted,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

describe('retire of a new step whose spark-submit died', () => {
  it('does not submit the rollback while the new driver still commits batches', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    // The new driver drains for 60 s once its marker is gone (a long micro-batch).
    w.emr.queue({ drainMs: 60_000 })
    whenDeleted(w, old.markerUri, 30_000, () => {
      const fresh = w.emr.submitted[0]
      if (!fresh) return
      // spark-submit on the primary node is killed: EMR ends the step FAILED, YARN's app lives.
      fresh.state = 'FAILED'
      fresh.endedAt = w.clock.now()
      fresh.failure = { reason: 'Unknown Error.', message: 'spark-submit killed (exit 137)' }
    })

    const out = await rollover(w)

    const [fresh, rollbackStep] = w.emr.submitted
    expect(fresh?.app?.alive === true || (fresh?.app?.endedAt ?? 0) > 0).toBe(true)
    expect(out.report.result).toBe('rolled-back')
    // Today: the rollback's driver starts while the failed new one is still alive (draining,
    // committing): two drivers on one checkpoint.
    expect(rollbackStep?.app?.startedAt).toBeGreaterThanOrEqual(fresh?.app?.endedAt ?? Infinity)
  })
})

describe('an old step that just ended FAILED while its driver lives on', () => {
  it('is not taken for gone within PROGRESS_AFTER_END_MS of its end', async () => {
    const w = makeWorld()
    // A 10 s trigger; the batch in flight takes 15 s to commit after the stop request.
    const old = seedDeployment(
      w,
      'd-001',
      { drainMs: 15_000, batchMs: 10_000 },
      { ledger: true, current: true },
    )
    await w.clock.advance(25_000) // it has been committing
    w.warm = true
    // spark-submit on the primary node dies: the step ends FAILED, the YARN app keeps running.
    old.step.state = 'FAILED'
    old.step.endedAt = w.clock.now()
    await w.clock.advance(2_000) // the workflow starts 2 s later; the driver still commits

    const out = await rollover(w)

    expect(out.error).toBeUndefined()
    const [fresh] = w.emr.submitted
    expect(old.step.app?.alive).toBe(false)
    // Today: judged gone ("its step ended FAILED": its progress is not yet 10 s past the end),
    // the marker is deleted and the new step submitted at once, while the old driver drains.
    expect(fresh?.app?.startedAt).toBeGreaterThanOrEqual(old.step.app?.endedAt ?? Infinity)
  })
})

describe('an old step that ended FAILED because its driver crashed', () => {
  it('is taken for gone once its reports stay unchanged for twice its cadence: the rollover goes on', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { behaviour: 'die-after-ms', dieAfterMs: 3_000 })

    const out = await rollover(w)

    expect(old.step.state).toBe('FAILED')
    expect(out.error).toBeUndefined()
    expect(out.report.result).toBe('deployed')
    // Waited for the quiet window (10 s floor), not for stop-timeout.
    const [fresh] = w.emr.submitted
    expect((fresh?.createdAt ?? 0) - out.startedAt).toBeLessThan(60_000)
    expect(
      w.lines.some((l) => /reported nothing for/.test(l) || /publishes progress/.test(l)),
    ).toBe(true)
  })
})
