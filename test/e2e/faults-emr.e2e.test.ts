// Fault e2e, part 3: transient EMR throttling and 5xx in each phase, injected by the emulator in
// front of the real SDK client of the bundled action. The trouble must be absorbed: by the SDK's
// retries, and past them by the poll loops' backoff. Persistent trouble: faults-emr-persistent.
import { expect, it } from 'vitest'
import {
  describeWithStack,
  expectConverged,
  failNext,
  freshApp,
  injectOn,
  transcript,
} from './faults-support.ts'

describeWithStack('fault e2e: transient EMR throttling and server errors', (ctx) => {
  it('preflight: throttled ListSteps and 5xx DescribeCluster are retried, the run succeeds', async () => {
    const t = await freshApp(ctx.stack, 'pre')
    await t.seed('v1')
    ctx.stack.emr.resetCounts()
    failNext(ctx.stack, 'DescribeCluster', 3, '5xx')
    failNext(ctx.stack, 'ListSteps', 2, 'throttle')
    const run = await t.run(t.inputs({ jar: await t.jar('v2') }))
    expect(run.exitCode, transcript(run)).toBe(0)
    expect(run.outputs.result).toBe('deployed')
    expect(ctx.stack.emr.serverErrors.DescribeCluster).toBe(3)
    expect(ctx.stack.emr.throttled.ListSteps).toBe(2)
    await expectConverged(t, 'v2')
  }, 60_000)

  it('stop wait: DescribeStep 5xx past the SDK retries backs off and still confirms the stop', async () => {
    const t = await freshApp(ctx.stack, 'stopwait')
    await t.seed('v1')
    ctx.stack.emr.resetCounts()
    // Eight 5xx in a row: more than one look at EMR can absorb (each is retried for one EMR
    // poll interval, so that the driver's acknowledgement in S3 is watched meanwhile).
    const run = await t.run(t.inputs({ jar: await t.jar('v2') }), {
      onOutput: injectOn(/Waiting up to/, () => failNext(ctx.stack, 'DescribeStep', 8, '5xx')),
    })
    expect(run.exitCode, transcript(run)).toBe(0)
    expect(run.stdout).toMatch(/busy \(.*\); next check in/)
    expect(ctx.stack.emr.serverErrors.DescribeStep).toBe(8)
    await expectConverged(t, 'v2')
  }, 60_000)

  it('submit: AddJobFlowSteps answering 5xx twice is retried by the SDK: one step, one driver', async () => {
    const t = await freshApp(ctx.stack, 'submit')
    await t.seed('v1')
    ctx.stack.emr.resetCounts()
    failNext(ctx.stack, 'AddJobFlowSteps', 2, '5xx')
    const run = await t.run(t.inputs({ jar: await t.jar('v2') }))
    expect(run.exitCode, transcript(run)).toBe(0)
    expect(ctx.stack.emr.serverErrors.AddJobFlowSteps).toBe(2)
    expect(t.steps()).toHaveLength(2)
    await expectConverged(t, 'v2')
  }, 60_000)

  it('verify: DescribeStep throttled is retried, 5xx past the SDK retries backs off: still verifies', async () => {
    const t = await freshApp(ctx.stack, 'verify')
    await t.seed('v1')
    ctx.stack.emr.resetCounts()
    // Throttled while waiting for RUNNING, then 5xx during the stable-for watch.
    const onSubmitted = injectOn(/Submitted step/, () =>
      failNext(ctx.stack, 'DescribeStep', 2, 'throttle'),
    )
    const onRunning = injectOn(/is RUNNING; (watching|waiting)/, () =>
      failNext(ctx.stack, 'DescribeStep', 4, '5xx'),
    )
    // Judged by EMR state: a driver's reports would prove it RUNNING without asking EMR. After
    // the two throttles the run paces DescribeStep at 0.1/s, so the four 5xx take about 40 s to
    // get through: start-timeout (the time EMR may take to confirm after stable-for) allows it.
    const inputs = t.inputs({
      jar: await t.jar('v2'),
      'stable-for': '10s',
      'start-timeout': '2m',
      'verify-by': 'emr-state',
    })
    const run = await t.run(inputs, {
      onOutput: (chunk) => {
        onSubmitted(chunk)
        onRunning(chunk)
      },
    })
    expect(run.exitCode, transcript(run)).toBe(0)
    expect(run.stdout).toMatch(/EMR busy \(.*\); next check in/)
    expect(ctx.stack.emr.throttled.DescribeStep).toBe(2)
    expect(ctx.stack.emr.serverErrors.DescribeStep).toBe(4)
    expect(run.outputs.result).toBe('deployed')
    await expectConverged(t, 'v2')
  }, 120_000)

  it('random throttling and 5xx on every EMR call: the run still succeeds', async () => {
    const t = await freshApp(ctx.stack, 'noisy')
    await t.seed('v1')
    ctx.stack.emr.resetCounts()
    // Random faults on top of two certain ones, so the run always meets both kinds.
    ctx.stack.emr.setFaults({
      throttleRate: 0.2,
      errorRate: 0.1,
      failNext: {
        ListSteps: { count: 1, kind: 'throttle' },
        DescribeStep: { count: 1, kind: '5xx' },
      },
    })
    const run = await t.run(t.inputs({ jar: await t.jar('v2') }), {
      // Random throttling makes the run slow by design (its pacing halves on every throttle).
      timeoutMs: 140_000,
    })
    ctx.stack.emr.setFaults({ throttleRate: 0, errorRate: 0, failNext: {} })
    expect(run.exitCode, transcript(run)).toBe(0)
    const sum = (counts: Record<string, number>): number =>
      Object.values(counts).reduce((a, b) => a + b, 0)
    expect(sum(ctx.stack.emr.throttled)).toBeGreaterThan(0)
    expect(sum(ctx.stack.emr.serverErrors)).toBeGreaterThan(0)
    await expectConverged(t, 'v2')
  }, 150_000)
})
