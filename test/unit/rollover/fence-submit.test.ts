// Regression (review): the fence was not checked before each AddJobFlowSteps attempt. PacedEmr sits
// above fencedEmr, but AwsEmr.addStep runs its own retry loop (submitCarefully) below the fence:
// the fence is asserted once, and every retry after a throttle or a 5xx goes out unchecked. Only
// the lockLost signal stops it, and that signal is set by a timer: a runner paused (SIGSTOP)
// during a backoff resumes with the backoff timer due before the watchdog's, and resubmits.
import { AddJobFlowStepsCommand, EMRClient, EMRServiceException } from '@aws-sdk/client-emr'
import { mockClient } from 'aws-sdk-client-mock'
import { afterEach, describe, expect, it } from 'vitest'
import { withDeadline } from '../../../src/aws/deadline.ts'
import { AwsEmr } from '../../../src/aws/emr.ts'
import type { StepSpec } from '../../../src/aws/emr-port.ts'
import { PacedEmr, type EmrApi } from '../../../src/aws/paced-emr.ts'
import { RateBudgets } from '../../../src/aws/rate-budget.ts'
import type { Log } from '../../../src/log.ts'
import { fencedEmr } from '../../../src/rollover/fence.ts'
import { DeployLock } from '../../../src/rollover/lock.ts'
import { FakeClock, flush } from '../../support/fake-clock.ts'
import { MemoryStore } from '../../support/memory-store.ts'

const spec: StepSpec = {
  name: 'rollover:orders:0123456789:d-002',
  jar: 'command-runner.jar',
  args: ['spark-submit', 's3://b/app.jar'],
  actionOnFailure: 'CONTINUE',
}
const log: Log = { info: () => {}, warning: () => {}, debug: () => {}, group: (_n, fn) => fn() }

const client = new EMRClient({ region: 'us-east-1' })
const mock = mockClient(client)
afterEach(() => mock.reset())

describe('the fence and AddJobFlowSteps retries', () => {
  it('does not send AddJobFlowSteps again after a pause longer than the lease', async () => {
    const clock = new FakeClock({ auto: false })
    const store = new MemoryStore(() => clock.now())
    const lock = new DeployLock({
      store,
      location: { bucket: 'b', key: 'rollover/orders/lock' },
      owner: { deploymentId: 'd-002' },
      clock,
      log,
      random: () => 0.5,
    })
    await lock.acquire(0)
    lock.startRenewing()
    mock
      .on(AddJobFlowStepsCommand)
      .rejectsOnce(
        new EMRServiceException({
          name: 'ThrottlingException',
          message: 'Rate exceeded',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        }),
      )
      .resolves({ StepIds: ['s-NEW'] })
    const aws = new AwsEmr(client)
    const emr = new PacedEmr(
      fencedEmr(aws, () => lock.assertHeld()),
      {
        budgets: new RateBudgets<EmrApi>(clock, 5, 0.4),
        clock,
        random: () => 0.5,
      },
    )

    const submitted = withDeadline(clock.monotonic() + 600_000, () => emr.addStep('j-1', spec), {
      signal: lock.lost,
    }).catch((e: unknown) => e)
    await flush()
    expect(mock.commandCalls(AddJobFlowStepsCommand)).toHaveLength(1) // throttled, backing off

    clock.jump(180_000) // the runner is paused for 3 minutes...
    // ...and another run, seeing the lock unchanged for a whole lease, took it over.
    store.seed(
      's3://b/rollover/orders/lock',
      JSON.stringify({ version: 1, owner: { deploymentId: 'd-003' } }),
    )
    await clock.advance(0)
    await submitted

    expect(() => lock.assertHeld()).toThrow(/Lost the deploy lock/)
    // Today: the backoff wakes first and the retry is sent without any fence check.
    expect(mock.commandCalls(AddJobFlowStepsCommand)).toHaveLength(1)
    await lock.stopRenewing()
  })

  it('does not keep resubmitting (a kill step: no deadline scope, no signal) once the lock is lost', async () => {
    const clock = new FakeClock({ auto: false })
    const store = new MemoryStore(() => clock.now())
    const lock = new DeployLock({
      store,
      location: { bucket: 'b', key: 'rollover/orders/lock' },
      owner: { deploymentId: 'd-002' },
      clock,
      log,
      random: () => 0.5,
    })
    await lock.acquire(0)
    lock.startRenewing()
    const throttle = new EMRServiceException({
      name: 'ThrottlingException',
      message: 'Rate exceeded',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    })
    mock.on(AddJobFlowStepsCommand).rejects(throttle)
    const aws = new AwsEmr(client)
    const emr = new PacedEmr(
      fencedEmr(aws, () => lock.assertHeld()),
      {
        budgets: new RateBudgets<EmrApi>(clock, 5, 0.4),
        clock,
        random: () => 0.5,
        signal: lock.lost,
      },
    )
    // forceStop() calls addStep outside any withDeadline() scope.
    const killStep = emr.addStep('j-1', { ...spec, name: 'rollover-kill:orders:0123456789:d-002' })
    const settled = killStep.catch((e: unknown) => e)
    await clock.advance(10_000)
    // Another run takes the lock over; our next renewal sees it and declares the lock lost.
    store.seed(
      's3://b/rollover/orders/lock',
      JSON.stringify({ version: 1, owner: { deploymentId: 'd-003' } }),
    )
    await clock.advance(20_000)
    expect(lock.lost.aborted).toBe(true)
    const atLoss = mock.commandCalls(AddJobFlowStepsCommand).length

    await clock.advance(300_000)
    await settled
    // Today: AwsEmr's submitCarefully keeps sending AddJobFlowSteps for its 5-minute default
    // deadline: the fence was checked once, and no signal reaches it.
    expect(mock.commandCalls(AddJobFlowStepsCommand).length).toBe(atLoss)
    await lock.stopRenewing()
  })
})
