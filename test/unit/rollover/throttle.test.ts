// EMR's rate limits: DescribeStep/ListSteps refill at 0.5/s per account and region, shared with
// every other tool. The rollover must ride out ThrottlingException and stay well inside the budget.
import { afterEach, describe, expect, it } from 'vitest'
import {
  disposeWorlds,
  makeWorld,
  rollover,
  seedDeployment,
  type World,
} from '../../support/rollover-harness.ts'
import type { EmrCall } from '../../support/fake-emr.ts'

afterEach(disposeWorlds)

/** DescribeStep and ListSteps calls, the ones EMR's 0.5/s buckets count. */
function polls(w: World): EmrCall[] {
  return w.emr.callsOf('describeStep', 'listActiveSteps')
}

/** The most calls seen in any window of `ms` starting at a call. */
function busiestWindow(calls: readonly EmrCall[], ms: number): number {
  return Math.max(
    0,
    ...calls.map((c) => calls.filter((d) => d.at >= c.at && d.at < c.at + ms).length),
  )
}

describe('throttling', () => {
  it('rides out ThrottlingException on DescribeStep during stop and verify', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { ack: false, drainMs: 30_000 })
    // The new driver initialises for a while: EMR is what verify asks until it commits (a driver
    // seen committing answers for itself).
    w.emr.queue({ initMs: 90_000 })
    // The first three DescribeStep calls about each step, and every fourth after that, throttled.
    const seen = new Map<string, number>()
    w.emr.throttleWhen((call) => {
      if (call.op !== 'describeStep' || !call.stepId) return false
      const n = (seen.get(call.stepId) ?? 0) + 1
      seen.set(call.stepId, n)
      return n <= 3 || n % 4 === 0
    })

    const { report, error } = await rollover(w)

    expect(error).toBeUndefined()
    expect(report.result).toBe('deployed')
    const [fresh] = w.emr.submitted
    const throttled = (id?: string): number =>
      w.emr.callsOf('describeStep').filter((c) => c.stepId === id && c.error).length
    expect(throttled(old.step.id)).toBeGreaterThanOrEqual(3)
    // Its reports answer most questions (S3 first); the EMR looks that remain are throttled.
    expect(throttled(fresh?.id)).toBeGreaterThanOrEqual(3)
    expect(
      w.emr
        .callsOf('describeStep')
        .every((c) => !c.error || c.error.name === 'ThrottlingException'),
    ).toBe(true)
    expect(w.lines.some((l) => l.includes('EMR busy (ThrottlingException: '))).toBe(true)
    // Still never two drivers.
    expect(fresh?.createdAt).toBeGreaterThanOrEqual(old.step.endedAt ?? Infinity)
    expect(w.emr.activeSteps().map((s) => s.id)).toEqual([fresh?.id])
  })

  it('backs off after each throttle instead of retrying at the same pace', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001')
    w.emr.queue({ initMs: 60_000 }) // EMR is asked while the new driver has not committed yet
    // The first three DescribeStep calls about the new step (verify polls every second) throttled.
    let n = 0
    w.emr.throttleWhen((c) => c.op === 'describeStep' && c.stepId !== old.step.id && ++n <= 3)

    const { error } = await rollover(w)

    expect(error).toBeUndefined()
    const [fresh] = w.emr.submitted
    const at = w.emr
      .callsOf('describeStep')
      .filter((c) => c.stepId === fresh?.id)
      .map((c) => c.at)
    const gaps = [1, 2, 3].map((i) => (at[i] ?? 0) - (at[i - 1] ?? 0))
    // 2 s, 4 s, 8 s give or take the 20 % jitter: each wait longer than the one before.
    expect(gaps[0]).toBeGreaterThanOrEqual(1600)
    expect(gaps[1]).toBeGreaterThan(gaps[0] ?? Infinity)
    expect(gaps[2]).toBeGreaterThan(gaps[1] ?? Infinity)
  })
})

describe('EMR call budget', () => {
  for (const driver of [
    { name: 'a driver that does not acknowledge', script: { ack: false, drainMs: 90_000 } },
    {
      name: 'a driver that acknowledges, with EMR slow to report the end',
      script: { ack: true, drainMs: 90_000, exitLagMs: 20_000 },
    },
  ]) {
    it(`stays inside 0.5 calls/s over the stop wait and the run (${driver.name})`, async () => {
      const w = makeWorld()
      seedDeployment(w, 'd-001', driver.script)

      const { report, error, startedAt, endedAt } = await rollover(w)

      expect(error).toBeUndefined()
      const from = report.stopStartedAt ?? 0
      const to = report.oldStoppedAt ?? 0
      expect(to - from).toBeGreaterThanOrEqual(90_000)
      const duringStop = polls(w).filter((c) => c.at >= from && c.at <= to).length
      expect(duringStop / ((to - from) / 1000)).toBeLessThanOrEqual(0.5)
      expect(polls(w).length / ((endedAt - startedAt) / 1000)).toBeLessThanOrEqual(0.5)
      // No window breaks the client's own bucket (burst 5, 0.4/s) by more than the 2 ListSteps.
      for (const seconds of [10, 60, 300]) {
        expect(busiestWindow(polls(w), seconds * 1000)).toBeLessThanOrEqual(5 + 0.4 * seconds + 2)
      }
    })
  }

  it('stays inside the budget while a slow kill step runs', async () => {
    // The kill script can take a minute (12 checks, 5 s apart) before it reports.
    const w = makeWorld({ kill: { durationMs: 60_000 } })
    seedDeployment(w, 'd-001', { behaviour: 'ignore-marker' })

    const { report, error } = await rollover(w, {
      settings: { stopTimeoutMs: 2 * 60_000, onStopTimeout: 'kill' },
    })

    expect(error).toBeUndefined()
    expect(report.forcedStop).toBe(true)
    for (const seconds of [10, 60, 300]) {
      expect(busiestWindow(polls(w), seconds * 1000)).toBeLessThanOrEqual(5 + 0.4 * seconds + 2)
    }
  })
})
