// Phase 5 when the old driver does not simply stop: stop-timeout with `fail` and `kill`, a kill
// step that fails, a step cancelled (not stopped) behind our back, and the run being cancelled.
import { afterEach, describe, expect, it } from 'vitest'
import { StopCancelled, StopTimeout } from '../../../src/rollover/stop.ts'
import { UserError } from '../../../src/errors.ts'
import { deploymentTag, stepName } from '../../../src/contract/identity.ts'
import {
  LOCK_URI,
  disposeWorlds,
  makeWorld,
  markerKeys,
  markerUri,
  recordUri,
  rollover,
  seedDeployment,
  whenDeleted,
  type World,
  APP_IDENTITY,
  LEDGER_URI,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

const stopTimeoutMs = 2 * 60_000

/** Index in emr.calls of the first call matching. */
function callIndex(w: World, match: (c: World['emr']['calls'][number]) => boolean): number {
  return w.emr.calls.findIndex(match)
}

describe('stop-timeout', () => {
  it('fail: writes the marker back, submits nothing, and says what runs and what to do', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { behaviour: 'ignore-marker' })
    const markerText = w.store.text(old.markerUri)

    const { report, error, startedAt, endedAt } = await rollover(w, {
      settings: { stopTimeoutMs },
    })

    expect(error).toBeInstanceOf(StopTimeout)
    expect(error?.message).toContain(`The running driver is not confirmed gone within`)
    expect(error?.message).toContain(`${old.step.id} (RUNNING): its step is RUNNING`)
    expect(error?.message).toContain('stop-timeout (2m)')
    expect(error?.message).toContain('Nothing was submitted.')
    expect(error?.message).toContain(`The marker was written back (${old.markerUri})`)
    expect(error?.message).toContain("re-run with 'on-stop-timeout: kill'")
    expect(endedAt - startedAt).toBeGreaterThanOrEqual(stopTimeoutMs)
    expect(endedAt - startedAt).toBeLessThan(stopTimeoutMs + 15_000)

    expect(w.store.text(old.markerUri)).toBe(markerText)
    expect(markerKeys(w)).toEqual([old.markerUri])
    expect(w.emr.mutations).toEqual([])
    expect(old.step.state).toBe('RUNNING')
    expect(old.step.app?.alive).toBe(true)
    expect(w.store.objects.has(LOCK_URI)).toBe(false)
    expect(report.phases.find((p) => p.name === 'Stop')?.status).toBe('failed')
    expect(w.store.json(recordUri('d-002'))).toMatchObject({
      status: 'failed',
      error: error?.message,
    })
  })

  it('kill: records the intent, has EMR accept the kill step, then cancels, and submits only after the kill COMPLETED', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { behaviour: 'ignore-marker' })

    const { report, error } = await rollover(w, {
      settings: { stopTimeoutMs, onStopTimeout: 'kill' },
    })

    expect(error).toBeUndefined()
    expect(report.result).toBe('deployed')
    expect(report.forcedStop).toBe(true)
    expect(report.previous).toEqual([{ stepId: old.step.id, state: 'KILLED' }])
    const [kill, fresh] = w.emr.submitted
    expect(w.emr.submitted).toHaveLength(2)
    expect(kill?.kind).toBe('kill')
    expect(kill?.spec.args.at(-1)).toBe(deploymentTag(APP_IDENTITY, 'd-001'))
    expect(fresh?.spec.name).toBe(stepName(APP_IDENTITY, 'd-002'))

    // Order: the kill step accepted, then CancelSteps on the stuck step (a step cancelled before
    // EMR accepted the kill would leave a live driver nobody kills), its COMPLETED, the new step.
    const addKill = callIndex(w, (c) => c.op === 'addStep' && c.stepId === kill?.id)
    const cancel = callIndex(w, (c) => c.op === 'cancelStep' && c.stepId === old.step.id)
    const killDone = callIndex(w, (c) => c.stepId === kill?.id && c.state === 'COMPLETED')
    const addNew = callIndex(w, (c) => c.op === 'addStep' && c.stepId === fresh?.id)
    expect(cancel).toBeGreaterThanOrEqual(0)
    expect([addKill, cancel, killDone, addNew]).toEqual(
      [addKill, cancel, killDone, addNew].sort((a, b) => a - b),
    )
    expect(new Set([cancel, addKill, killDone, addNew]).size).toBe(4)
    // The intent was in the ledger before the kill step was submitted.
    const intent = w.events.findIndex((e) => e === `s3:putText ${LEDGER_URI}`)
    const killEvent = w.events.findIndex((e) => e.startsWith('emr:addStep rollover-kill:'))
    expect(intent).toBeGreaterThanOrEqual(0)
    expect(intent).toBeLessThan(killEvent)
    expect(fresh?.createdAt).toBeGreaterThanOrEqual(kill?.endedAt ?? Infinity)

    // The cancel alone left the driver running; the kill step ended it.
    expect(old.step.state).toBe('CANCELLED')
    expect(old.step.app?.exit).toBe('killed')
    expect(w.emr.kills).toEqual([
      { stepId: kill?.id, tag: deploymentTag(APP_IDENTITY, 'd-001'), killed: [old.step.app?.id] },
    ])
    expect(w.emr.aliveApps().map((a) => a.stepId)).toEqual([fresh?.id])
    expect(markerKeys(w)).toEqual([markerUri('d-002')])
  })

  it('kill: a kill step that FAILED stops the run before anything is submitted', async () => {
    const w = makeWorld({ kill: { outcome: 'FAILED' } })
    const old = seedDeployment(w, 'd-001', { behaviour: 'ignore-marker' })

    const { error } = await rollover(w, { settings: { stopTimeoutMs, onStopTimeout: 'kill' } })

    const [kill] = w.emr.submitted
    expect(w.emr.submitted).toHaveLength(1)
    expect(kill?.kind).toBe('kill')
    expect(error).toBeInstanceOf(UserError)
    expect(error?.message).toContain(
      `Could not confirm that ${old.step.id} (RUNNING) is gone: kill step ${kill?.id} is FAILED`,
    )
    expect(error?.message).toContain(
      'Nothing was submitted, and every later run treats the driver as possibly alive',
    )
    expect(error?.message).toContain('yarn application -kill')
    expect(old.step.app?.alive).toBe(true)
    expect(w.emr.activeSteps()).toEqual([])
    expect(w.store.objects.has(LOCK_URI)).toBe(false)
  })
})

describe('an old step that ends CANCELLED without an acknowledgement', () => {
  // Someone cancels the step in the console 5 s after the marker was deleted: spark-submit ends,
  // the cluster-mode driver (which ignores its marker) keeps running in YARN.
  function cancelledBehindOurBack(w: World) {
    const old = seedDeployment(w, 'd-001', { behaviour: 'ignore-marker' })
    whenDeleted(w, old.markerUri, 5000, () => w.emr.cancelFromConsole(old.step.id))
    return old
  }

  it('fail: is not taken as stopped; the marker is written back and nothing submitted', async () => {
    const w = makeWorld()
    const old = cancelledBehindOurBack(w)

    const { error } = await rollover(w, { settings: { stopTimeoutMs } })

    expect(error).toBeInstanceOf(StopTimeout)
    expect(error?.message).toContain(`${old.step.id} (CANCELLED):`)
    // Its driver lives on in YARN: either no acknowledgement came, or progress after the end.
    expect(error?.message).toMatch(/without an acknowledgement|outlived spark-submit/)
    expect(error?.message).toContain("'on-stop-timeout: kill'")
    expect(old.step.state).toBe('CANCELLED')
    expect(old.step.app?.alive).toBe(true)
    expect(w.emr.count('addStep')).toBe(0)
    expect(markerKeys(w)).toEqual([old.markerUri])
  })

  it('kill: the YARN application is killed before the new step is submitted', async () => {
    const w = makeWorld()
    const old = cancelledBehindOurBack(w)

    const { report, error } = await rollover(w, {
      settings: { stopTimeoutMs, onStopTimeout: 'kill' },
    })

    expect(error).toBeUndefined()
    expect(report.previous).toEqual([{ stepId: old.step.id, state: 'KILLED' }])
    expect(w.emr.count('cancelStep')).toBe(0) // already terminal: nothing to cancel
    const [kill, fresh] = w.emr.submitted
    expect(kill?.kind).toBe('kill')
    expect(old.step.app?.exit).toBe('killed')
    expect(fresh?.createdAt).toBeGreaterThanOrEqual(old.step.app?.endedAt ?? Infinity)
    expect(w.emr.aliveApps().map((a) => a.stepId)).toEqual([fresh?.id])
  })
})

describe('cancellation while the old driver drains', () => {
  it('still submits when the old step ends within the grace period, then fails', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { drainMs: 3000 })
    const cancel = new AbortController()
    whenDeleted(w, old.markerUri, 500, () => cancel.abort(new UserError('Cancelled (SIGTERM).')))

    const { report, error } = await rollover(w, { signal: cancel.signal })

    expect(cancel.signal.aborted).toBe(true)
    const [fresh] = w.emr.submitted
    expect(fresh?.spec.name).toBe(stepName(APP_IDENTITY, 'd-002'))
    expect(error?.message).toBe(
      `Cancelled: the new step ${fresh?.id} was submitted but not verified. Check it in the EMR console.`,
    )
    expect(report.launch?.outcome).toBe('not-verified')
    expect(old.step.state).toBe('COMPLETED')
    expect(report.phases.map((p) => p.name)).not.toContain('Verify')
    expect(markerKeys(w)).toEqual([markerUri('d-002')])
    expect(w.store.objects.has(LOCK_URI)).toBe(false)
  })

  it('gives up after the grace period without submitting', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { drainMs: 60_000 })
    const cancel = new AbortController()
    whenDeleted(w, old.markerUri, 500, () => cancel.abort(new UserError('Cancelled (SIGTERM).')))

    const { error, endedAt } = await rollover(w, { signal: cancel.signal })

    expect(error).toBeInstanceOf(StopCancelled)
    expect(error?.message).toContain(`Cancelled while ${old.step.id} (RUNNING) was stopping`)
    expect(error?.message).toContain('nothing new was submitted')
    expect(w.emr.count('addStep')).toBe(0)
    expect(old.step.state).toBe('RUNNING') // still draining; the re-run will wait for it
    expect(endedAt).toBeLessThan((old.step.app?.markerGoneAt ?? 0) + 60_000)
    expect(w.store.objects.has(LOCK_URI)).toBe(false)
  })
})
