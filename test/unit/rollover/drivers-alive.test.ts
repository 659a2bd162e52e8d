// Issue 8, "never two drivers": each way a driver can outlive what a run knows of it, over the
// fake EMR (cluster-mode drivers live on after CancelSteps) and a fake clock. Every test checks
// the invariants: never two drivers of the app alive at once, and a run that exits 0 leaves
// exactly one driver, of the new jar.
import { afterEach, describe, expect, it } from 'vitest'
import { appIdentity, appTag, deploymentTag } from '../../../src/contract/identity.ts'
import { StopTimeout } from '../../../src/rollover/stop.ts'
import { buildSparkStep } from '../../../src/contract/step.ts'
import { UserError } from '../../../src/errors.ts'
import type { FakeApp } from '../../support/fake-emr.ts'
import {
  APP_IDENTITY,
  CURRENT_URI,
  LEDGER_URI,
  NEW_JAR,
  OLD_JAR,
  disposeWorlds,
  makeWorld,
  markerKeys,
  rollover,
  seedDeployment,
  whenDeleted,
  type RunOutcome,
  type World,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

const stopTimeoutMs = 2 * 60_000

/** Drivers of one app, by the app tag every step of it carries. */
function driversOf(w: World, app = APP_IDENTITY): FakeApp[] {
  return w.emr.apps.filter(
    (a) => a.tags.includes(appTag(app)) || a.tags.includes('rollover-orders'),
  )
}

/** No driver a rollover started was alive at the same time as another driver of the app. */
function expectNeverTwoDrivers(w: World, app = APP_IDENTITY): void {
  const apps = driversOf(w, app)
  const started = apps.filter((a) => w.emr.submitted.some((s) => s.id === a.stepId))
  for (const a of started) {
    for (const b of apps) {
      if (a === b) continue
      const aEnd = a.endedAt ?? Infinity
      const bEnd = b.endedAt ?? Infinity
      const overlap = a.startedAt < bEnd && b.startedAt < aEnd
      expect({ a: a.stepId, b: b.stepId, overlap }).toEqual({
        a: a.stepId,
        b: b.stepId,
        overlap: false,
      })
    }
  }
}

/** Exit 0 only when exactly one driver of the app runs, and it runs the new jar. */
function expectHonestOutcome(w: World, out: RunOutcome): void {
  if (out.error) return
  const alive = driversOf(w).filter((a) => a.alive)
  expect(alive).toHaveLength(1)
  expect(w.emr.step(alive[0]?.stepId as string).spec.args).toContain(NEW_JAR)
}

describe('1. the streaming step was cancelled in the EMR console', () => {
  it.each([
    ['deployed by this version (the ledger knows the step)', { ledger: true }],
    ['deployed by an earlier version (found in the recent step history)', { legacy: true }],
  ])(
    '%s: the live driver is stopped by its marker before anything is submitted',
    async (_name, options) => {
      const w = makeWorld()
      const old = seedDeployment(w, 'd-001', { drainMs: 20_000 }, options)
      w.emr.cancelFromConsole(old.step.id)
      await w.clock.advance(5_000)
      expect(old.step.state).toBe('CANCELLED')
      expect(old.step.app?.alive).toBe(true)

      const out = await rollover(w)

      expect(out.error).toBeUndefined()
      expect(old.step.app?.alive).toBe(false)
      const [fresh] = w.emr.submitted
      expect(fresh?.createdAt).toBeGreaterThanOrEqual(old.step.app?.endedAt ?? Infinity)
      expectNeverTwoDrivers(w)
      expectHonestOutcome(w, out)
    },
  )
})

describe('2. on-stop-timeout fail: the old step ended CANCELLED without an acknowledgement', () => {
  it('the re-run does not submit beside the live driver', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { behaviour: 'ignore-marker' }, { ledger: true })
    whenDeleted(w, old.markerUri, 5_000, () => w.emr.cancelFromConsole(old.step.id))

    const first = await rollover(w, { settings: { stopTimeoutMs } })
    expect(first.error).toBeInstanceOf(StopTimeout)
    expect(markerKeys(w)).toEqual([old.markerUri]) // written back: the driver keeps running

    const rerun = await rollover(w, { settings: { stopTimeoutMs }, deploymentId: 'd-003' })
    expect(rerun.error).toBeInstanceOf(StopTimeout)
    expect(rerun.error?.message).toContain(`${old.step.id} (CANCELLED)`)
    expect(rerun.error?.message).toContain("'on-stop-timeout: kill'")
    expect(w.emr.count('addStep')).toBe(0)
    expect(old.step.app?.alive).toBe(true)
    expectNeverTwoDrivers(w)
  })

  it('the re-run with on-stop-timeout kill kills it by its deployment tag and then deploys', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { behaviour: 'ignore-marker' }, { ledger: true })
    w.emr.cancelFromConsole(old.step.id)
    await w.clock.advance(5_000)

    const out = await rollover(w, { settings: { stopTimeoutMs, onStopTimeout: 'kill' } })

    expect(out.error).toBeUndefined()
    expect(w.emr.kills.map((k) => k.tag)).toEqual([deploymentTag(APP_IDENTITY, 'd-001')])
    expect(old.step.app?.exit).toBe('killed')
    expectNeverTwoDrivers(w)
    expectHonestOutcome(w, out)
  })
})

describe('3. on-stop-timeout kill: the kill fails, or the run dies during it', () => {
  it('a kill step that fails leaves the intent recorded; a plain re-run does not submit beside the driver', async () => {
    const w = makeWorld({ kill: { outcome: 'FAILED' } })
    const old = seedDeployment(w, 'd-001', { behaviour: 'ignore-marker' }, { ledger: true })

    const first = await rollover(w, { settings: { stopTimeoutMs, onStopTimeout: 'kill' } })
    expect(first.error).toBeInstanceOf(UserError)
    expect(old.step.state).toBe('CANCELLED') // cancelled after EMR accepted the kill step
    expect(old.step.app?.alive).toBe(true)
    const ledger = w.store.json<{ drivers: { deploymentId: string; killIntent?: unknown }[] }>(
      LEDGER_URI,
    )
    expect(ledger?.drivers.find((d) => d.deploymentId === 'd-001')?.killIntent).toBeDefined()

    const rerun = await rollover(w, { settings: { stopTimeoutMs }, deploymentId: 'd-003' })
    expect(rerun.error).toBeInstanceOf(StopTimeout)
    expect(rerun.error?.message).toContain('a forced stop of it started at')
    expect(w.emr.submitted.filter((s) => s.kind === 'spark')).toEqual([])
    expectNeverTwoDrivers(w)
  })

  /** The runner dies (its process is gone) once the kill step is RUNNING. */
  function dieDuringKill(w: World): void {
    w.emr.beforeCall = (call) => {
      const step = call.stepId ? w.emr.steps.get(call.stepId) : undefined
      if (call.op === 'describeStep' && step?.kind === 'kill' && step.state === 'RUNNING')
        throw Object.assign(new Error('runner killed'), { name: 'RunnerKilled' })
    }
  }

  it('a run that dies during a kill that then fails leaves a driver every later run treats as alive', async () => {
    const w = makeWorld({ kill: { durationMs: 60_000, outcome: 'FAILED' } })
    const old = seedDeployment(w, 'd-001', { behaviour: 'ignore-marker' }, { ledger: true })
    dieDuringKill(w)
    const first = await rollover(w, { settings: { stopTimeoutMs, onStopTimeout: 'kill' } })
    expect(first.error?.message).toContain('runner killed')
    w.emr.beforeCall = undefined
    await w.clock.advance(120_000) // the kill step ends FAILED meanwhile

    const rerun = await rollover(w, { settings: { stopTimeoutMs: 30_000 }, deploymentId: 'd-003' })

    expect(old.step.state).toBe('CANCELLED')
    expect(old.step.app?.alive).toBe(true)
    expect(rerun.error).toBeInstanceOf(StopTimeout)
    expect(rerun.error?.message).toContain('a forced stop of it started at')
    expect(w.emr.submitted.filter((s) => s.kind === 'spark')).toEqual([])
    expectNeverTwoDrivers(w)
  })

  it('a run that dies during a kill that then succeeds: the re-run sees the kill confirmed and deploys', async () => {
    const w = makeWorld({ kill: { durationMs: 60_000 } })
    const old = seedDeployment(w, 'd-001', { behaviour: 'ignore-marker' }, { ledger: true })
    dieDuringKill(w)
    await rollover(w, { settings: { stopTimeoutMs, onStopTimeout: 'kill' } })
    w.emr.beforeCall = undefined
    await w.clock.advance(120_000)
    expect(old.step.app?.exit).toBe('killed')

    const rerun = await rollover(w, { settings: { stopTimeoutMs: 30_000 }, deploymentId: 'd-003' })

    expect(rerun.error).toBeUndefined()
    expectNeverTwoDrivers(w)
    expectHonestOutcome(w, rerun)
  })
})

describe('4. the new step is cancelled in the console during verify', () => {
  it('its driver is stopped by its marker before the rollback runs', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ drainMs: 10_000 })
    let cancelled = false
    w.emr.beforeCall = (call) => {
      const step = call.stepId ? w.emr.steps.get(call.stepId) : undefined
      if (
        !cancelled &&
        call.op === 'describeStep' &&
        step &&
        step.id !== old.step.id &&
        step.kind === 'spark' &&
        step.state === 'RUNNING'
      ) {
        cancelled = true
        w.emr.cancelFromConsole(step.id)
      }
    }

    const out = await rollover(w)

    const [fresh, back] = w.emr.submitted
    expect(cancelled).toBe(true)
    expect(out.error?.message).toContain('Rolled back')
    expect(fresh?.app?.alive).toBe(false)
    expect(back?.createdAt).toBeGreaterThanOrEqual(fresh?.app?.endedAt ?? Infinity)
    expect(back?.spec.args).toContain(OLD_JAR)
    expectNeverTwoDrivers(w)
  })

  it('a cancelled new driver that ignores its marker is not rolled back beside', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ behaviour: 'ignore-marker' })
    let cancelled = false
    w.emr.beforeCall = (call) => {
      const step = call.stepId ? w.emr.steps.get(call.stepId) : undefined
      if (
        !cancelled &&
        call.op === 'describeStep' &&
        step?.spec.args.includes(NEW_JAR) &&
        step.state === 'RUNNING'
      ) {
        cancelled = true
        w.emr.cancelFromConsole(step.id)
      }
    }

    const out = await rollover(w, { settings: { stopTimeoutMs } })

    expect(out.error).toBeInstanceOf(StopTimeout)
    expect(out.error?.message).toContain('The failed new step')
    expect(w.emr.submitted).toHaveLength(1)
    expectNeverTwoDrivers(w)
  })
})

describe('5. the lease is lost while the holder lives', () => {
  it('renewals that fail for longer than the lease while the old driver drains: nothing is submitted', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { drainMs: 3 * 60_000 }, { ledger: true })
    whenDeleted(w, old.markerUri, 1_000, () => {
      const before = w.store.beforeCall
      w.store.beforeCall = async (call) => {
        await before?.(call)
        if (call.op === 'putText' && call.uri.endsWith('/lock'))
          throw Object.assign(new Error('socket'), { code: 'ECONNRESET' })
      }
    })

    const out = await rollover(w)

    expect(out.error?.message).toContain('Lost the deploy lock')
    expect(w.emr.count('addStep')).toBe(0)
    expect(markerKeys(w).filter((k) => !k.endsWith('.stopped'))).toEqual([])
    expectNeverTwoDrivers(w)
  })

  it('a renewal that hangs: the loss is noticed on time and nothing is submitted', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { drainMs: 3 * 60_000 }, { ledger: true })
    whenDeleted(w, old.markerUri, 1_000, () => {
      const before = w.store.beforeCall
      w.store.beforeCall = async (call) => {
        await before?.(call)
        if (call.op === 'putText' && call.uri.endsWith('/lock')) await new Promise(() => {})
      }
    })

    const out = await rollover(w)

    expect(out.error?.message).toContain('Lost the deploy lock')
    expect(out.endedAt - out.startedAt).toBeLessThan(3 * 60_000)
    expect(w.emr.count('addStep')).toBe(0)
    expectNeverTwoDrivers(w)
  })
})

describe('6. a renewal whose response was lost', () => {
  it('keeps the lock and finishes the rollover', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', { drainMs: 60_000 }, { ledger: true })
    let dropped = false
    w.store.afterWrite = (call) => {
      if (
        !dropped &&
        call.op === 'putText' &&
        call.uri.endsWith('/lock') &&
        w.emr.count('describeStep') > 0
      ) {
        dropped = true
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
      }
    }

    const out = await rollover(w)

    expect(dropped).toBe(true)
    expect(out.error).toBeUndefined()
    expectHonestOutcome(w, out)
  })
})

describe('7. markers no step of this cluster matches', () => {
  it('a driver on another cluster (the marker body names it) is waited for there', async () => {
    const w = makeWorld()
    w.emr.addCluster({ id: 'j-OTHER', name: 'old-cluster' })
    const old = seedDeployment(w, 'd-001', { drainMs: 30_000 }, { clusterId: 'j-OTHER' })

    const out = await rollover(w)

    expect(out.error).toBeUndefined()
    expect(w.emr.callsOf('describeStep').some((c) => c.clusterId === 'j-OTHER')).toBe(true)
    const [fresh] = w.emr.submitted
    expect(fresh?.createdAt).toBeGreaterThanOrEqual(old.step.app?.endedAt ?? Infinity)
    expectNeverTwoDrivers(w)
  })

  it("an application's own marker is waited for until it acknowledges", async () => {
    const w = makeWorld()
    const own = `${APP_IDENTITY.markersUri}application_1700000000000_0042`
    w.store.seed(own, 'application_1700000000000_0042')
    whenDeleted(w, own, 20_000, () => w.store.seed(`${own}.stopped`, '{}'))

    const out = await rollover(w)

    expect(out.error).toBeUndefined()
    const acked = w.events.indexOf(`s3:getText ${own}.stopped`)
    const submitted = w.events.findIndex((e) => e.startsWith('emr:addStep'))
    expect(acked).toBeGreaterThanOrEqual(0)
    expect(submitted).toBeGreaterThan(acked)
  })

  it("an application's own marker that never acknowledges fails the run and says how to confirm it", async () => {
    const w = makeWorld()
    const own = `${APP_IDENTITY.markersUri}application_1700000000000_0042`
    w.store.seed(own, 'application_1700000000000_0042')

    const out = await rollover(w, { settings: { stopTimeoutMs, onStopTimeout: 'kill' } })

    expect(out.error).toBeInstanceOf(StopTimeout)
    expect(out.error?.message).toContain(`${own}.stopped`)
    expect(w.emr.count('addStep')).toBe(0)
  })
})

describe('8. identities that collide', () => {
  it("a forced stop of 'orders' never kills 'Orders' on the same cluster", async () => {
    const w = makeWorld({ cluster: { stepConcurrencyLevel: 3 } })
    const other = seedDeployment(w, 'u-001', { behaviour: 'ignore-marker' }, { appName: 'Orders' })
    const old = seedDeployment(w, 'd-001', { behaviour: 'ignore-marker' }, { ledger: true })

    const out = await rollover(w, { settings: { stopTimeoutMs, onStopTimeout: 'kill' } })

    expect(out.error).toBeUndefined()
    expect(old.step.app?.exit).toBe('killed')
    expect(other.step.app?.alive).toBe(true)
    expect(other.step.state).toBe('RUNNING')
    expect(w.emr.callsOf('cancelStep').map((c) => c.stepId)).toEqual([old.step.id])
  })

  it("another team's 'orders' under another marker prefix is neither waited for nor killed", async () => {
    const w = makeWorld({ cluster: { stepConcurrencyLevel: 3 } })
    const teamB = { bucket: 'data-lake', key: 'team-b/rollover' }
    const theirs = seedDeployment(w, 'b-001', { behaviour: 'ignore-marker' }, { prefix: teamB })
    const old = seedDeployment(w, 'd-001', {}, { ledger: true })

    const out = await rollover(w, { settings: { stopTimeoutMs, onStopTimeout: 'kill' } })

    expect(out.error).toBeUndefined()
    expect(out.report.previous.map((p) => p.stepId)).toEqual([old.step.id])
    expect(theirs.step.state).toBe('RUNNING')
    expect(theirs.step.app?.alive).toBe(true)
    expect(w.emr.kills).toEqual([])
    expect(w.emr.callsOf('describeStep').filter((c) => c.stepId === theirs.step.id)).toEqual([])
    expect(w.store.objects.has(theirs.markerUri)).toBe(true)
    expectNeverTwoDrivers(w)
    expect(appIdentity(teamB, 'orders').id).not.toBe(APP_IDENTITY.id)
  })
})

describe('9. after a run that ended not-verified', () => {
  it('the next rollback restores the last verified deployment, not the unverified step', async () => {
    const w = makeWorld()
    // d-001 was verified (current.json names it) and has since been rolled over to d-002, whose
    // run ended not-verified: d-002 runs, but nothing ever said it works.
    const verified = buildSparkStep({
      app: APP_IDENTITY,
      deploymentId: 'd-001',
      mainClass: 'com.acme.orders.Main',
      sparkSubmitArgs: ['--conf', 'spark.executor.memory=2g'],
      appArgs: ['--topic', 'orders'],
      jarUri: OLD_JAR,
      markerUri: `${APP_IDENTITY.markersUri}d-001`,
    })
    w.store.seed(
      CURRENT_URI,
      JSON.stringify({
        version: 1,
        clusterId: 'j-FAKE',
        deploymentId: 'd-001',
        stepId: 's-GONE',
        jarUri: OLD_JAR,
        step: verified,
      }),
    )
    const unverifiedJar = 's3://data-lake/jars/orders-1.5-unverified.jar'
    seedDeployment(w, 'd-002', {}, { ledger: true, jar: unverifiedJar })
    w.emr.queue({ behaviour: 'crash-on-start' })

    const out = await rollover(w, { deploymentId: 'd-003' })

    const back = w.emr.submitted.at(-1)
    expect(out.error?.message).toContain('Rolled back')
    expect(back?.spec.args).toContain(OLD_JAR)
    expect(back?.spec.args).not.toContain(unverifiedJar)
    expectNeverTwoDrivers(w)
  })
})

describe('10. a driver that acknowledged but never exits', () => {
  it('fail: says what to do, and does not say "re-run" forever', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { behaviour: 'ack-and-stay' }, { ledger: true })

    const out = await rollover(w, { settings: { stopTimeoutMs } })

    expect(out.error).toBeInstanceOf(StopTimeout)
    expect(out.error?.message).toContain('it acknowledged its stop, but has not exited')
    expect(out.error?.message).toContain('does not return from main')
    expect(out.error?.message).toContain("'on-stop-timeout: kill'")
    expect(old.step.app?.alive).toBe(true)
    expect(w.emr.count('addStep')).toBe(0)
  })

  it('kill: kills it and deploys', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { behaviour: 'ack-and-stay' }, { ledger: true })

    const out = await rollover(w, { settings: { stopTimeoutMs, onStopTimeout: 'kill' } })

    expect(out.error).toBeUndefined()
    expect(old.step.app?.exit).toBe('killed')
    expectNeverTwoDrivers(w)
    expectHonestOutcome(w, out)
  })
})

describe('11. more possibly-alive drivers than the EMR budget holds', () => {
  it('eight old steps are all confirmed gone, one token at a time', async () => {
    const w = makeWorld({ cluster: { stepConcurrencyLevel: 10 } })
    const olds = Array.from({ length: 8 }, (_, i) =>
      seedDeployment(w, `d-00${i}`, { drainMs: 5_000 + i * 1_000 }, { ledger: true }),
    )

    const out = await rollover(w, { deploymentId: 'd-100' })

    expect(out.error).toBeUndefined()
    for (const old of olds) expect(old.step.state).toBe('COMPLETED')
    expectNeverTwoDrivers(w)
    expectHonestOutcome(w, out)
  })
})
