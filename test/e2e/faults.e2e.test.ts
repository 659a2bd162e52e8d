// Fault e2e, part 1: crash-safe reruns and concurrent runs, on the local stack (moto S3 + the EMR
// emulator running real driver processes) against the bundled dist/index.js, as the runner runs it.
// The action is a reconciler (DESIGN.md): killed at any phase boundary, a re-run of the workflow
// must converge to "the new jar runs, exactly one driver, one marker", losing no record.
import { expect, it } from 'vitest'
import {
  describeWithStack,
  errorOf,
  expectConverged,
  freshApp,
  transcript,
} from './faults-support.ts'

/**
 * A lease of seconds (ROLLOVER_TIMINGS), for the killed run and its re-run: a re-run waits the
 * killed attempt's lease out (a runner that lost GitHub may still run it); the real one lasts a
 * minute.
 */
const SHORT_LEASE = {
  // Short enough for a re-run to wait it out in a test, long enough that a renewal every 2 s on
  // a loaded CI machine (load 15 on 2 cores) does not lose it at the end of the run.
  ROLLOVER_TIMINGS: JSON.stringify({ lockLeaseMs: 10_000, lockRenewEveryMs: 2_000 }),
}

describeWithStack('fault e2e: crash-safe reruns and concurrent runs', (ctx) => {
  // Each kill point is a log line the action prints right after the boundary it names.
  const killPoints: Array<[string, string | RegExp]> = [
    ['after staging the jar', /Uploaded .* to s3:\/\//],
    ['after taking the lock', 'Holding the deploy lock'],
    ['after deleting the marker', /Deleted \d+ marker\(s\)/],
    ['after the old step ended', / ended COMPLETED\./],
    ['after writing the new marker', /Wrote marker .*; submitting the step\./],
    ['after submitting the new step', /Submitted step s-/],
  ]

  it.each(killPoints)(
    'SIGKILLed %s, a re-run attempt converges to v2',
    { timeout: 90_000 },
    async (_name, point) => {
      const t = await freshApp(ctx.stack, 'kill')
      await t.seed('v1')
      const inputs = t.inputs({ jar: await t.jar('v2') })
      const runId = t.newRunId()

      const killed = await t.run(inputs, {
        runId,
        attempt: 1,
        extraEnv: SHORT_LEASE,
        signal: { signal: 'SIGKILL', onStdout: point },
      })
      expect(killed.signal, transcript(killed)).toBe('SIGKILL')
      expect(killed.stdout).toMatch(point)

      // Re-run attempt 2 of the same workflow run: takes the lock over once its lease is out.
      const rerun = await t.run(inputs, { runId, attempt: 2, extraEnv: SHORT_LEASE })
      expect(rerun.exitCode, transcript(rerun)).toBe(0)
      // Not 'first-deploy' even when nothing ran any more: current.json names the last deploy.
      expect(rerun.outputs.result).toBe('deployed')
      await expectConverged(t, 'v2')
      expect(t.steps().find((s) => s.id === rerun.outputs['step-id'])?.state).toBe('RUNNING')
    },
  )

  it('killed after the old step ended, a re-run whose jar crashes still rolls back to v1', async () => {
    const t = await freshApp(ctx.stack, 'kill-rb')
    const seed = await t.seed('v1')
    const jar = await t.jar('v2', 'crash-after-start', { crashAfterMs: 500 })
    const inputs = t.inputs({ jar, 'stable-for': '3s' })
    const runId = t.newRunId()
    const killed = await t.run(inputs, {
      runId,
      extraEnv: SHORT_LEASE,
      signal: { signal: 'SIGKILL', onStdout: / ended COMPLETED\./ },
    })
    expect(killed.signal).toBe('SIGKILL')

    // Nothing runs now, but current.json names the last verified deployment: not a first deploy.
    const rerun = await t.run(inputs, { runId, attempt: 2, extraEnv: SHORT_LEASE })
    expect(rerun.exitCode, transcript(rerun)).toBe(1)
    expect(rerun.outputs.result, transcript(rerun)).toBe('rolled-back')
    expect(errorOf(rerun)).toMatch(/Rolled back: s-\w+ runs the previous version again/)
    const rollback = t.steps().find((s) => s.name.endsWith('-rb'))
    const jarOf = (args: readonly string[] | undefined) => args?.find((a) => a.endsWith('.jar'))
    expect(jarOf(rollback?.args)).toBe(jarOf(t.steps().find((s) => s.id === seed.stepId)?.args))
    await expectConverged(t, 'v1')
  }, 90_000)

  it('a brand-new run waits for the dead run’s lease, names the holder, and takes it over once unchanged for a lease', async () => {
    const t = await freshApp(ctx.stack, 'lease')
    await t.seed('v1')
    const inputs = t.inputs({ jar: await t.jar('v2') })
    // A lease of seconds (ROLLOVER_TIMINGS), for both runs: the real one lasts a minute.
    const extraEnv = {
      // Short enough for a re-run to wait it out in a test, long enough that a renewal every 2 s on
      // a loaded CI machine (load 15 on 2 cores) does not lose it at the end of the run.
      ROLLOVER_TIMINGS: JSON.stringify({ lockLeaseMs: 10_000, lockRenewEveryMs: 2_000 }),
    }
    const deadRunId = t.newRunId()
    const killed = await t.run(inputs, {
      runId: deadRunId,
      extraEnv,
      signal: { signal: 'SIGKILL', onStdout: 'Holding the deploy lock' },
    })
    expect(killed.signal).toBe('SIGKILL')
    const lock = await t.lockBody()
    expect(lock).toContain(deadRunId)

    // A new run with a lock-timeout shorter than the lease gives up, naming the holder.
    const blocked = await t.run({ ...inputs, 'lock-timeout': '2s' }, { extraEnv })
    expect(blocked.exitCode, transcript(blocked)).toBe(1)
    expect(errorOf(blocked)).toMatch(
      new RegExp(`Another rollover of '${t.app}' holds the deploy lock: .*runs/${deadRunId}\\b`),
    )
    expect(errorOf(blocked)).toMatch(/raise 'lock-timeout'/)

    // Whatever its expiresAt says, the lock is taken over once it stayed unchanged for a lease.
    const next = await t.run(inputs, { extraEnv })
    expect(next.exitCode, transcript(next)).toBe(0)
    expect(next.stdout).toMatch(
      /Took over the deploy lock of .*runs\/\d+.*unchanged for \d+\.\ds, a whole lease/,
    )
    await expectConverged(t, 'v2')
  }, 60_000)

  it('the post step releases the lock of a killed main step, so a new run starts at once', async () => {
    const t = await freshApp(ctx.stack, 'post')
    await t.seed('v1')
    const inputs = t.inputs({ jar: await t.jar('v2') })
    const killed = await t.run(inputs, {
      signal: { signal: 'SIGKILL', onStdout: /Deleted \d+ marker\(s\)/ },
    })
    expect(killed.signal).toBe('SIGKILL')
    expect(killed.state.lock, 'main saved the lock for post').toContain(`${t.appKey}/lock`)
    expect(await t.lockBody()).toBeDefined()

    const post = await t.run(inputs, { entry: 'post', state: killed.state })
    expect(post.exitCode, transcript(post)).toBe(0)
    expect(post.stdout).toMatch(/Released the deploy lock/)
    expect(await t.lockBody()).toBeUndefined()

    // lock-timeout 0s: a lock left behind would fail this run at once.
    const next = await t.run({ ...inputs, 'lock-timeout': '0s' })
    expect(next.exitCode, transcript(next)).toBe(0)
    expect(next.stdout).not.toMatch(/Waiting for the deploy lock/)
    await expectConverged(t, 'v2')
  }, 60_000)

  it('two runs at once: the second waits for the lock, then rolls the first one’s deploy over', async () => {
    const t = await freshApp(ctx.stack, 'pair')
    await t.seed('v1')
    const [v2, v3] = await Promise.all([t.jar('v2'), t.jar('v3')])
    const [a, b] = await Promise.all([
      t.run(t.inputs({ jar: v2, 'lock-timeout': '60s' })),
      t.run(t.inputs({ jar: v3, 'lock-timeout': '60s' })),
    ])
    expect(a.exitCode, transcript(a)).toBe(0)
    expect(b.exitCode, transcript(b)).toBe(0)
    const [first, second] = a.stdout.includes('Waiting for the deploy lock') ? [b, a] : [a, b]
    expect(first.stdout).not.toMatch(/Waiting for the deploy lock/)
    expect(second.stdout).toMatch(/Waiting for the deploy lock of '.*', held by .*runs\//)
    // The second reconciled after the wait: it stopped what the first had just deployed.
    expect(second.outputs['previous-step-id']).toBe(first.outputs['step-id'])
    await expectConverged(t, second === a ? 'v2' : 'v3')
  }, 90_000)

  it('two runs at once with a short lock-timeout: the loser fails naming the holder, nothing breaks', async () => {
    const t = await freshApp(ctx.stack, 'race')
    await t.seed('v1')
    const v2 = await t.jar('v2')
    const [runA, runB] = [t.newRunId(), t.newRunId()]
    const [a, b] = await Promise.all([
      t.run(t.inputs({ jar: v2, 'lock-timeout': '1s' }), { runId: runA }),
      t.run(t.inputs({ jar: v2, 'lock-timeout': '1s' }), { runId: runB }),
    ])
    const [winner, loser, winnerId] = a.exitCode === 0 ? [a, b, runA] : [b, a, runB]
    expect(winner.exitCode, transcript(winner)).toBe(0)
    expect(winner.outputs.result).toBe('deployed')
    expect(loser.exitCode, transcript(loser)).toBe(1)
    expect(errorOf(loser)).toMatch(
      new RegExp(`Another rollover of '${t.app}' holds the deploy lock: .*runs/${winnerId}\\b`),
    )
    // The loser changed nothing: one step was submitted, by the winner.
    expect(t.steps().filter((s) => s.name.startsWith('rollover:')).length).toBe(2)
    await expectConverged(t, 'v2')
  }, 60_000)
})
