// When EMR does not answer: the driver's word is not taken as EMR's, a window of failed calls is
// not taken as "stayed up", and a cancellation while verifying says what runs.
import { afterEach, describe, expect, it } from 'vitest'
import { RolloverFailed } from '../../../src/rollover/run.ts'
import { StopTimeout } from '../../../src/rollover/stop.ts'
import { UserError } from '../../../src/errors.ts'
import type { EmrCall } from '../../support/fake-emr.ts'
import {
  LOCK_URI,
  disposeWorlds,
  makeWorld,
  markerKeys,
  markerUri,
  rollover,
  seedDeployment,
  type World,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

/** True once EMR has answered RUNNING for this call's step. */
function seenRunning(w: World, call: EmrCall): boolean {
  return w.emr.calls.some(
    (c) =>
      c.op === 'describeStep' && c.stepId === call.stepId && c.state === 'RUNNING' && c !== call,
  )
}

describe('EMR does not confirm', () => {
  it('the old step: the driver acknowledged, so its marker is not put back, and nothing is submitted', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', { ack: true })
    // Every look at the old step refused, through DescribeStep and ListSteps alike.
    w.emr.throttleWhen(
      (c) => (c.op === 'describeStep' || c.op === 'listStepsById') && c.stepId === old.step.id,
    )

    const { error } = await rollover(w, { settings: { stopTimeoutMs: 60_000 } })

    expect(error).toBeInstanceOf(StopTimeout)
    expect(error?.message).toContain(
      `${old.step.id} (RUNNING): its step is RUNNING (it acknowledged its stop`,
    )
    expect(error?.message).toContain(
      "By the driver's word nothing of the app runs now, but EMR did not answer",
    )
    expect(error?.message).toContain('ThrottlingException')
    expect(error?.message).toContain('re-run the workflow')
    expect(w.store.objects.has(old.markerUri)).toBe(false)
    expect(w.emr.count('addStep')).toBe(0)
    expect(w.store.objects.has(LOCK_URI)).toBe(false)
  })

  it('the new step at the end of stable-for: not-verified, neither retired nor rolled back', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001')
    w.emr.queue({ behaviour: 'die-after-ms', dieAfterMs: 30_000 })
    w.emr.throttleWhen(
      (c) => c.op === 'describeStep' && c.stepId !== old.step.id && seenRunning(w, c),
    )

    // By EMR state: the driver's progress would prove it alive, or dead, without EMR.
    const { report, error } = await rollover(w, { settings: { verifyBy: 'emr-state' } })

    expect(error).toBeInstanceOf(RolloverFailed)
    expect(error?.message).toContain('EMR did not answer DescribeStep')
    expect(error?.message).toContain('Not rolled back')
    expect(report.launch?.outcome).toBe('not-verified')
    expect(report.result).toBeUndefined()
    expect(w.emr.count('addStep')).toBe(1)
    expect(w.emr.count('cancelStep')).toBe(0)
    expect(markerKeys(w)).toEqual([markerUri('d-002')])
  })
})

describe('cancellation while verifying', () => {
  it('says which step was submitted and for how long it was watched', async () => {
    const w = makeWorld()
    seedDeployment(w, 'd-001')
    const cancel = new AbortController()
    // Cancelled while the new driver is watched through stable-for: after a few reads of its
    // progress (EMR is not asked while it commits, so no DescribeStep marks that moment).
    let reads = 0
    w.store.beforeCall = (call) => {
      if (call.op !== 'getText' || call.uri !== `${markerUri('d-002')}.progress`) return
      if (++reads === 6 && !cancel.signal.aborted)
        cancel.abort(new UserError('Cancelled (SIGINT).'))
    }

    const { report, error } = await rollover(w, { signal: cancel.signal })

    const [fresh] = w.emr.submitted
    expect(error).toBeInstanceOf(RolloverFailed)
    expect(error?.message).toMatch(
      new RegExp(
        `^Cancelled \\(SIGINT\\) while verifying: the new step ${fresh?.id} \\(s3://.+\\.jar\\) was submitted and stopped being watched after watching it RUNNING for .+ of stable-for`,
      ),
    )
    expect(report.launch?.outcome).toBe('not-verified')
    expect(w.store.objects.has(LOCK_URI)).toBe(false)
  })
})
