// Once the old driver acknowledged its stop, the app is down until EMR confirms its step ended:
// that look goes outside the run's DescribeStep budget instead of waiting out a rate
// that earlier throttles halved (on the local stack, 30% throttling made a run wait its whole
// stop-timeout with the driver long gone).
import { afterEach, describe, expect, it } from 'vitest'
import {
  disposeWorlds,
  makeWorld,
  rollover,
  seedDeployment,
  type World,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

/** The new step went in after the old one ended (never two drivers), within 20 s of it. */
function expectSubmittedSoonAfterEnd(w: World, oldStep: { readonly endedAt?: number }): void {
  const [fresh] = w.emr.submitted
  const ended = oldStep.endedAt ?? Infinity
  expect(fresh?.createdAt).toBeGreaterThanOrEqual(ended)
  expect((fresh?.createdAt ?? Infinity) - ended).toBeLessThan(20_000)
}

describe('the stop confirmation of an acknowledged driver', () => {
  it('comes within seconds of EMR answering again, not after the halved budget refills', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { drainMs: 2_000 }, { ledger: true })
    // Four throttles of the old step's DescribeStep: the run's rate goes 0.4 → 0.025/s, whose
    // refill alone would put the next look about 40 s later.
    let n = 0
    w.emr.throttleWhen((c) => c.op === 'describeStep' && c.stepId === old.step.id && ++n <= 4)

    const out = await rollover(w, { settings: { stopTimeoutMs: 60_000 } })

    expect(out.error).toBeUndefined()
    expectSubmittedSoonAfterEnd(w, old.step)
    const looks = w.emr.callsOf('describeStep').filter((c) => c.stepId === old.step.id)
    expect(looks.length).toBeLessThanOrEqual(6) // four refused, then answered: no flood
  })
})

describe('looks outside the budget', () => {
  it('do not flood EMR while the acknowledged driver’s step stays RUNNING', async () => {
    const w = makeWorld()
    // Acknowledges, then takes 30 s to exit: its step stays RUNNING meanwhile.
    const old = seedDeployment(w, 'd-001', { drainMs: 1_000, exitLagMs: 30_000 }, { ledger: true })
    let n = 0
    w.emr.throttleWhen((c) => c.op === 'describeStep' && c.stepId === old.step.id && ++n <= 4)

    const out = await rollover(w, { settings: { stopTimeoutMs: 120_000 } })

    expect(out.error).toBeUndefined()
    const looks = w.emr
      .callsOf('describeStep')
      .filter((c) => c.stepId === old.step.id)
      .map((c) => c.at)
    // No more than one look per 2 s (EMR's own refill for the whole account) and a burst.
    const answered = looks.slice(4) // after the four refusals
    const span = (answered.at(-1) ?? 0) - (answered[0] ?? 0)
    expect(span).toBeGreaterThan(20_000)
    expect(answered.length).toBeLessThanOrEqual(Math.ceil(span / 2_000) + 3)
    expect(w.emr.submitted[0]?.createdAt).toBeGreaterThanOrEqual(old.step.endedAt ?? Infinity)
  })
})

describe('when DescribeStep keeps being refused', () => {
  it('the acknowledged driver’s step end is confirmed through ListSteps, another quota bucket', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { drainMs: 2_000 }, { ledger: true })
    // A matrix of rollovers has drained the account's DescribeStep bucket for good.
    w.emr.throttleWhen((c) => c.op === 'describeStep' && c.stepId === old.step.id)

    const out = await rollover(w, { settings: { stopTimeoutMs: 60_000 } })

    expect(out.error).toBeUndefined()
    expectSubmittedSoonAfterEnd(w, old.step)
    const listed = w.emr.callsOf('listStepsById').filter((c) => c.stepId === old.step.id)
    expect(listed.at(-1)?.state).toBe('COMPLETED')
    // Paced like any look outside the budget: no flood of either operation.
    expect(listed.length).toBeLessThanOrEqual(4)
  })
})
