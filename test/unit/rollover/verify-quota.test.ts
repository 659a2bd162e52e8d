// Issue 13: a new driver seen committing answers for itself, so verify leaves EMR's shared
// DescribeStep quota to the rollovers whose apps are down; EMR is still asked once at the end of
// stable-for, and whenever the driver falls silent.
import { afterEach, describe, expect, it } from 'vitest'
import {
  disposeWorlds,
  makeWorld,
  rollover,
  seedDeployment,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

describe('verify by progress and the EMR quota', () => {
  it('stable-for with a committing driver: one DescribeStep of the new step at its end', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })

    const out = await rollover(w, { settings: { stableForMs: 2 * 60_000 } })

    expect(out.error).toBeUndefined()
    const [fresh] = w.emr.submitted
    expect(out.report.launch?.readiness?.method).toBe('progress')
    const asked = w.emr
      .callsOf('describeStep')
      .filter((c) => c.stepId === fresh?.id)
      .map((c) => c.at)
    const submitted = fresh?.createdAt ?? 0
    // Before: one every stable-for/8 (15 s) through the two minutes, eight more.
    const inWindow = asked.filter((t) => t > submitted + 10_000 && t < out.endedAt - 20_000)
    expect(inWindow).toEqual([])
    expect(asked.length).toBeLessThanOrEqual(6)
    // The one look at the end: EMR still says whether the step runs.
    expect(asked.some((t) => t >= out.endedAt - 20_000)).toBe(true)
  })

  it('a driver that dies during stable-for is still caught by EMR, not left to the heartbeat', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ behaviour: 'die-after-ms', dieAfterMs: 20_000 })

    const out = await rollover(w, { settings: { stableForMs: 2 * 60_000 } })

    expect(out.error?.message).toMatch(/Rolled back/)
    const [fresh] = w.emr.submitted
    expect(fresh?.state).toBe('FAILED')
    // Noticed within a couple of EMR intervals of its silence, well before heartbeat-timeout.
    const died = fresh?.endedAt ?? 0
    const noticed = w.emr
      .callsOf('describeStep')
      .find((c) => c.stepId === fresh?.id && c.at >= died)?.at
    expect(noticed).toBeDefined()
    expect((noticed ?? Infinity) - died).toBeLessThan(60_000)
  })
})
