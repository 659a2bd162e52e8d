// Issue 10, the standby strategy: the new driver starts in standby and takes over only once it is
// ready, so a broken build never touches the running app and the downtime is about the drain.
import { afterEach, describe, expect, it } from 'vitest'
import { RolloverFailed } from '../../../src/rollover/rollover-failed.ts'
import type { FakeApp } from '../../support/fake-emr.ts'
import {
  NEW_JAR,
  OLD_JAR,
  disposeWorlds,
  makeWorld,
  markerBody,
  markerKeys,
  markerUri,
  onlyMarkers,
  rollover,
  seedDeployment,
  type RunOptions,
  type World,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

const STANDBY: RunOptions['settings'] = { strategy: 'standby' }
const twoSlots = () => makeWorld({ cluster: { stepConcurrencyLevel: 2 } })

/** The new driver's first batch came after the old driver's last: never two processing. */
function expectOneProcessingAtATime(
  oldApp: FakeApp | undefined,
  newApp: FakeApp | undefined,
): void {
  const oldLast = oldApp?.log?.batches.length ?? 0
  expect(oldLast).toBeGreaterThan(0)
  expect(newApp?.log?.runningAt).toBeGreaterThanOrEqual(oldApp?.endedAt ?? Infinity)
}

/** Every offset committed once, in order, across every driver. */
function expectExactlyOnce(w: World): void {
  const batches = w.emr.apps.flatMap((a) => a.log?.batches ?? []).sort((a, b) => a[0] - b[0])
  for (let i = 1; i < batches.length; i++) {
    expect({ at: i, start: batches[i]?.[0] }).toEqual({ at: i, start: batches[i - 1]?.[1] })
  }
}

describe('strategy standby', () => {
  it('submits in standby, waits for .ready, stops the old driver, switches, verifies', async () => {
    const w = twoSlots()
    const old = seedDeployment(w, 'd-001', { drainMs: 3_000 }, { ledger: true, current: true })
    w.emr.queue({ initMs: 30_000 }) // YARN application master and executors

    const out = await rollover(w, { settings: STANDBY })

    expect(out.error).toBeUndefined()
    expect(out.report.result).toBe('deployed')
    const [fresh] = w.emr.submitted
    expect(fresh?.app?.log?.standby).toBe(true)
    // The old driver was stopped only once the new one was ready.
    expect(old.step.app?.markerGoneAt).toBeGreaterThanOrEqual(fresh?.app?.log?.readyAt ?? Infinity)
    expectOneProcessingAtATime(old.step.app, fresh?.app)
    expect(out.report.handoff?.verdict).toBe('contiguous')
    // The downtime is the drain and a batch, not the 30 s start.
    expect(out.report.downtime?.measuredBy).toBe('drivers')
    expect(out.report.downtime?.seconds).toBeLessThan(10)
    expect(markerBody(w, markerUri('d-002'))?.mode).toBe('run')
    expect(onlyMarkers(w)).toEqual([markerUri('d-002')])
    expect(out.report.phases.map((p) => p.name)).toEqual([
      'Preflight',
      'Stage',
      'Lock',
      'Submit',
      'Standby',
      'Stop',
      'Switch',
      'Verify',
    ])
    expectExactlyOnce(w)
  })

  it('a standby that fails before it is ready is retired, and the running app is never touched', async () => {
    const w = twoSlots()
    const old = seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ behaviour: 'crash-on-start' })

    const out = await rollover(w, { settings: STANDBY })

    expect(out.error).toBeInstanceOf(RolloverFailed)
    expect(out.error?.message).toContain('is not ready')
    expect(out.error?.message).toContain(
      `Nothing changed: the running driver (${old.step.id} (RUNNING)) was never touched`,
    )
    expect(old.step.state).toBe('RUNNING')
    expect(old.step.app?.markerGoneAt).toBeUndefined()
    expect(w.store.objects.has(old.markerUri)).toBe(true)
    expect(markerKeys(w).filter((k) => k.includes('d-002'))).toEqual([])
    expect(out.report.phases.find((p) => p.name === 'Stop')).toBeUndefined()
  })

  it('a standby with no room on the cluster is cancelled at start-timeout; nothing changed', async () => {
    const w = twoSlots()
    const old = seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ behaviour: 'stay-pending' })

    const out = await rollover(w, { settings: { ...STANDBY, startTimeoutMs: 2 * 60_000 } })

    expect(out.error?.message).toContain('no .ready within start-timeout (2m)')
    expect(out.error?.message).toContain('no room for a second driver')
    expect(w.emr.submitted[0]?.state).toBe('CANCELLED')
    expect(old.step.app?.alive).toBe(true)
  })

  it('a new jar that ignores mode standby is caught when it processes, and killed', async () => {
    const w = twoSlots()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ behaviour: 'ignores-standby' })

    const out = await rollover(w, { settings: STANDBY })

    expect(out.error?.message).toContain('does not honour mode: standby')
    const [fresh] = w.emr.submitted
    expect(fresh?.app?.alive).toBe(false)
  })

  it('refuses in preflight on a cluster that runs one step at a time, changing nothing', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001', {}, { ledger: true })

    const out = await rollover(w, { settings: STANDBY })

    expect(out.error?.message).toContain("Input 'strategy'")
    expect(out.error?.message).toContain('--step-concurrency-level 2')
    expect(w.emr.mutations).toEqual([])
    expect(w.store.mutations).toEqual([])
  })

  it('refuses when the running driver publishes no progress: nothing says the new one waits', async () => {
    const w = twoSlots()
    seedDeployment(w, 'd-001', { behaviour: 'silent' }, { ledger: true })

    const out = await rollover(w, { settings: STANDBY })

    expect(out.error?.message).toContain("honours 'mode: standby'")
    expect(w.emr.count('addStep')).toBe(0)
  })

  it('a first deploy in standby: ready, switched, verified', async () => {
    const w = twoSlots()

    const out = await rollover(w, { settings: STANDBY })

    expect(out.error).toBeUndefined()
    expect(out.report.result).toBe('first-deploy')
  })

  it('a new version that dies after the switch is rolled back to the last verified one', async () => {
    const w = twoSlots()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ behaviour: 'die-after-ms', dieAfterMs: 40_000 })

    const out = await rollover(w, { settings: STANDBY })

    expect(out.report.result).toBe('rolled-back')
    expect(w.emr.submitted.at(-1)?.spec.args).toContain(OLD_JAR)
  })
})

describe('standby: a re-run converges', () => {
  const killed = (): Error => Object.assign(new Error('runner killed'), { name: 'RunnerKilled' })

  /** The first run dies (its runner is gone) at the first EMR call once `when` is true. */
  function crashWhen(w: World, when: () => boolean): void {
    w.emr.beforeCall = () => {
      if (when()) throw killed()
    }
  }
  const standbyStarted = (w: World) => () => w.emr.submitted[0]?.state === 'RUNNING'

  it('after a crash while the standby started, a re-run with the same jar adopts it', async () => {
    const w = twoSlots()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ initMs: 30_000 })
    crashWhen(w, standbyStarted(w))
    const first = await rollover(w, { settings: STANDBY })
    expect(first.error?.message).toContain('runner killed')
    w.emr.beforeCall = undefined

    const rerun = await rollover(w, { settings: STANDBY, deploymentId: 'd-003' })

    expect(rerun.error).toBeUndefined()
    expect(w.emr.submitted.filter((s) => s.kind === 'spark')).toHaveLength(1)
    expect(markerBody(w, markerUri('d-002'))?.mode).toBe('run')
  })

  it('a re-run with another jar retires the standby left waiting, and deploys its own', async () => {
    const w = twoSlots()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ initMs: 30_000 })
    crashWhen(w, standbyStarted(w))
    expect((await rollover(w, { settings: STANDBY })).error?.message).toContain('runner killed')
    w.emr.beforeCall = undefined
    const otherJar = 's3://data-lake/jars/orders-2.1.jar'
    w.store.seed(otherJar, 'PK\u0003\u0004 other')

    const rerun = await rollover(w, {
      deploymentId: 'd-003',
      settings: {
        ...STANDBY,
        jar: { kind: 's3', location: { bucket: 'data-lake', key: 'jars/orders-2.1.jar' } },
      },
    })

    expect(rerun.error).toBeUndefined()
    const [left, mine] = w.emr.submitted
    expect(left?.app?.alive).toBe(false)
    expect(left?.app?.log?.batches).toEqual([]) // it never touched the checkpoint
    expect(mine?.spec.args).toContain(otherJar)
    expect(onlyMarkers(w)).toEqual([markerUri('d-003')])
    void NEW_JAR
  })

  it('after a crash between the stop and the switch, a re-run adopts the ready standby and switches', async () => {
    const w = twoSlots()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    // Dies once the old step is gone: after the stop, before the switch.
    crashWhen(w, () => w.emr.steps.get('s-FAKE0001')?.state === 'COMPLETED')
    const first = await rollover(w, { settings: STANDBY })
    expect(first.error?.message).toContain('runner killed')
    expect(markerBody(w, markerUri('d-002'))?.mode).toBe('standby')
    w.emr.beforeCall = undefined

    const rerun = await rollover(w, { settings: STANDBY, deploymentId: 'd-003' })

    expect(rerun.error).toBeUndefined()
    expect(w.emr.submitted.filter((s) => s.kind === 'spark')).toHaveLength(1)
    expect(markerBody(w, markerUri('d-002'))?.mode).toBe('run')
  })
})
