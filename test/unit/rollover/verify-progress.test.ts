// Issue 14, "healthy means processing": the new driver is judged by its own .progress reports,
// and its first batch must start where the old driver's last committed batch ended. Over the
// fake EMR, whose drivers process a virtual stream with a checkpoint (test/support/fake-driver.ts).
import { afterEach, describe, expect, it } from 'vitest'
import { outputsOf } from '../../../src/report/outputs.ts'
import { RolloverFailed } from '../../../src/rollover/rollover-failed.ts'
import {
  OLD_JAR,
  disposeWorlds,
  makeWorld,
  rollover,
  seedDeployment,
  type World,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

/** Every offset of the stream committed once, in order, across every driver: none lost, none twice. */
function expectExactlyOnce(w: World): void {
  const batches = w.emr.apps.flatMap((a) => a.log?.batches ?? []).sort((a, b) => a[0] - b[0])
  for (let i = 1; i < batches.length; i++) {
    expect({ at: i, start: batches[i]?.[0] }).toEqual({ at: i, start: batches[i - 1]?.[1] })
  }
  expect(batches.length).toBeGreaterThan(0)
}

describe('verified by progress', () => {
  it('a driver that resumes the checkpoint: contiguous, verified by progress, downtime by the drivers', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })

    const out = await rollover(w)

    expect(out.error).toBeUndefined()
    expect(out.report.launch?.readiness).toMatchObject({ method: 'progress' })
    expect(out.report.launch?.readiness?.batches).toBeGreaterThanOrEqual(2)
    expect(out.report.handoff?.verdict).toBe('contiguous')
    expect(out.report.downtime?.measuredBy).toBe('drivers')
    expect(outputsOf(out.report)).toMatchObject({
      handoff: 'contiguous',
      'verified-by': 'progress',
    })
    expectExactlyOnce(w)
  })

  it('a driver that starts from a later offset: gap, the deploy fails and rolls back', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ behaviour: 'gap' })

    const out = await rollover(w)

    expect(out.error).toBeInstanceOf(RolloverFailed)
    expect(out.error?.message).toContain('started from the wrong offsets')
    expect(out.error?.message).toContain('Rolled back')
    expect(out.report.handoff?.verdict).toBe('gap')
    expect(out.report.launch?.outcome).toBe('bad-handoff')
    expect(out.report.result).toBe('rolled-back')
    expect(w.emr.submitted.at(-1)?.spec.args).toContain(OLD_JAR)
  })

  it('a driver that re-reads: overlap, the deploy fails and rolls back', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ behaviour: 'overlap' })

    const out = await rollover(w)

    expect(out.report.handoff?.verdict).toBe('overlap')
    expect(out.report.result).toBe('rolled-back')
    expect(out.report.handoff?.sources[0]?.detail).toMatch(/5 ?0|50/)
  })

  it('with rollback off, a driver with a gap keeps running and the run fails saying so', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ behaviour: 'gap' })

    const out = await rollover(w, { settings: { rollback: false } })

    expect(out.error?.message).toContain("It keeps running ('rollback' is false)")
    const [fresh] = w.emr.submitted
    expect(fresh?.app?.alive).toBe(true)
  })

  it('a driver RUNNING but stuck in its initialisation fails within start-timeout, and rolls back', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ behaviour: 'stuck-after-start' })

    const out = await rollover(w, { settings: { startTimeoutMs: 3 * 60_000 } })

    expect(out.report.launch?.outcome).toBe('failed-to-start')
    expect(out.report.launch?.failure).toContain(
      'committed no batch(es) of its own within start-timeout (3m)',
    )
    expect(out.report.launch?.failure).toContain('stuck in its initialisation')
    expect(out.report.result).toBe('rolled-back')
  })

  it('a driver that stops committing during stable-for fails the heartbeat', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ behaviour: 'stalls' })

    const out = await rollover(w, { settings: { stableForMs: 5 * 60_000 } })

    expect(out.report.launch?.outcome).toBe('died')
    expect(out.report.launch?.failure).toMatch(
      /stopped committing: no batch for \d.* \(heartbeat-timeout 1m\)/,
    )
    expect(out.report.result).toBe('rolled-back')
  })

  it('a five-minute trigger is judged by its own interval, not by the default bound', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', { batchMs: 5 * 60_000 }, { ledger: true, current: true })
    w.emr.queue({ batchMs: 5 * 60_000 })

    const out = await rollover(w, {
      warmUpMs: 11 * 60_000, // the old driver committed two batches
      settings: { startTimeoutMs: 20 * 60_000, stableForMs: 12 * 60_000 },
    })

    expect(out.error).toBeUndefined()
    expect(out.report.launch?.readiness?.method).toBe('progress')
    expect(out.report.handoff?.verdict).toBe('contiguous')
  })

  it('an explicit heartbeat-timeout shorter than the trigger fails it', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', { batchMs: 5 * 60_000 }, { ledger: true, current: true })
    w.emr.queue({ batchMs: 5 * 60_000 })

    const out = await rollover(w, {
      settings: {
        startTimeoutMs: 20 * 60_000,
        stableForMs: 12 * 60_000,
        heartbeatTimeoutMs: 2 * 60_000,
      },
    })

    expect(out.report.launch?.failure).toContain('heartbeat-timeout 2m')
  })

  it('a new jar that publishes nothing, where the old driver did: held to progress, fails', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ behaviour: 'silent' })

    const out = await rollover(w, { settings: { startTimeoutMs: 2 * 60_000 } })

    expect(out.report.launch?.outcome).toBe('failed-to-start')
    expect(out.report.result).toBe('rolled-back')
  })
})

describe('verified by EMR state', () => {
  it('a driver that publishes no progress, after one that published none: EMR state, and says so', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', { behaviour: 'silent' }, { ledger: true, current: true })
    w.emr.queue({ behaviour: 'silent' })

    const out = await rollover(w)

    expect(out.error).toBeUndefined()
    expect(out.report.launch?.readiness?.method).toBe('emr-state')
    expect(out.report.handoff).toBeUndefined()
    expect(out.report.downtime?.measuredBy).toBe('action')
    expect(outputsOf(out.report)).toMatchObject({ 'verified-by': 'emr-state', handoff: '' })
  })

  it('a first deploy whose driver publishes progress is judged by it, at no extra wait', async () => {
    const w = makeWorld()

    const out = await rollover(w)

    expect(out.error).toBeUndefined()
    expect(out.report.result).toBe('first-deploy')
    expect(out.report.launch?.readiness?.method).toBe('progress')
    // The EMR-state window (2m) is the whole wait: nothing was added for the progress check.
    expect(out.endedAt - out.startedAt).toBeLessThan(2 * 60_000 + 30_000)
  })

  it('verify-by emr-state ignores the reports entirely', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ behaviour: 'gap' })

    const out = await rollover(w, { settings: { verifyBy: 'emr-state' } })

    expect(out.error).toBeUndefined()
    expect(out.report.launch?.readiness?.method).toBe('emr-state')
    expect(out.report.handoff).toBeUndefined()
  })
})
