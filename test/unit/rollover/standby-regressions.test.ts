// Regressions (review) of the standby strategy: adoption, the re-run path, a lost response,
// a new build without the driver library, stable-for after the switch.
import { afterEach, describe, expect, it } from 'vitest'
import { outputsOf } from '../../../src/report/outputs.ts'
import { jarBytes } from '../../support/jars.ts'
import {
  disposeWorlds,
  makeWorld,
  markerKeys,
  markerUri,
  NEW_JAR,
  rollover,
  seedDeployment,
  type RunOptions,
  type World,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

const STANDBY: RunOptions['settings'] = { strategy: 'standby' }
const twoSlots = () => makeWorld({ cluster: { stepConcurrencyLevel: 2 } })
const killed = (): Error => Object.assign(new Error('runner killed'), { name: 'RunnerKilled' })
function crashWhen(w: World, when: () => boolean): void {
  w.emr.beforeCall = () => {
    if (when()) throw killed()
  }
}

describe('standby adoption', () => {
  it('a re-run with the same jar but other spark-submit args does not adopt the old standby', async () => {
    const w = twoSlots()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ initMs: 30_000 })
    crashWhen(w, () => w.emr.submitted[0]?.state === 'RUNNING')
    expect((await rollover(w, { settings: STANDBY })).error?.message).toContain('runner killed')
    w.emr.beforeCall = undefined

    // The fix of the failed release was a config change: same jar, more memory.
    const sparkSubmitArgs = ['--conf', 'spark.executor.memory=16g', '--num-executors', '8']
    const rerun = await rollover(w, {
      deploymentId: 'd-003',
      settings: { ...STANDBY, sparkSubmitArgs },
    })

    expect(rerun.report.result).toBe('deployed')
    const live = w.emr.aliveApps().map((a) => w.emr.step(a.stepId))
    expect(live).toHaveLength(1)
    // Today: the standby of d-002 (executor memory 4g, 4 executors) is adopted and reported green.
    expect(live[0]?.spec.args).toContain('spark.executor.memory=16g')
    // And the outputs name this run's deployment id with another deployment's marker.
    const out = outputsOf(rerun.report)
    expect(out['marker-uri']).toBe(markerUri(out['deployment-id'] as string))
  })

  it('a re-run that adopts a standby after a crash between the stop and the switch still judges the handoff', async () => {
    const w = twoSlots()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.emr.queue({ behaviour: 'gap' })
    crashWhen(w, () => w.emr.steps.get('s-FAKE0001')?.state === 'COMPLETED')
    expect((await rollover(w, { settings: STANDBY })).error?.message).toContain('runner killed')
    w.emr.beforeCall = undefined

    const rerun = await rollover(w, { settings: STANDBY, deploymentId: 'd-003' })

    // Today: 'deployed', handoff never compared, though d-001's .stopped is in S3.
    expect({ result: rerun.report.result, handoff: rerun.report.handoff?.verdict }).toEqual({
      result: 'rolled-back',
      handoff: 'gap',
    })
  })
})

describe('standby switch after a lost response', () => {
  it('a lost response to the marker step-id write does not leave the app down with an idle standby', async () => {
    const w = twoSlots()
    const old = seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    const fresh = markerUri('d-002')
    let writes = 0
    w.store.afterWrite = (call) => {
      // The second write of the new marker is attachStep: S3 applied it, the answer was lost.
      if (call.op === 'putText' && call.uri === fresh && ++writes === 2) {
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' })
      }
    }

    const out = await rollover(w, { settings: STANDBY })

    expect(old.step.app?.alive).toBe(false) // the old driver was stopped
    // Today: the switch's IfMatch uses the etag before attachStep, gets 412, and the run fails
    // with the old driver gone and the new one waiting in standby forever: nothing processes.
    expect(w.emr.aliveApps().some((a) => (a.log?.batches.length ?? 0) > 0)).toBe(true)
    expect(out.error).toBeUndefined()
  })
})

describe('standby with a new jar that lacks the driver library', () => {
  it('is refused before anything changes: its driver would process beside the old one', async () => {
    const w = twoSlots()
    const old = seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    // The release dropped the driver library (a shading change): it would start processing at
    // once, publish nothing and ignore its marker.
    w.store.seedBytes(NEW_JAR, jarBytes({ library: false }))
    w.emr.queue({ behaviour: 'no-library' })
    const markersBefore = markerKeys(w)

    const out = await rollover(w, { settings: { ...STANDBY, startTimeoutMs: 5 * 60_000 } })

    expect(out.error?.message).toMatch(/standby needs the driver library in the new build/)
    expect(out.error?.message).toMatch(/strategy: stop-start/)
    expect(w.emr.submitted).toEqual([])
    expect(w.emr.count('cancelStep')).toBe(0)
    expect(markerKeys(w)).toEqual(markersBefore)
    expect(w.store.calls.filter((c) => ['putText', 'delete', 'uploadFile'].includes(c.op))).toEqual(
      [],
    )
    expect(old.step.state).toBe('RUNNING')
  })

  it('goes on when spark-submit-args bring the library with --jars', async () => {
    const w = twoSlots()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    w.store.seedBytes(NEW_JAR, jarBytes({ library: false }))
    const sparkSubmitArgs = ['--jars', 's3://data-lake/libs/emr-rollover-driver_2.12-1.0.0.jar']

    const out = await rollover(w, { settings: { ...STANDBY, sparkSubmitArgs } })

    expect(out.error).toBeUndefined()
    expect(out.report.result).toBe('deployed')
  })
})

describe('stable-for after the switch (verify-by emr-state)', () => {
  it('watches the switched standby for stable-for after the switch, not from when its step started', async () => {
    const w = twoSlots()
    seedDeployment(w, 'd-001', {}, { ledger: true, current: true })
    // The standby needs 2.5 min to be ready; once switched it dies ~45 s later (say, it cannot
    // read the checkpoint state the old version left).
    w.emr.queue({ initMs: 150_000, behaviour: 'die-after-ms', dieAfterMs: 200_000 })

    const out = await rollover(w, {
      settings: { ...STANDBY, verifyBy: 'emr-state', stableForMs: 2 * 60_000 },
    })

    const verifiedAt = w.clock.now()
    await w.clock.advance(60_000)
    const [fresh] = w.emr.submitted
    expect(fresh?.state).toBe('FAILED')
    expect((fresh?.endedAt ?? 0) - verifiedAt).toBeLessThan(60_000)
    // Today: the EMR-state window is counted from the step's start (before the standby wait),
    // so it is over at the switch: one DescribeStep, 'deployed', and the app dies right after.
    expect(out.report.result).not.toBe('deployed')
  })
})
