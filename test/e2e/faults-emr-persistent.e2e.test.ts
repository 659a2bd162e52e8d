// Fault e2e, part 4: EMR failing for longer than the SDK retries and the poll backoff can absorb.
// The run must fail with a clear message and leave a consistent state (no marker without a live
// driver, no lock, nothing half-submitted) that a re-run converges from; and while EMR answers
// nothing, verify must not pass a driver it never saw alive to the end of stable-for.
import { expect, it } from 'vitest'
import {
  describeWithStack,
  errorOf,
  expectConverged,
  expectDataSafe,
  failNext,
  freshApp,
  injectOn,
  transcript,
} from './faults-support.ts'

/**
 * EMR calls retried for 15 s instead of the real 10 min (ROLLOVER_TIMINGS, a test knob): long
 * enough to ride out a blip, short enough that "persistent" ends inside a test.
 */
const EMR_GIVES_UP_SOON = {
  extraEnv: { ROLLOVER_TIMINGS: JSON.stringify({ emrDeadlineMs: 15_000 }) },
}

describeWithStack('fault e2e: persistent EMR failures', (ctx) => {
  it('verify: a driver that dies while EMR answers 5xx for the whole stable-for window is not passed as stable', async () => {
    const t = await freshApp(ctx.stack, 'blind')
    const seed = await t.seed('v1')
    // Crashes after verify saw it RUNNING (its first check is 1 s after the submit), inside the
    // 5 s window. From RUNNING until 2 s after the window every DescribeStep fails: the crash can
    // only be seen by asking EMR again once it answers.
    const jar = await t.jar('v2', 'crash-after-start', { crashAfterMs: 1500 })
    let recover: NodeJS.Timeout | undefined
    const run = await t.run(t.inputs({ jar, 'stable-for': '5s' }), {
      ...EMR_GIVES_UP_SOON,
      onOutput: injectOn(/is RUNNING; (watching|waiting)/, () => {
        failNext(ctx.stack, 'DescribeStep', 1000, '5xx')
        recover = setTimeout(() => failNext(ctx.stack, 'DescribeStep', 0, '5xx'), 7000)
      }),
    })
    clearTimeout(recover)
    failNext(ctx.stack, 'DescribeStep', 0, '5xx')
    expect(run.stdout).toMatch(/EMR busy \(.*\); next check in/)
    expect(run.outputs.result, transcript(run)).not.toBe('deployed')
    expect(run.exitCode).toBe(1)
    expect(errorOf(run)).toMatch(/The new step s-\w+ died/)
    // Whatever the verdict, the app must run again: the previous version, as a rollback.
    expect(run.outputs.result).toBe('rolled-back')
    await expectConverged(t, 'v1')
    expect(run.outputs['previous-step-id']).toBe(seed.stepId)
  }, 60_000)

  it('persistent throttling in preflight: fails clearly and changes nothing', async () => {
    const t = await freshApp(ctx.stack, 'prefail')
    const seed = await t.seed('v1')
    failNext(ctx.stack, 'ListSteps', 1000, 'throttle')
    const run = await t.run(t.inputs({ jar: await t.jar('v2') }), EMR_GIVES_UP_SOON)
    failNext(ctx.stack, 'ListSteps', 0, 'throttle')
    expect(run.exitCode, transcript(run)).toBe(1)
    // Names the call that failed and says that nothing was changed.
    expect(errorOf(run)).toMatch(/ListSteps/)
    expect(errorOf(run)).toMatch(/Rate exceeded/)
    expect(await t.markers()).toEqual([seed.markerKey])
    expect(t.steps().map((s) => [s.id, s.state])).toEqual([[seed.stepId, 'RUNNING']])
    expect(await t.lockBody()).toBeUndefined()
    expectDataSafe(await t.invariants())
  }, 60_000)

  it('persistent 5xx on AddJobFlowSteps: fails clearly, no orphan marker, a re-run converges', async () => {
    const t = await freshApp(ctx.stack, 'subfail')
    const seed = await t.seed('v1')
    const inputs = t.inputs({ jar: await t.jar('v2') })
    const runId = t.newRunId()
    failNext(ctx.stack, 'AddJobFlowSteps', 1000, '5xx')
    const run = await t.run(inputs, { runId, ...EMR_GIVES_UP_SOON })
    failNext(ctx.stack, 'AddJobFlowSteps', 0, '5xx')
    expect(run.exitCode, transcript(run)).toBe(1)
    const message = errorOf(run)
    expect(message).toMatch(/AddJobFlowSteps|submit/i)
    expect(message, 'says that nothing of the app runs now').toMatch(/nothing|re-run/i)
    expect(await t.markers(), 'no marker without a step').toEqual([])
    expect(t.steps().map((s) => [s.id, s.state])).toEqual([[seed.stepId, 'COMPLETED']])
    expect(await t.liveDrivers()).toEqual([])
    expect(await t.lockBody()).toBeUndefined()

    const rerun = await t.run(inputs, { runId, attempt: 2, ...EMR_GIVES_UP_SOON })
    expect(rerun.exitCode, transcript(rerun)).toBe(0)
    await expectConverged(t, 'v2')
  }, 60_000)

  it('persistent 5xx on every look at steps during the stop wait: fails, and leaves no marker without a live driver', async () => {
    const t = await freshApp(ctx.stack, 'descfail')
    const seed = await t.seed('v1')
    const inputs = t.inputs({ jar: await t.jar('v2'), 'stop-timeout': '4s' })
    failNext(ctx.stack, 'DescribeStep', 1000, '5xx')
    // ListSteps too once the stop waits (preflight lists steps): the end of the acknowledged
    // driver's step is otherwise confirmed through ListSteps.
    const run = await t.run(inputs, {
      ...EMR_GIVES_UP_SOON,
      onOutput: injectOn(/Waiting up to/, () => failNext(ctx.stack, 'ListSteps', 1000, '5xx')),
    })
    failNext(ctx.stack, 'DescribeStep', 0, '5xx')
    failNext(ctx.stack, 'ListSteps', 0, '5xx')
    expect(run.exitCode, transcript(run)).toBe(1)
    expect(run.stdout).not.toMatch(/Submitted step/)
    expect(await t.lockBody()).toBeUndefined()
    // The driver acknowledged its stop and exited: a marker written back would name no driver.
    await t.until(async () => (await t.liveDrivers()).length === 0, 5000, 'the old driver to exit')
    expect(t.steps().map((s) => [s.id, s.state])).toEqual([[seed.stepId, 'COMPLETED']])
    expect(errorOf(run)).not.toMatch(/keeps running/)
    expect(await t.markers(), 'no marker without a live driver').toEqual([])
    expectDataSafe(await t.invariants())

    const rerun = await t.run(inputs, EMR_GIVES_UP_SOON)
    expect(rerun.exitCode, transcript(rerun)).toBe(0)
    await expectConverged(t, 'v2')
  }, 60_000)
})
