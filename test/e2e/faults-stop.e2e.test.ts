// Fault e2e, part 2: a new jar that crashes (rollback), an old driver that ignores its marker
// (on-stop-timeout fail / kill), and the runner cancelling the job (SIGINT, then SIGTERM 7.5 s
// later) during the stop wait and during verify, followed by the post step.
import { expect, it } from 'vitest'
import {
  describeWithStack,
  errorOf,
  expectConverged,
  expectDataSafe,
  freshApp,
  transcript,
} from './faults-support.ts'

/** The runner's cancellation: SIGINT, then SIGTERM 7.5 s later if the step is still alive. */
const cancelOn = (onStdout: string | RegExp) =>
  ({ signal: 'SIGINT', onStdout, then: { signal: 'SIGTERM', afterMs: 7500 } }) as const

describeWithStack('fault e2e: rollback, stuck drivers, cancellation', (ctx) => {
  it('a new jar that crashes on start is rolled back: v1 runs again, result rolled-back', async () => {
    const t = await freshApp(ctx.stack, 'crash')
    const seed = await t.seed('v1')
    const jar = await t.jar('v2', 'crash-after-start', { crashAfterMs: 500 })
    // A window that outlasts the driver's start (a node process) plus its 500 ms to the crash.
    const run = await t.run(t.inputs({ jar, 'stable-for': '3s' }))

    expect(run.exitCode, transcript(run)).toBe(1)
    expect(run.outputs.result).toBe('rolled-back')
    const failed = t
      .steps()
      .find(
        (s) =>
          s.name.startsWith(`rollover:${t.app}:`) &&
          !s.name.endsWith('-rb') &&
          s.id !== seed.stepId,
      )
    const rollback = t.steps().find((s) => s.name.endsWith('-rb'))
    expect(failed?.state).toBe('FAILED')
    expect(rollback?.state).toBe('RUNNING')
    expect(errorOf(run)).toMatch(
      new RegExp(
        `The new step ${failed?.id} (died|did not start): .*simulated crash.*Rolled back: ${rollback?.id} runs the previous version again`,
        's',
      ),
    )
    expect(run.outputs['step-id']).toBe(rollback?.id)
    expect(run.outputs['previous-step-id']).toBe(seed.stepId)
    // The summary shows both attempts.
    expect(run.summary).toMatch(/Rolled back/)
    expect(run.summary).toContain(`| New step | \`${failed?.id}\``)
    expect(run.summary).toContain(`| Rollback step | \`${rollback?.id}\` — running |`)
    // The rollback runs the old configuration: the same jar and arguments as the seed's step.
    const jarOf = (args: readonly string[] | undefined) => args?.find((a) => a.endsWith('.jar'))
    const seedStep = t.steps().find((s) => s.id === seed.stepId)
    expect(jarOf(rollback?.args)).toBe(jarOf(seedStep?.args))
    await expectConverged(t, 'v1')
  }, 60_000)

  it('with rollback false, a crashing jar leaves nothing running and says so', async () => {
    const t = await freshApp(ctx.stack, 'norb')
    await t.seed('v1')
    const jar = await t.jar('v2', 'crash-after-start', { crashAfterMs: 300 })
    const run = await t.run(t.inputs({ jar, rollback: 'false', 'stable-for': '3s' }))
    expect(run.exitCode, transcript(run)).toBe(1)
    expect(errorOf(run)).toMatch(/Nothing of this app runs now \('rollback' is false\)/)
    expect(await t.liveDrivers()).toEqual([])
    expect(await t.markers()).toEqual([])
    expect(await t.lockBody()).toBeUndefined()
    expectDataSafe(await t.invariants())
  }, 60_000)

  it('a driver that ignores its marker, on-stop-timeout fail: run fails, old driver keeps running with its marker back', async () => {
    const t = await freshApp(ctx.stack, 'stuck')
    const seed = await t.seed('v1', 'ignore-marker')
    const run = await t.run(t.inputs({ jar: await t.jar('v2'), 'stop-timeout': '3s' }))

    expect(run.exitCode, transcript(run)).toBe(1)
    expect(errorOf(run)).toMatch(
      new RegExp(
        `The running driver is not confirmed gone within stop-timeout \\(3\\.0s\\):\\n- ${seed.stepId} \\(RUNNING\\): its step is RUNNING\\.\\nNothing was submitted\\. The marker was written back`,
      ),
    )
    expect(errorOf(run)).toMatch(/on-stop-timeout: kill/)
    expect(t.steps().map((s) => [s.id, s.state])).toEqual([[seed.stepId, 'RUNNING']])
    expect(await t.markers()).toEqual([seed.markerKey])
    expect((await t.liveDrivers()).map((d) => d.version)).toEqual(['v1'])
    expect(await t.lockBody()).toBeUndefined()
    expectDataSafe(await t.invariants())
  }, 60_000)

  it('a driver that ignores its marker and SIGTERM, on-stop-timeout kill: cancel + kill step, then v2 runs', async () => {
    const t = await freshApp(ctx.stack, 'killit')
    const seed = await t.seed('v1', 'ignore-marker', { ignoreSigterm: true })
    const run = await t.run(
      t.inputs({ jar: await t.jar('v2'), 'stop-timeout': '3s', 'on-stop-timeout': 'kill' }),
    )

    expect(run.exitCode, transcript(run)).toBe(0)
    expect(run.outputs.result).toBe('deployed')
    expect(run.outputs['previous-step-state']).toBe('KILLED')
    expect(run.stdout).toMatch(/Killing through YARN/)
    expect(run.stdout).toContain(`Cancelled step ${seed.stepId}`)
    expect(run.stdout).toMatch(/Kill confirmed: no application tagged for s-\w+/)
    const old = ctx.stack.emr.apps().find((a) => a.stepId === seed.stepId)
    expect(old).toMatchObject({ alive: false, signal: 'SIGKILL' })
    expect(t.steps().find((s) => s.id === seed.stepId)?.state).toBe('CANCELLED')
    expect(run.summary).toMatch(/forced: YARN kill/)
    // The killed driver's uncommitted batch is redone by v2: nothing lost, nothing committed twice.
    await expectConverged(t, 'v2')
  }, 60_000)

  it('cancelled during the stop wait while the old driver drains quickly: the new step is still submitted', async () => {
    const t = await freshApp(ctx.stack, 'cxl-drain')
    await t.seed('v1', 'slow-drain', { drainMs: 1500 })
    const inputs = t.inputs({ jar: await t.jar('v2') })
    const run = await t.run(inputs, { signal: cancelOn(/Waiting up to .* to finish the batches/) })

    expect(run.signalled).toBe(true)
    expect(run.exitCode, transcript(run)).toBe(1)
    expect(run.stdout).toMatch(/Received SIGINT/)
    expect(run.stdout).not.toMatch(/Received SIGTERM/)
    const submitted = /Submitted step (s-\w+)/.exec(run.stdout)?.[1]
    expect(submitted, 'the window was closed: the new step was submitted').toBeDefined()
    expect(errorOf(run)).toContain(`the new step ${submitted} was submitted but not verified`)
    expect(run.outputs['step-id']).toBe(submitted)
    // main released the lock itself; the post step finds nothing left to do.
    expect(await t.lockBody()).toBeUndefined()
    const post = await t.run(inputs, { entry: 'post', state: run.state })
    expect(post.exitCode, transcript(post)).toBe(0)
    expect(await t.lockBody()).toBeUndefined()
    await expectConverged(t, 'v2')
  }, 60_000)

  it('cancelled during the stop wait while the old driver drains slowly: fails saying nothing new was submitted, a re-run finishes', async () => {
    const t = await freshApp(ctx.stack, 'cxl-slow')
    const seed = await t.seed('v1', 'slow-drain', { drainMs: 8000 })
    const inputs = t.inputs({ jar: await t.jar('v2') })
    const runId = t.newRunId()
    const run = await t.run(inputs, {
      runId,
      signal: cancelOn(/Waiting up to .* to finish the batches/),
    })

    expect(run.exitCode, transcript(run)).toBe(1)
    expect(run.stdout).not.toMatch(/Submitted step/)
    expect(errorOf(run)).toMatch(
      new RegExp(
        `Cancelled while ${seed.stepId} \\(RUNNING\\) was stopping: the marker is deleted and nothing new was submitted\\. Re-run`,
      ),
    )
    expect(await t.lockBody()).toBeUndefined()
    const post = await t.run(inputs, { entry: 'post', state: run.state })
    expect(post.exitCode, transcript(post)).toBe(0)
    expect(await t.markers()).toEqual([])
    expect(t.steps().map((s) => s.id)).toEqual([seed.stepId])

    const rerun = await t.run(inputs, { runId, attempt: 2 })
    expect(rerun.exitCode, transcript(rerun)).toBe(0)
    await expectConverged(t, 'v2')
  }, 60_000)

  it('cancelled during verify: fails naming the unverified new step that runs now; post leaves no lock', async () => {
    const t = await freshApp(ctx.stack, 'cxl-verify')
    await t.seed('v1')
    const inputs = t.inputs({ jar: await t.jar('v2'), 'stable-for': '10s' })
    const run = await t.run(inputs, { signal: cancelOn(/is RUNNING; (watching|waiting)/) })

    expect(run.exitCode, transcript(run)).toBe(1)
    const submitted = /Submitted step (s-\w+)/.exec(run.stdout)?.[1]
    expect(submitted).toBeDefined()
    expect(errorOf(run)).toMatch(/Cancelled/)
    // The cancel ends verify where it is: the 10 s of stable-for are not waited out.
    expect(errorOf(run)).toMatch(
      /stopped being watched (before it reached RUNNING|after watching it RUNNING)/,
    )
    expect(run.stdout).not.toMatch(/stayed up for|kept committing through stable-for/)
    expect(errorOf(run), 'the message says what runs now').toContain(submitted)
    expect(await t.lockBody()).toBeUndefined()
    const post = await t.run(inputs, { entry: 'post', state: run.state })
    expect(post.exitCode, transcript(post)).toBe(0)
    expect(await t.lockBody()).toBeUndefined()
    await expectConverged(t, 'v2')
  }, 60_000)
})
