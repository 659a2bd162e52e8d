// The rollover's happy paths over the fake EMR and the in-memory S3: a first deploy, a rollover of
// a running driver (with and without its stop acknowledgement), and a dry run.
import { afterEach, describe, expect, it } from 'vitest'
import type { MarkerBody } from '../../../src/contract/markers.ts'
import { buildSparkStep } from '../../../src/contract/step.ts'
import {
  CLUSTER,
  CURRENT_URI,
  LOCK_URI,
  MARKERS,
  NEW_JAR,
  disposeWorlds,
  eventIndex,
  makeWorld,
  markerBody,
  markerKeys,
  markerUri,
  recordUri,
  rollover,
  seedDeployment,
  type World,
  APP_IDENTITY,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

/** The step rollover d-002 must submit, as buildSparkStep makes it. */
function expectedStep(deploymentId = 'd-002', jarUri = NEW_JAR) {
  return buildSparkStep({
    app: APP_IDENTITY,
    deploymentId,
    mainClass: 'com.acme.orders.Main',
    sparkSubmitArgs: ['--conf', 'spark.executor.memory=4g', '--num-executors', '4'],
    appArgs: ['--topic', 'orders'],
    jarUri,
    markerUri: markerUri(deploymentId),
  })
}

/** DescribeStep calls made between the start of the stop and the old driver's confirmed exit. */
function stopDescribes(w: World, from: number, to: number): number {
  return w.emr.callsOf('describeStep').filter((c) => c.at >= from && c.at <= to).length
}

describe('first deploy', () => {
  it('writes the marker before AddJobFlowSteps, then records the step id in it', async () => {
    const w = makeWorld()
    let markerAtSubmit: MarkerBody | undefined | null = null
    const events = w.emr.beforeCall
    w.emr.beforeCall = (call) => {
      if (call.op === 'addStep') markerAtSubmit = markerBody(w, markerUri('d-002'))
      return events?.(call)
    }

    const { report, error } = await rollover(w)

    expect(error).toBeUndefined()
    expect(report.result).toBe('first-deploy')
    expect(report.status).toBe('succeeded')
    expect(report.previous).toEqual([])
    // The marker existed, without a step id, when the step was submitted.
    expect(markerAtSubmit).toMatchObject({ deploymentId: 'd-002', jar: NEW_JAR })
    expect(markerAtSubmit).not.toHaveProperty('stepId')
    const putMarker = eventIndex(w, (e) => e === `s3:putText ${markerUri('d-002')}`)
    const addStep = eventIndex(w, (e) => e.startsWith('emr:addStep'))
    expect(putMarker).toBeGreaterThanOrEqual(0)
    expect(putMarker).toBeLessThan(addStep)

    const [step] = w.emr.submitted
    expect(w.emr.submitted).toHaveLength(1)
    expect(step?.spec).toEqual(expectedStep())
    expect(step?.state).toBe('RUNNING')
    expect(markerBody(w, markerUri('d-002'))).toMatchObject({
      version: 1,
      app: 'orders',
      deploymentId: 'd-002',
      clusterId: CLUSTER,
      jar: NEW_JAR,
      stepId: step?.id,
      github: { repository: 'acme/data', runId: '4242' },
    })
    expect(markerKeys(w)).toEqual([markerUri('d-002')])
    expect(w.emr.activeSteps().map((s) => s.id)).toEqual([step?.id])

    expect(w.store.json(CURRENT_URI)).toMatchObject({
      deploymentId: 'd-002',
      stepId: step?.id,
      markerUri: markerUri('d-002'),
      jarUri: NEW_JAR,
      record: recordUri('d-002'),
    })
    expect(w.store.json(recordUri('d-002'))).toMatchObject({
      deploymentId: 'd-002',
      status: 'succeeded',
      result: 'first-deploy',
      launch: { stepId: step?.id, outcome: 'running', args: expectedStep().args },
    })
    expect(w.store.objects.has(LOCK_URI)).toBe(false)
    expect(report.phases.map((p) => `${p.name}:${p.status}`)).toEqual([
      'Preflight:ok',
      'Stage:skipped',
      'Lock:ok',
      'Stop:ok',
      'Submit:ok',
      'Verify:ok',
    ])
  })
})

describe('rollover of a running driver', () => {
  it('deletes the old marker, waits for COMPLETED, then submits exactly the built step', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { drainMs: 20_000 })

    const { report, error } = await rollover(w)

    expect(error).toBeUndefined()
    expect(report.result).toBe('deployed')
    expect(old.step.state).toBe('COMPLETED')
    expect(old.step.app?.exit).toBe('succeeded')

    const deleteOld = eventIndex(w, (e) => e === `s3:delete ${old.markerUri}`)
    const addStep = eventIndex(w, (e) => e.startsWith('emr:addStep'))
    expect(deleteOld).toBeGreaterThan(0)
    expect(deleteOld).toBeLessThan(addStep)
    const [fresh] = w.emr.submitted
    expect(w.emr.submitted).toHaveLength(1)
    expect(fresh?.spec).toEqual(expectedStep())
    // Never two drivers: the new step was created after the old one ended.
    expect(fresh?.createdAt).toBeGreaterThanOrEqual(old.step.endedAt ?? Infinity)
    expect(
      w.emr
        .callsOf('describeStep')
        .some((c) => c.stepId === old.step.id && c.state === 'COMPLETED'),
    ).toBe(true)

    expect(report.previous).toEqual([
      {
        stepId: old.step.id,
        state: 'COMPLETED',
        ack: expect.objectContaining({ applicationId: old.step.app?.id }),
      },
    ])
    const stopSeconds = ((report.oldStoppedAt ?? 0) - (report.stopStartedAt ?? 0)) / 1000
    expect(stopSeconds).toBeGreaterThanOrEqual(20)
    expect(stopSeconds).toBeLessThan(25)
    const downtime = ((report.launch?.runningAt ?? 0) - (report.oldStoppedAt ?? 0)) / 1000
    expect(downtime).toBeGreaterThanOrEqual(1.9) // the fake's PENDING -> RUNNING delay
    expect(downtime).toBeLessThan(6)
    expect(w.store.json(recordUri('d-002'))).toMatchObject({
      result: 'deployed',
      stopped: [{ stepId: old.step.id, state: 'COMPLETED' }],
      stopSeconds: expect.closeTo(stopSeconds, 0),
      downtimeSeconds: expect.closeTo(downtime, 0),
    })

    // One marker, one driver; the old driver's `.stopped` acknowledgement is cleaned up.
    expect(markerKeys(w)).toEqual([markerUri('d-002')])
    expect(w.emr.activeSteps().map((s) => s.id)).toEqual([fresh?.id])
    expect(w.emr.aliveApps().map((a) => a.stepId)).toEqual([fresh?.id])
    expect(w.store.objects.has(LOCK_URI)).toBe(false)
  })

  it('uses the stop acknowledgement: confirms sooner, with no more DescribeStep calls', async () => {
    // EMR polled every 10 s while no acknowledgement is seen, the S3 ack every 250 ms.
    const timings = { emrPollMs: 10_000 }
    const runs = await Promise.all(
      [true, false].map(async (ack) => {
        const w = makeWorld()
        seedDeployment(w, 'd-001', { ack, drainMs: 34_000 })
        const { report, error } = await rollover(w, { timings })
        expect(error).toBeUndefined()
        const from = report.stopStartedAt ?? 0
        const to = report.oldStoppedAt ?? 0
        return { report, describes: stopDescribes(w, from, to), stopMs: to - from }
      }),
    )
    const [acked, silent] = runs as [(typeof runs)[0], (typeof runs)[0]]
    expect(acked.report.previous[0]?.ack).toMatchObject({
      version: 1,
      stoppedAt: expect.any(String),
    })
    expect(silent.report.previous[0]?.ack).toBeUndefined()
    expect(acked.describes).toBeLessThanOrEqual(silent.describes)
    // The driver exits ~35 s in: the ack is seen within a second, EMR alone only at ~40 s.
    expect(acked.stopMs).toBeLessThan(36_500)
    expect(silent.stopMs).toBeGreaterThanOrEqual(39_000)
  })

  it('a second rollover stops the first one it made', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001')
    expect((await rollover(w, { deploymentId: 'd-002' })).error).toBeUndefined()
    const { report, error } = await rollover(w, { deploymentId: 'd-003' })
    expect(error).toBeUndefined()
    const [, second, third] = [...w.emr.steps.values()]
    expect(report.previous.map((p) => [p.stepId, p.state])).toEqual([[second?.id, 'COMPLETED']])
    expect(third?.spec).toEqual(expectedStep('d-003'))
    expect(markerKeys(w)).toEqual([markerUri('d-003')])
    expect(w.emr.activeSteps().map((s) => s.id)).toEqual([third?.id])
    expect(w.store.keysUnder(`${MARKERS}`).some((k) => k.endsWith('.stopped'))).toBe(false)
  })
})

describe('dry run', () => {
  it('plans the stop and the exact step, and changes nothing', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001')
    const before = w.store.text(old.markerUri)

    const { report, error } = await rollover(w, { settings: { dryRun: true } })

    expect(error).toBeUndefined()
    expect(report.result).toBe('planned')
    expect(report.status).toBe('succeeded')
    expect(report.plan).toEqual({
      stop: [`step ${old.step.id} (RUNNING)`, `marker ${old.markerUri}`],
      markerUri: markerUri('d-002'),
      step: expectedStep(),
    })
    expect(w.store.mutations).toEqual([])
    expect(w.emr.mutations).toEqual([])
    expect(w.emr.count('addStep', 'cancelStep')).toBe(0)
    expect(w.store.text(old.markerUri)).toBe(before)
    expect(old.step.state).toBe('RUNNING')
    expect(report.phases.map((p) => p.name)).toEqual(['Preflight'])
  })
})
