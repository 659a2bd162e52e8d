// The unit tests' FakeEmr keeps the EMR rules of test/emulator/emr-rules.ts, the module the
// emulator uses too (emulator*.test.ts prove the emulator side): runtime roles, ListSteps'
// order, the history limit, CancelSteps' answers. Fake clock, no processes.
import { afterEach, describe, expect, it } from 'vitest'
import { CancelStepFailed, type StepSpec } from '../../src/aws/emr-port.ts'
import { appIdentity } from '../../src/contract/identity.ts'
import { buildKillStep } from '../../src/contract/kill-step.ts'
import { buildSparkStep } from '../../src/contract/step.ts'
import {
  RUNTIME_ROLE_NOT_SUPPORTED,
  RUNTIME_ROLE_REQUIRED,
  STEP_HISTORY_LIMIT,
} from '../emulator/emr-rules.ts'
import { FakeClock } from '../support/fake-clock.ts'
import { FakeEmr, type FakeEmrOptions } from '../support/fake-emr.ts'
import { MemoryStore } from '../support/memory-store.ts'

const ROLE = 'arn:aws:iam::123456789012:role/emr-step'
const APP = appIdentity({ bucket: 'b', key: 'rollover' }, 'orders')
let seq = 0

function spark(): StepSpec {
  seq += 1
  return buildSparkStep({
    app: APP,
    deploymentId: `d${seq}`,
    mainClass: 'com.acme.Orders',
    sparkSubmitArgs: [],
    appArgs: [],
    jarUri: 's3://b/app.jar',
    markerUri: `s3://b/rollover/orders/markers/d${seq}`,
  })
}

const OTHER: StepSpec = { name: 'x', jar: 's3://b/x.jar', args: [], actionOnFailure: 'CONTINUE' }

describe('FakeEmr keeps the shared EMR rules', () => {
  let emr: FakeEmr | undefined
  const make = (options: Partial<FakeEmrOptions> = {}) => {
    const clock = new FakeClock()
    const store = new MemoryStore(() => clock.now())
    emr = new FakeEmr({ clock, store, ...options })
    return { emr, clock, store }
  }
  afterEach(() => emr?.dispose())

  it('runtime roles: required on such a cluster, refused elsewhere, returned by describeStep only', async () => {
    const { emr } = make({ cluster: { runtimeRoles: true } })
    emr.addCluster({ id: 'j-PLAIN' })
    const kill = buildKillStep({ name: 'rollover-kill:k', tags: ['rollover-x-1'] })
    await expect(emr.addStep('j-FAKE', kill)).rejects.toMatchObject({
      name: 'ValidationException',
      message: RUNTIME_ROLE_REQUIRED,
    })
    await expect(emr.addStep('j-PLAIN', kill, ROLE)).rejects.toMatchObject({
      name: 'ValidationException',
      message: RUNTIME_ROLE_NOT_SUPPORTED,
    })
    const id = await emr.addStep('j-FAKE', spark(), ROLE)
    expect((await emr.describeStep('j-FAKE', id)).executionRoleArn).toBe(ROLE)
    const [listed] = await emr.listActiveSteps('j-FAKE')
    expect(listed?.id).toBe(id)
    expect(listed?.executionRoleArn).toBeUndefined()
  })

  it('listActiveSteps answers oldest first; listRecentSteps newest first', async () => {
    const { emr } = make()
    const ids = [await emr.addStep('j-FAKE', spark()), await emr.addStep('j-FAKE', OTHER)]
    ids.push(await emr.addStep('j-FAKE', spark()))
    expect((await emr.listActiveSteps('j-FAKE')).map((s) => s.id)).toEqual(ids)
    expect((await emr.listRecentSteps('j-FAKE')).map((s) => s.id)).toEqual([...ids].reverse())
  })

  it('keeps about 1,000 steps of history: the oldest ended ones are forgotten', async () => {
    const { emr, clock } = make({ cluster: { stepConcurrencyLevel: 256 } })
    const first = await emr.addStep('j-FAKE', OTHER)
    for (let i = 0; i < STEP_HISTORY_LIMIT + 4; i++) await emr.addStep('j-FAKE', OTHER)
    await clock.advance(10_000)
    await emr.addStep('j-FAKE', OTHER)
    expect(emr.steps.size).toBe(STEP_HISTORY_LIMIT)
    await expect(emr.describeStep('j-FAKE', first)).rejects.toMatchObject({
      name: 'InvalidRequestException',
    })
  })

  it('a repeated cancel of a CANCEL_PENDING step does no harm; a cancel of an ended step is refused', async () => {
    const { emr, clock } = make()
    const step = emr.seedRunningStep(spark(), { behaviour: 'ignore-marker' })
    await emr.cancelStep('j-FAKE', step.id)
    expect(step.state).toBe('CANCEL_PENDING')
    await emr.cancelStep('j-FAKE', step.id)
    expect(step.state).toBe('CANCEL_PENDING')
    await clock.advance(1000)
    expect(step.state).toBe('CANCELLED')
    expect(step.app?.alive).toBe(true)
    const refused = await emr.cancelStep('j-FAKE', step.id).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(CancelStepFailed)
    expect((refused as CancelStepFailed).reason).toContain('CANCELLED')
  })

  it('below emr-5.28.0 a RUNNING step cannot be cancelled, from the API or the console', async () => {
    const { emr } = make({ cluster: { releaseLabel: 'emr-5.27.1' } })
    const step = emr.seedRunningStep(spark(), { behaviour: 'ignore-marker' })
    const refused = await emr.cancelStep('j-FAKE', step.id).catch((e: unknown) => e)
    expect((refused as CancelStepFailed).reason).toContain('emr-5.28.0')
    expect(emr.cancelFromConsole(step.id).kind).toBe('refused')
    expect(step.state).toBe('RUNNING')
  })

  it('with cancelHangs, CANCEL_PENDING lasts until the application ends', async () => {
    const { emr, clock, store } = make({ cancelHangs: true })
    const step = emr.seedRunningStep(spark(), { drainMs: 1000, markerPollMs: 500 })
    store.seed(step.app?.markerUri as string, '{}')
    await emr.cancelStep('j-FAKE', step.id)
    await clock.advance(60_000)
    expect(step.state).toBe('CANCEL_PENDING')
    store.objects.delete(step.app?.markerUri as string)
    await clock.advance(5000)
    expect(step.app?.alive).toBe(false)
    expect(step.state).toBe('CANCELLED')
  })
})
