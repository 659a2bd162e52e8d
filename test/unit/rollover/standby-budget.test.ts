// The standby's downtime is the drain and the switch (DESIGN.md): the switch waits for EMR to
// confirm the old step ended, so that confirmation must not wait for the run's EMR budget. The
// wait for `.ready` looked at EMR every 2 s, faster than the budget's 0.4 DescribeStep/s refill:
// after a start of half a minute or more the budget was spent when the Stop needed it, and the
// switch came one or two refills (2.5-5 s) after the old step's end instead of at once (found by
// `npm run bench`, test/emulator/bench/strategies.ts, on the realistic profile).
import { afterEach, describe, expect, it } from 'vitest'
import {
  disposeWorlds,
  makeWorld,
  rollover,
  seedDeployment,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

/** EMR's lag between the application's exit and the step's end (a second or so). */
const EXIT_LAG_MS = 1_000

describe('strategy standby: the EMR budget of the wait', () => {
  it.each([30_000, 3 * 60_000])(
    'after a start of %d ms, the switch follows the old step’s end at once',
    async (initMs) => {
      const w = makeWorld({ cluster: { stepConcurrencyLevel: 2 } })
      const old = seedDeployment(
        w,
        'd-001',
        { drainMs: 2_000, exitLagMs: EXIT_LAG_MS },
        { ledger: true, current: true },
      )
      w.emr.queue({ initMs })

      const out = await rollover(w, { settings: { strategy: 'standby' } })

      expect(out.error).toBeUndefined()
      expect(out.report.result).toBe('deployed')
      const exitedAt = old.step.app?.endedAt ?? Number.NaN
      const stepEndedAt = old.step.endedAt ?? Number.NaN
      const switchedAt = out.report.launch?.switchedAt ?? Number.NaN
      expect(stepEndedAt - exitedAt).toBe(EXIT_LAG_MS)
      // Fake time: the old step's end is seen within a poll or two of the Stop (250 ms for the
      // acknowledgement, then EMR twice as often), not a budget refill (2.5 s) later.
      expect(switchedAt - stepEndedAt).toBeLessThan(1_000)
      // The wait still looked at EMR while it waited (a failed standby step is seen).
      const looks = w.emr.calls.filter(
        (c) =>
          c.op === 'describeStep' &&
          c.stepId === out.report.launch?.stepId &&
          c.at < (out.report.launch?.readyAt ?? 0),
      )
      expect(looks.length).toBeGreaterThan(initMs / 10_000)
    },
  )
})
