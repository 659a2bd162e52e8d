// Phases 6-8 when the new step does not come up: a failed submit, a step that stays PENDING, one
// that crashes on start or dies inside stable-for, with and without rollback.
import { afterEach, describe, expect, it } from 'vitest'
import { RolloverFailed } from '../../../src/rollover/run.ts'
import { jarOfStep } from '../../../src/contract/spark-submit.ts'
import { retargetStep } from '../../../src/contract/step.ts'
import {
  CURRENT_URI,
  LOCK_URI,
  OLD_JAR,
  disposeWorlds,
  makeWorld,
  markerBody,
  markerKeys,
  markerUri,
  onlyMarkers,
  recordUri,
  rollover,
  seedDeployment,
  type World,
  APP_IDENTITY,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

/** Exactly one driver of the app runs, its step's id is in the only marker. */
function expectOneDriver(w: World, stepId: string | undefined, marker: string): void {
  expect(w.emr.activeSteps().map((s) => s.id)).toEqual([stepId])
  expect(w.emr.aliveApps().map((a) => a.stepId)).toEqual([stepId])
  expect(onlyMarkers(w)).toEqual([marker])
  expect(markerBody(w, marker)?.stepId).toBe(stepId)
}

describe('submit', () => {
  it('deletes the marker it wrote when AddJobFlowSteps fails, and releases the lock', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001')
    const refused = Object.assign(new Error('Maximum number of active steps reached'), {
      name: 'ValidationException',
    })
    w.emr.failOn('addStep', 1, refused)

    const { report, error } = await rollover(w)

    expect(error).toBeInstanceOf(RolloverFailed)
    expect((error as Error).message).toMatch(
      /Submitting the new step failed: ValidationException: Maximum number of active steps reached\. The old driver is stopped and nothing of '.+' runs now; the new marker was removed\. .*re-run/,
    )
    expect(w.events).toContain(`s3:putText ${markerUri('d-002')}`)
    expect(w.store.objects.has(markerUri('d-002'))).toBe(false)
    expect(onlyMarkers(w)).toEqual([])
    expect(w.emr.activeSteps()).toEqual([])
    expect(report.phases.find((p) => p.name === 'Submit')?.status).toBe('failed')
    expect(w.store.objects.has(LOCK_URI)).toBe(false)
    expect(w.store.json(recordUri('d-002'))).toMatchObject({ status: 'failed' })
  })
})

describe('verify and rollback', () => {
  it('rolls back to the previous configuration when the new step crashes on start', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001')
    w.emr.queue({ behaviour: 'crash-on-start' })

    const { report, error } = await rollover(w)

    const [failed, back] = w.emr.submitted
    expect(w.emr.submitted).toHaveLength(2)
    expect(failed?.state).toBe('FAILED')
    expect(report.launch?.outcome).toBe('failed-to-start')
    // The old step's exact configuration, pointed at a fresh marker under '-rb'.
    expect(back?.spec).toEqual(
      retargetStep(old.step.spec, {
        app: APP_IDENTITY,
        deploymentId: 'd-002-rb',
        markerUri: markerUri('d-002-rb'),
      }),
    )
    expect(jarOfStep(back?.spec.args ?? [])).toBe(OLD_JAR)
    expect(back?.spec.args).toContain(`spark.rollover.marker=${markerUri('d-002-rb')}`)
    expect(markerBody(w, markerUri('d-002-rb'))).toMatchObject({
      deploymentId: 'd-002-rb',
      rollbackOf: 'd-002',
      jar: OLD_JAR,
    })
    expectOneDriver(w, back?.id, markerUri('d-002-rb'))

    expect(error).toBeInstanceOf(RolloverFailed)
    expect(error?.message).toContain(`The new step ${failed?.id} did not start`)
    expect(error?.message).toContain('ClassNotFoundException')
    expect(error?.message).toContain(`Rolled back: ${back?.id} runs the previous version again.`)
    expect(report.result).toBe('rolled-back')
    expect(report.rollback).toMatchObject({ stepId: back?.id, outcome: 'running' })
    expect(w.store.json(CURRENT_URI)).toMatchObject({ stepId: back?.id, jarUri: OLD_JAR })
    expect(w.store.json(recordUri('d-002'))).toMatchObject({
      status: 'failed',
      result: 'rolled-back',
      rollback: { stepId: back?.id, outcome: 'running' },
    })
    expect(w.store.objects.has(LOCK_URI)).toBe(false)
  })

  it('rolls back when the new step dies within stable-for', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001')
    w.emr.queue({ behaviour: 'die-after-ms', dieAfterMs: 45_000 })

    const { report, error } = await rollover(w)

    const [died, back] = w.emr.submitted
    expect(report.launch?.outcome).toBe('died')
    expect(report.launch?.failure).toContain('ended FAILED 45.0s after it started')
    expect(error?.message).toContain(`The new step ${died?.id} died`)
    expect(error?.message).toContain('OutOfMemoryError')
    expect(error?.message).toContain('Rolled back')
    expect(report.result).toBe('rolled-back')
    expectOneDriver(w, back?.id, markerUri('d-002-rb'))
  })

  it('keeps a step that dies only after stable-for', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001')
    w.emr.queue({ behaviour: 'die-after-ms', dieAfterMs: 3 * 60_000 })

    const { report, error } = await rollover(w, { settings: { stableForMs: 2 * 60_000 } })

    expect(error).toBeUndefined()
    expect(report.result).toBe('deployed')
    expect(w.emr.submitted).toHaveLength(1)
  })

  it('cancels a step still PENDING after start-timeout, then rolls back', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001')
    w.emr.queue({ behaviour: 'stay-pending' })

    const { report, error } = await rollover(w, { settings: { startTimeoutMs: 60_000 } })

    const [stuck, back] = w.emr.submitted
    expect(report.launch?.outcome).toBe('failed-to-start')
    expect(error?.message).toContain(
      `The new step ${stuck?.id} did not start: step ${stuck?.id} was still PENDING after start-timeout (1m)`,
    )
    expect(w.emr.callsOf('cancelStep').map((c) => c.stepId)).toEqual([stuck?.id])
    expect(stuck?.state).toBe('CANCELLED')
    expect(report.result).toBe('rolled-back')
    expectOneDriver(w, back?.id, markerUri('d-002-rb'))
  })

  it("with 'rollback: false', says that nothing runs", async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001')
    w.emr.queue({ behaviour: 'crash-on-start' })

    const { report, error } = await rollover(w, { settings: { rollback: false } })

    expect(error).toBeInstanceOf(RolloverFailed)
    expect(error?.message).toContain("Nothing of this app runs now ('rollback' is false)")
    expect(w.emr.submitted).toHaveLength(1)
    expect(report.result).toBeUndefined()
    expect(w.emr.activeSteps()).toEqual([])
    expect(markerKeys(w)).toEqual([])
    expect(w.store.objects.has(CURRENT_URI)).toBe(false)
  })

  it('on a first deploy, says there is nothing to roll back to', async () => {
    const w = makeWorld()
    w.emr.queue({ behaviour: 'stay-pending' })

    const { error } = await rollover(w, { settings: { startTimeoutMs: 60_000 } })

    const [stuck] = w.emr.submitted
    expect(error?.message).toContain('was still PENDING after start-timeout')
    expect(error?.message).toContain(
      'Nothing of this app runs now (this was a first deploy: there is no previous version to go back to)',
    )
    expect(stuck?.state).toBe('CANCELLED')
    expect(w.emr.submitted).toHaveLength(1)
    expect(markerKeys(w)).toEqual([])
  })

  it('reports a rollback that fails too', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001')
    w.emr.queue({ behaviour: 'crash-on-start' }, { behaviour: 'crash-on-start' })

    const { report, error } = await rollover(w)

    const [, back] = w.emr.submitted
    expect(error?.message).toContain(`The rollback step ${back?.id} failed too`)
    expect(error?.message).toContain('Nothing of this app runs now.')
    expect(report.rollback?.outcome).toBe('failed-to-start')
    expect(report.result).toBeUndefined()
    expect(w.emr.activeSteps()).toEqual([])
    expect(markerKeys(w)).toEqual([])
  })

  it('takes a rollback step that never started out of the way', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001')
    w.emr.queue({ behaviour: 'crash-on-start' }, { behaviour: 'stay-pending' })

    const { error } = await rollover(w, { settings: { startTimeoutMs: 60_000 } })

    const [, back] = w.emr.submitted
    expect(error?.message).toContain(`The rollback step ${back?.id} failed too`)
    expect(error?.message).toContain('Nothing of this app runs now.')
    // "Nothing runs" must stay true: the PENDING step would start whenever a slot frees.
    expect(back?.state).toBe('CANCELLED')
    expect(w.emr.activeSteps()).toEqual([])
    expect(markerKeys(w)).toEqual([])
  })
})

describe('after a run that crashed between stop and submit', () => {
  it('rolls back to the step current.json names, and does not call it a first deploy', async () => {
    const w = makeWorld()
    const first = await rollover(w, {
      deploymentId: 'd-001',
      settings: {
        jar: { kind: 's3', location: { bucket: 'data-lake', key: 'jars/orders-1.0.jar' } },
      },
    })
    expect(first.report.result).toBe('first-deploy')
    const v1 = w.emr.submitted[0]
    // The crashed run deleted the marker; the driver drained and its step ended.
    await w.store.delete({ bucket: 'data-lake', key: `rollover/orders/markers/d-001` })
    await w.clock.sleep(60_000)
    expect(w.emr.activeSteps()).toEqual([])
    w.emr.queue({ behaviour: 'crash-on-start' })

    const { report, error } = await rollover(w, { deploymentId: 'd-003' })

    expect(error?.message).toContain('Rolled back')
    expect(report.result).toBe('rolled-back')
    const back = w.emr.submitted.at(-1)
    expect(jarOfStep(back?.spec.args ?? [])).toBe(jarOfStep(v1?.spec.args ?? []))
    expectOneDriver(w, back?.id, markerUri('d-003-rb'))
  })
})
