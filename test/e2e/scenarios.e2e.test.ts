// The test stack's scenarios, each played against the bundled action: a cancel from the EMR
// console, a kill step the ResourceManager refuses, a driver that acknowledges and stays, an
// action paused past its lock lease, S3 faults on the action's own requests, and two apps on
// one cluster. What every test asserts is what must hold whatever the action's wording: the
// data is safe, never two drivers at once, and a run either converges or changes nothing.
import { expect, it } from 'vitest'
import { appIdentity, appTag } from '../../src/contract/identity.ts'
import type { StackApp } from '../emulator/stack.ts'
import {
  describeWithStack,
  expectConverged,
  expectDataSafe,
  freshApp,
  transcript,
  type TestApp,
} from './faults-support.ts'

const sparkSteps = (t: TestApp) => t.steps().filter((s) => s.args[0] === 'spark-submit')
const batchesOf = async (t: TestApp, stepId: string, after = 0) =>
  (await t.stack.readActivity(t.state)).filter(
    (e) => e.event === 'batch-end' && e.stepId === stepId && e.t > after,
  ).length

describeWithStack('scenarios of the test stack', (ctx) => {
  it('a cancel from the EMR console (not the action’s, not counted): the next run still stops that driver', async () => {
    const t = await freshApp(ctx.stack, 'console')
    const seed = await t.seed('v1')
    ctx.stack.emr.resetCounts()
    expect(await ctx.stack.cancelFromConsole(seed.stepId)).toEqual({ Status: 'SUBMITTED' })
    await t.until(
      () => t.steps().find((s) => s.id === seed.stepId)?.state === 'CANCELLED',
      10_000,
      'CANCELLED',
    )
    expect(ctx.stack.emr.snapshot().counts).toEqual({})
    // The cancel reached spark-submit only: the driver processes on.
    const cancelledAt = Date.now()
    await t.until(
      async () => (await batchesOf(t, seed.stepId, cancelledAt)) >= 2,
      10_000,
      'batches',
    )

    const run = await t.run(t.inputs({ jar: await t.jar('v2') }))
    expect(run.exitCode, transcript(run)).toBe(0)
    await expectConverged(t, 'v2')
  }, 60_000)

  it('a kill step the ResourceManager refuses (401) fails the run with nothing submitted; once it answers, a re-run kills and converges', async () => {
    const t = await freshApp(ctx.stack, 'rm401')
    const seed = await t.seed('v1', 'ignore-marker')
    ctx.stack.setResourceManager('unauthorized')
    const inputs = t.inputs({
      jar: await t.jar('v2'),
      'stop-timeout': '3s',
      'on-stop-timeout': 'kill',
    })
    const run = await t.run(inputs)
    expect(run.exitCode, transcript(run)).toBe(1)
    const kill = t.steps().find((s) => s.args[0] === 'bash')
    expect(kill?.state, 'the kill step').toBe('FAILED')
    expect(kill?.failure?.Message).toMatch(/HTTP 401/)
    expect(sparkSteps(t).map((s) => s.id)).toEqual([seed.stepId])
    expect((await t.liveDrivers()).map((d) => d.stepId)).toEqual([seed.stepId])
    expectDataSafe(await t.invariants())

    ctx.stack.setResourceManager('ok')
    const rerun = await t.run(inputs)
    expect(rerun.exitCode, transcript(rerun)).toBe(0)
    await expectConverged(t, 'v2')
  }, 90_000)

  it('a driver that acknowledges its stop and stays: no second driver while it lives', async () => {
    const t = await freshApp(ctx.stack, 'ackstay')
    const seed = await t.seed('v1', 'ack-and-stay')
    const run = await t.run(
      t.inputs({ jar: await t.jar('v2'), 'stop-timeout': '4s', 'on-stop-timeout': 'kill' }),
    )
    const inv = await t.invariants()
    expect(
      inv.driverOverlaps.map(([a, b]) => [a.stepId, b.stepId]),
      transcript(run),
    ).toEqual([])
    expect(await t.stack.readActivity(t.state)).toContainEqual(
      expect.objectContaining({ event: 'stopped', stepId: seed.stepId }),
    )
    expect(run.exitCode, transcript(run)).toBe(0)
    await expectConverged(t, 'v2')
  }, 60_000)

  it('an action paused past its lock lease loses the lock to the next run and changes nothing after', async () => {
    const t = await freshApp(ctx.stack, 'paused')
    await t.seed('v1')
    const extraEnv = {
      ROLLOVER_TIMINGS: JSON.stringify({ lockLeaseMs: 6_000, lockRenewEveryMs: 2_000 }),
    }
    let holding: () => void = () => {}
    const held = new Promise<void>((resolve) => (holding = resolve))
    let seen = ''
    const paused = t.run(t.inputs({ jar: await t.jar('v2') }), {
      extraEnv,
      pause: { onStdout: 'Holding the deploy lock', forMs: 15_000 },
      onOutput: (chunk) => {
        seen += chunk
        if (seen.includes('Holding the deploy lock')) holding()
      },
    })
    await held
    const next = await t.run(t.inputs({ jar: await t.jar('v3') }), { extraEnv })
    const first = await paused
    expect(first.pausedAt, 'the helper stopped the action').toBeDefined()
    expect(first.resumedAt).toBeGreaterThanOrEqual((first.pausedAt ?? 0) + 15_000)
    // Nothing came out of a stopped process.
    const during = first.chunks.filter(
      (c) => c.t > (first.pausedAt ?? 0) + 100 && c.t < (first.resumedAt ?? 0) - 100,
    )
    expect(during).toEqual([])
    expect(next.exitCode, transcript(next)).toBe(0)
    expect(first.exitCode, transcript(first)).not.toBe(0)
    // v2 (the paused run's jar) never ran.
    const versions = (await t.stack.readActivity(t.state))
      .filter((e) => e.event === 'driver-start')
      .map((e) => e.version)
    expect(versions).not.toContain('v2')
    await expectConverged(t, 'v3')
  }, 90_000)

  it("S3 faults hit the action's requests only: lock PUTs answered 503, a lock whose create response is lost", async () => {
    const t = await freshApp(ctx.stack, 's3faults')
    const seed = await t.seed('v1')
    const lockKey = new RegExp(`^${t.appKey}/lock$`)
    ctx.stack.failS3({ method: 'PUT', key: lockKey, fault: 'error', status: 503, count: 2 })
    ctx.stack.failS3({ method: 'PUT', key: lockKey, fault: 'drop-response', count: 1 })
    const from = Date.now()
    const run = await t.run(t.inputs({ jar: await t.jar('v2') }))
    const puts = ctx.stack.s3Proxy.requestsMatching('PUT', lockKey).filter((r) => r.t >= from)
    expect(puts.slice(0, 3).map((r) => r.fault)).toEqual(['error', 'error', 'drop-response'])
    // The drivers reach moto directly: the old one committed while the action met the faults.
    expect(ctx.stack.s3Proxy.requests.some((r) => r.key.includes('/output/batch-'))).toBe(false)
    expect(await batchesOf(t, seed.stepId, from)).toBeGreaterThan(0)
    expect(run.exitCode, transcript(run)).toBe(0)
    await expectConverged(t, 'v2')
  }, 60_000)

  it('two apps on one cluster, and the same name under another marker prefix: a rollover touches only its own', async () => {
    const t = await freshApp(ctx.stack, 'shared', { concurrency: 4 })
    await t.seed('v1')
    const jar = await ctx.stack.makeJar('o1', 'ok', { upload: true })
    const other = await ctx.stack.addApp(`${t.app}-other`, { clusterId: t.clusterId })
    const twin = await ctx.stack.addApp(t.app, {
      markerPrefix: 'other-team',
      stream: `${t.app}-twin`,
      clusterId: t.clusterId,
    })
    const started = await Promise.all([other.startApp(jar), twin.startApp(jar)])
    const alive = async (app: StackApp, stepId: string, after: number) =>
      (await ctx.stack.readActivity(app.statePrefix)).filter(
        (e) => e.event === 'batch-end' && e.stepId === stepId && e.t > after,
      ).length
    await t.until(
      async () =>
        (await alive(other, started[0].stepId, 0)) > 0 &&
        (await alive(twin, started[1].stepId, 0)) > 0,
      20_000,
      'both other apps to commit',
    )
    // Same name, another prefix: another identity, so other tags and step names.
    const ours = appIdentity({ bucket: ctx.stack.bucket, key: 'rollover' }, t.app)
    expect(twin.identity.id).not.toBe(ours.id)
    expect(appTag(twin.identity)).not.toBe(appTag(ours))

    const from = Date.now()
    const run = await t.run(
      t.inputs({ jar: await t.jar('v2'), 'stop-timeout': '5s', 'on-stop-timeout': 'kill' }),
    )
    expect(run.exitCode, transcript(run)).toBe(0)
    for (const [i, app] of [other, twin].entries()) {
      const stepId = started[i]?.stepId as string
      expect(ctx.stack.emr.step(stepId)?.state, app.markerPrefix).toBe('RUNNING')
      expect(await app.markers()).toEqual([started[i]?.markerKey])
      await t.until(
        async () => (await alive(app, stepId, from)) >= 2,
        10_000,
        'the other app to go on',
      )
      expect((await app.checkInvariants()).ok).toBe(true)
    }
    await t.until(async () => (await t.liveDrivers()).length === 1, 10_000, 'one driver of the app')
    expect((await t.liveDrivers())[0]?.version).toBe('v2')
    expectDataSafe(await t.invariants())
  }, 90_000)
})
