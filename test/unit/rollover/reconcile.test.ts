// The deploy lock as the rollover uses it, and convergence from what a crashed run left behind.
import { afterEach, describe, expect, it } from 'vitest'
import { appIdentity, stepName } from '../../../src/contract/identity.ts'
import type { LockBody } from '../../../src/rollover/lock-body.ts'
import { buildSparkStep } from '../../../src/contract/step.ts'
import { UserError } from '../../../src/errors.ts'
import {
  APP_IDENTITY,
  CLUSTER,
  LOCK_URI,
  MARKERS,
  OLD_JAR,
  disposeWorlds,
  makeWorld,
  markerBody,
  markerKeys,
  markerUri,
  rollover,
  seedDeployment,
  type World,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

function seedLock(w: World, expiresInMs: number): string {
  const now = new Date(w.clock.now()).toISOString()
  const body: LockBody = {
    version: 1,
    owner: {
      deploymentId: 'd-other',
      repository: 'acme/data',
      runId: '777',
      runAttempt: '1',
      runUrl: 'https://github.com/acme/data/actions/runs/777/attempts/1',
    },
    acquiredAt: now,
    renewedAt: now,
    expiresAt: new Date(w.clock.now() + expiresInMs).toISOString(),
  }
  const text = JSON.stringify(body)
  w.store.seed(LOCK_URI, text)
  return text
}

/** Converged: one marker (naming its step), one active step, one live driver. */
function expectConverged(w: World, deploymentId = 'd-002'): void {
  const [step] = w.emr.activeSteps()
  expect(w.emr.activeSteps()).toHaveLength(1)
  expect(step?.spec.name).toBe(stepName(APP_IDENTITY, deploymentId))
  expect(w.emr.aliveApps().map((a) => a.stepId)).toEqual([step?.id])
  expect(markerKeys(w)).toEqual([markerUri(deploymentId)])
  expect(markerBody(w, markerUri(deploymentId))?.stepId).toBe(step?.id)
}

describe('deploy lock', () => {
  it('waits for a live lock of another run, then fails naming it, having changed nothing', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001')
    const lockText = seedLock(w, 60 * 60_000)

    const { report, error, startedAt, endedAt } = await rollover(w, {
      // Shorter than the lease: a lock that does not change for a whole lease would be taken over.
      settings: { lockTimeoutMs: 50_000 },
    })

    expect(error).toBeInstanceOf(UserError)
    expect(error?.message).toContain("Another rollover of 'orders' holds the deploy lock")
    expect(error?.message).toContain('https://github.com/acme/data/actions/runs/777/attempts/1')
    expect(error?.message).toContain('deployment d-other')
    expect(error?.message).toContain(
      "Waited 50.0s. Wait for it to finish, or raise 'lock-timeout'.",
    )
    expect(endedAt - startedAt).toBeGreaterThanOrEqual(50_000)
    // Only failed create-only attempts on the lock; no marker touched, no EMR change.
    expect(w.store.mutations.length).toBeGreaterThan(1)
    expect(w.store.mutations.every((m) => m.op === 'putText' && m.uri === LOCK_URI)).toBe(true)
    expect(w.store.mutations.filter((m) => m.uri.startsWith(MARKERS))).toEqual([])
    expect(w.store.text(LOCK_URI)).toBe(lockText)
    expect(w.emr.mutations).toEqual([])
    expect(markerKeys(w)).toEqual([old.markerUri])
    expect(old.step.state).toBe('RUNNING')
    expect(report.phases.map((p) => `${p.name}:${p.status}`)).toEqual([
      'Preflight:ok',
      'Stage:skipped',
      'Lock:failed',
    ])
  })

  it('goes on once the other run releases the lock, from the state it left', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001')
    seedLock(w, 60 * 60_000)
    // The other run finishes 20 s later: it rolled over to d-1b and released the lock.
    void w.clock.sleep(20_000).then(() => {
      w.store.objects.delete(LOCK_URI)
    })

    const { report, error } = await rollover(w)

    expect(error).toBeUndefined()
    expect(report.result).toBe('deployed')
    expect(w.store.objects.has(LOCK_URI)).toBe(false)
    expectConverged(w)
  })

  it('takes over the lock of a crashed run once it stayed unchanged for a whole lease', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001')
    // Its holder's clock was far ahead: expiresAt says nothing to us.
    seedLock(w, 60 * 60_000)

    const { error, startedAt } = await rollover(w)

    expect(error).toBeUndefined()
    const took = w.lines.findIndex((l) => l.includes('Took over the deploy lock'))
    expect(took).toBeGreaterThanOrEqual(0)
    expect(w.lines[took]).toContain('unchanged for 1m')
    expect(w.clock.now() - startedAt).toBeGreaterThanOrEqual(60_000)
    expectConverged(w)
  })
})

describe('reconciling what a crashed run left', () => {
  it('a marker with no step (crash before AddJobFlowSteps) and a stale ack are removed', async () => {
    const w = makeWorld()
    const leftover = markerUri('d-000')
    w.store.seed(
      leftover,
      JSON.stringify({ version: 1, app: 'orders', deploymentId: 'd-000', clusterId: CLUSTER }),
    )
    w.store.seed(`${markerUri('d-older')}.stopped`, '{"finalBatchTime":"2024-12-31T00:00:00Z"}')

    const { report, error } = await rollover(w)

    expect(error).toBeUndefined()
    expect(report.previous).toEqual([])
    expect(w.events).toContain(`s3:delete ${leftover}`)
    expectConverged(w)
  })

  it('an app step without marker (crash while stopping) is waited for before submitting', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { drainMs: 60_000 }, { marker: false })

    const { report, error } = await rollover(w)

    expect(error).toBeUndefined()
    expect(report.previous).toMatchObject([{ stepId: old.step.id, state: 'COMPLETED' }])
    const [fresh] = w.emr.submitted
    expect(fresh?.createdAt).toBeGreaterThanOrEqual(old.step.endedAt ?? Infinity)
    expect(w.store.mutations.some((m) => m.op === 'delete' && m.uri === old.markerUri)).toBe(false)
    expectConverged(w)
  })

  it('a submitted step whose marker lacks its id (crash before attachStep) is found and stopped', async () => {
    const w = makeWorld()
    const crashed = seedDeployment(w, 'd-001')
    const body = { ...markerBody(w, crashed.markerUri), stepId: undefined }
    w.store.seed(crashed.markerUri, JSON.stringify(body))

    const { report, error } = await rollover(w)

    expect(error).toBeUndefined()
    expect(report.previous).toMatchObject([{ stepId: crashed.step.id, state: 'COMPLETED' }])
    expectConverged(w)
  })

  it("leaves another app's step and marker alone", async () => {
    // Two streaming apps need two step slots (with one, the new step would queue behind payments).
    const w = makeWorld({ cluster: { stepConcurrencyLevel: 2 } })
    seedDeployment(w, 'd-001')
    const paymentsMarker = `s3://data-lake/rollover/payments/markers/p-001`
    w.store.seed(paymentsMarker, '{}')
    const payments = w.emr.seedRunningStep(
      buildSparkStep({
        app: appIdentity({ bucket: 'data-lake', key: 'rollover' }, 'payments'),
        deploymentId: 'p-001',
        mainClass: 'com.acme.payments.Main',
        sparkSubmitArgs: [],
        appArgs: [],
        jarUri: OLD_JAR,
        markerUri: paymentsMarker,
      }),
    )

    const { error } = await rollover(w)

    expect(error).toBeUndefined()
    expect(payments.state).toBe('RUNNING')
    expect(w.store.objects.has(paymentsMarker)).toBe(true)
    expect(
      w.emr
        .activeSteps()
        .map((s) => s.spec.name)
        .sort(),
    ).toEqual([
      stepName(APP_IDENTITY, 'd-002'),
      stepName(appIdentity({ bucket: 'data-lake', key: 'rollover' }, 'payments'), 'p-001'),
    ])
  })

  it('with no previous step, a failed new step is not called a first deploy', async () => {
    const w = makeWorld()
    w.store.seed(
      markerUri('d-000'),
      JSON.stringify({ version: 1, app: 'orders', deploymentId: 'd-000', clusterId: CLUSTER }),
    )
    w.emr.queue({ behaviour: 'crash-on-start' })

    const { error } = await rollover(w)

    expect(error?.message).toContain('Nothing of this app runs now')
    expect(error?.message).toContain('no verified deployment of the app is recorded')
    expect(error?.message).not.toContain('first deploy')
    expect(markerKeys(w)).toEqual([])
    expect(w.emr.activeSteps()).toEqual([])
  })
})
