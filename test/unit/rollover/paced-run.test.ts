// Issue 13 through a whole run: every EMR call goes through the run's PacedEmr, reads are retried
// until the deadline of what waits for them, the lock is checked before every attempt of a
// change, and a runner's cancellation does not end the submit of a driver already stopped.
import { afterEach, describe, expect, it } from 'vitest'
import {
  disposeWorlds,
  makeWorld,
  markerKeys,
  onlyMarkers,
  rollover,
  seedDeployment,
  whenDeleted,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

const MUTATING = ['addStep', 'cancelStep'] as const

describe('EMR reads retried until their deadline', () => {
  it('rides out a throttling storm in preflight shorter than emrDeadlineMs', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001')
    const stormEnds = w.clock.now() + 5_000 + 45_000 // after the harness's 5 s warm-up
    w.emr.throttleWhen((c) => c.op === 'resolveCluster' && c.at < stormEnds)

    const { report, error } = await rollover(w, { timings: { emrDeadlineMs: 2 * 60_000 } })

    expect(error).toBeUndefined()
    expect(report.result).toBe('deployed')
    const tries = w.emr.callsOf('resolveCluster')
    expect(tries.length).toBeGreaterThan(2)
    // Backed off: not one attempt per token of the burst in the first seconds.
    expect(tries.filter((c) => c.at < (tries[0]?.at ?? 0) + 5_000).length).toBeLessThanOrEqual(3)
    expect(w.lines.some((l) => /EMR busy \(ThrottlingException: .*DescribeCluster/.test(l))).toBe(
      true,
    )
  })

  it('a storm longer than emrDeadlineMs fails preflight naming the call and the limit, changing nothing', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001')
    w.emr.throttleWhen((c) => c.op === 'resolveCluster')
    const before = markerKeys(w)

    const { error, startedAt, endedAt } = await rollover(w, {
      timings: { emrDeadlineMs: 60_000 },
    })

    expect(error?.message).toMatch(/DescribeCluster/)
    expect(error?.message).toMatch(/Tried \d+ times over [\d.]+s \(\d+ throttled\)/)
    expect(error?.message).toMatch(/per AWS account and region/)
    // Given up within the limit: at once when the budget would hold the next try past it.
    expect(endedAt - startedAt).toBeLessThanOrEqual(60_000)
    for (const op of MUTATING) expect(w.emr.count(op)).toBe(0)
    expect(markerKeys(w)).toEqual(before)
    expect(w.emr.activeSteps().map((s) => s.id)).toEqual([old.step.id])
  })
})

describe('the lock is checked before every attempt of a change', () => {
  it('CancelSteps retried through throttling is not sent again once the lock is lost', async () => {
    const w = makeWorld()
    // A driver that ignores its marker, so the run must kill it; EMR throttles every cancel.
    const old = seedDeployment(w, 'd-001', { ack: false, drainMs: 60 * 60_000 }, { ledger: true })
    w.emr.throttleWhen((c) => c.op === 'cancelStep')
    // From 20 s into the stop, every renewal fails: the lease (60 s) is lost while the cancel
    // is still being retried.
    whenDeleted(w, old.markerUri, 20_000, () => {
      const before = w.store.beforeCall
      w.store.beforeCall = async (call) => {
        await before?.(call)
        if (call.op === 'putText' && call.uri.endsWith('/lock'))
          throw Object.assign(new Error('socket'), { code: 'ECONNRESET' })
      }
    })
    let lostAt: number | undefined
    const warning = w.log.warning
    w.log.warning = (m) => {
      if (m.startsWith('Lost the deploy lock')) lostAt ??= w.clock.now()
      warning(m)
    }

    const out = await rollover(w, {
      settings: { stopTimeoutMs: 30_000, onStopTimeout: 'kill' },
    })

    expect(out.error?.message).toContain('Lost the deploy lock')
    expect(lostAt).toBeDefined()
    const cancels = w.emr.callsOf('cancelStep')
    expect(cancels.length).toBeGreaterThan(1)
    expect(cancels.every((c) => c.at <= (lostAt as number))).toBe(true)
    // Only the kill step was added: no new driver.
    expect(w.emr.submitted.map((s) => s.spec.name)).toEqual([
      expect.stringMatching(/^rollover-kill|kill/),
    ])
  })
})

describe("the runner's cancellation", () => {
  it('does not end the retries of the submit once the old driver is stopped', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { drainMs: 2_000 })
    const cancel = new AbortController()
    whenDeleted(w, old.markerUri, 500, () => cancel.abort())
    // The first two submits throttled: retried after the cancel, by the step's unique name.
    w.emr.throttle('addStep', 1, 2)

    const out = await rollover(w, { signal: cancel.signal })

    expect(w.emr.submitted).toHaveLength(1)
    expect(out.error?.message).toMatch(/Cancelled: the new step s-\w+ was submitted/)
    expect(onlyMarkers(w)).toHaveLength(1)
  })
})

describe('S3 before EMR', () => {
  it('a new driver that commits is verified by its reports while EMR throttles every look at its step', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001')
    w.emr.throttleWhen((c) => c.op === 'describeStep' && c.stepId !== old.step.id)

    const { report, error } = await rollover(w)

    expect(error).toBeUndefined()
    expect(report.result).toBe('deployed')
    expect(report.launch?.readiness?.method).toBe('progress')
    expect(w.lines.some((l) => /driver is committing batches: it is RUNNING/.test(l))).toBe(true)
  })
})
