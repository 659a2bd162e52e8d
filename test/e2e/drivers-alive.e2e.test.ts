// Issue 8 on the local stack, with the bundled action: the ways a driver outlives what a run
// knows of it (scenarios.e2e.test.ts plays the console cancel, the refused kill, the driver that
// acknowledges and stays, the paused action, two apps). Every test checks what must hold whatever
// the wording: never two drivers at once, no batch lost or repeated, and exit 0 only when exactly
// one driver of the new jar runs.
import { expect, it } from 'vitest'
import {
  describeWithStack,
  expectConverged,
  expectDataSafe,
  freshApp,
  injectOn,
  transcript,
  type TestApp,
} from './faults-support.ts'

const sparkSteps = (t: TestApp) => t.steps().filter((s) => s.args[0] === 'spark-submit')
/** A lease of seconds, so that losing it fits in a test. */
const SHORT_LEASE = {
  ROLLOVER_TIMINGS: JSON.stringify({
    lockLeaseMs: 6_000,
    lockRenewEveryMs: 2_000,
    lockRenewTimeoutMs: 1_500,
  }),
}

describeWithStack('never two drivers, on the local stack', (ctx) => {
  it('2. on-stop-timeout fail, the old step cancelled in the console while it drains: no re-run submits beside it', async () => {
    const t = await freshApp(ctx.stack, 'cxl-fail')
    const seed = await t.seed('v1', 'ignore-marker')
    const inputs = t.inputs({ jar: await t.jar('v2'), 'stop-timeout': '4s' })
    const first = await t.run(inputs, {
      onOutput: injectOn(/Deleted 1 marker/, () => void ctx.stack.cancelFromConsole(seed.stepId)),
    })
    expect(first.exitCode, transcript(first)).toBe(1)
    await t.until(
      () => t.steps().find((s) => s.id === seed.stepId)?.state === 'CANCELLED',
      10_000,
      'CANCELLED',
    )

    const rerun = await t.run(inputs)
    expect(rerun.exitCode, transcript(rerun)).toBe(1)
    expect(sparkSteps(t).map((s) => s.id)).toEqual([seed.stepId])
    expect((await t.liveDrivers()).map((d) => d.stepId)).toEqual([seed.stepId])
    expectDataSafe(await t.invariants())

    // The way out the message names: kill it by its deployment tag, confirmed, then deploy.
    const killed = await t.run({ ...inputs, 'on-stop-timeout': 'kill' })
    expect(killed.exitCode, transcript(killed)).toBe(0)
    await expectConverged(t, 'v2')
  }, 90_000)

  it('4. the new step cancelled in the console during verify: its driver is stopped before the rollback', async () => {
    const t = await freshApp(ctx.stack, 'cxl-new', { concurrency: 2 })
    await t.seed('v1')
    let cancelled = ''
    const run = await t.run(t.inputs({ jar: await t.jar('v2'), 'stable-for': '6s' }), {
      onOutput: injectOn(/Submitted step (s-\w+)/, ([, fresh = '']) => {
        cancelled = fresh
        void t
          .until(
            () => t.steps().find((s) => s.id === fresh)?.state === 'RUNNING',
            10_000,
            'RUNNING',
          )
          .then(() => new Promise((r) => setTimeout(r, 1_500)))
          .then(() => ctx.stack.cancelFromConsole(fresh))
      }),
    })
    expect(cancelled).not.toBe('')
    expect(run.exitCode, transcript(run)).toBe(1)
    expect(run.outputs.result).toBe('rolled-back')
    const inv = await t.invariants()
    expect(
      inv.driverOverlaps.map(([a, b]) => [a.stepId, b.stepId]),
      transcript(run),
    ).toEqual([])
    await expectConverged(t, 'v1')
  }, 90_000)

  it('5. renewals that fail for longer than the lease while the old driver drains: the run submits nothing', async () => {
    const t = await freshApp(ctx.stack, 'renew-fail')
    await t.seed('v1', 'slow-drain', { drainMs: 12_000 })
    const lockKey = new RegExp(`^${t.appKey}/lock$`)
    let stop: () => void = () => {}
    const run = await t.run(t.inputs({ jar: await t.jar('v2') }), {
      extraEnv: SHORT_LEASE,
      onOutput: injectOn(/Deleted 1 marker/, () => {
        stop = ctx.stack.failS3({
          method: 'PUT',
          key: lockKey,
          fault: 'error',
          status: 503,
          forMs: 30_000,
        })
      }),
    })
    stop()
    expect(run.exitCode, transcript(run)).toBe(1)
    expect(run.stdout).toMatch(/Lost the deploy lock/)
    expect(run.stdout).not.toMatch(/Submitted step/)
    expect(sparkSteps(t)).toHaveLength(1)
    expectDataSafe(await t.invariants())

    const rerun = await t.run(t.inputs({ jar: await t.jar('v2') }), { extraEnv: SHORT_LEASE })
    expect(rerun.exitCode, transcript(rerun)).toBe(0)
    await expectConverged(t, 'v2')
  }, 90_000)

  it('5. a renewal request that hangs: the loss is noticed on time and nothing is submitted', async () => {
    const t = await freshApp(ctx.stack, 'renew-hang')
    await t.seed('v1', 'slow-drain', { drainMs: 12_000 })
    const lockKey = new RegExp(`^${t.appKey}/lock$`)
    let stop: () => void = () => {}
    const run = await t.run(t.inputs({ jar: await t.jar('v2') }), {
      extraEnv: SHORT_LEASE,
      onOutput: injectOn(/Deleted 1 marker/, () => {
        stop = ctx.stack.failS3({ method: 'PUT', key: lockKey, fault: 'hang', forMs: 30_000 })
      }),
    })
    stop()
    expect(run.exitCode, transcript(run)).toBe(1)
    // Declared by the lease's own watchdog while the request still hangs, not by its failure.
    expect(run.stdout).toMatch(/Lost the deploy lock[^\n]*no renewal succeeded for/)
    expect(run.stdout).not.toMatch(/Submitted step/)
    expectDataSafe(await t.invariants())
  }, 90_000)
})
