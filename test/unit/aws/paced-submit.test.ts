// AddJobFlowSteps through the run's PacedEmr over the real adapter (the SDK mocked): retried
// until the current deadline, after a throttle at once, after anything else only once ListSteps
// shows no step of its unique name; every attempt through the port below (the lock's fence).
import {
  AddJobFlowStepsCommand,
  EMRClient,
  EMRServiceException,
  ListStepsCommand,
} from '@aws-sdk/client-emr'
import type { StepSummary } from '@aws-sdk/client-emr'
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { withDeadline } from '../../../src/aws/deadline.ts'
import { AwsEmr } from '../../../src/aws/emr.ts'
import type { EmrPort, StepSpec } from '../../../src/aws/emr-port.ts'
import { EmrRetriesExhausted, PacedEmr, type EmrApi } from '../../../src/aws/paced-emr.ts'
import { RateBudgets } from '../../../src/aws/rate-budget.ts'
import { isTransient } from '../../../src/aws/transient.ts'
import { FakeClock } from '../../support/fake-clock.ts'

const spec: StepSpec = {
  name: 'rollover:app:0123456789:d-1',
  jar: 'command-runner.jar',
  args: ['spark-submit', 's3://b/app.jar'],
  actionOnFailure: 'CONTINUE',
}

function serviceError(name: string, message: string, status = 400): EMRServiceException {
  return new EMRServiceException({
    name,
    message,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  })
}

function summary(id: string, name: string): StepSummary {
  return {
    Id: id,
    Name: name,
    ActionOnFailure: 'CONTINUE',
    Config: { Jar: 'command-runner.jar', Args: ['spark-submit', 's3://b/a.jar'] },
    Status: { State: 'PENDING', Timeline: { CreationDateTime: new Date() } },
  }
}

let client: EMRClient
let mock: AwsClientStub<EMRClient>
let clock: FakeClock
let logged: string[]

/** Budgets that never hold a call back, to see the retry rules alone. */
function paced(inner: EmrPort = new AwsEmr(client)): PacedEmr {
  return new PacedEmr(inner, {
    budgets: new RateBudgets<EmrApi>(clock, 1000, 1000, { minRatePerSecond: 1000 }),
    clock,
    random: () => 0.5,
    onFoundAccepted: (id, failure) => logged.push(`found ${id} behind ${failure.name}`),
  })
}

beforeEach(() => {
  client = new EMRClient({ region: 'us-east-1' })
  mock = mockClient(client)
  clock = new FakeClock({ auto: true })
  logged = []
})

afterEach(() => mock.restore())

describe('AddJobFlowSteps retried by PacedEmr, looking before it resubmits', () => {
  it('the adapter itself makes one attempt', async () => {
    mock.on(AddJobFlowStepsCommand).rejects(serviceError('ThrottlingException', 'Rate exceeded'))
    await expect(new AwsEmr(client).addStep('j-1', spec)).rejects.toThrow(/Rate exceeded/)
    expect(mock.commandCalls(AddJobFlowStepsCommand)).toHaveLength(1)
  })

  it('uses the step EMR accepted behind a 5xx instead of submitting a second one', async () => {
    mock.on(AddJobFlowStepsCommand).rejects(serviceError('InternalServerError', 'boom', 500))
    mock.on(ListStepsCommand).resolves({
      Steps: [summary('s-OTHER', 'other'), summary('s-ACCEPTED', spec.name)],
    })
    expect(await paced().addStep('j-1', spec)).toBe('s-ACCEPTED')
    expect(mock.commandCalls(AddJobFlowStepsCommand)).toHaveLength(1)
    expect(logged).toEqual(['found s-ACCEPTED behind InternalServerError'])
    // The lookup waited a backoff first: EMR may take a moment to list a step it accepted.
    expect(clock.sleeps).toEqual([750])
  })

  it('resubmits after a throttle without looking: a throttled request did nothing', async () => {
    mock
      .on(AddJobFlowStepsCommand)
      .rejectsOnce(serviceError('ThrottlingException', 'Rate exceeded'))
      .resolves({ StepIds: ['s-NEW'] })
    expect(await paced().addStep('j-1', spec)).toBe('s-NEW')
    expect(mock.commandCalls(AddJobFlowStepsCommand)).toHaveLength(2)
    expect(mock.commandCalls(ListStepsCommand)).toHaveLength(0)
  })

  it('resubmits after a 5xx only once a lookup has answered, however often it fails', async () => {
    const order: string[] = []
    const submissions = [serviceError('InternalServerError', 'boom', 500), undefined]
    mock.on(AddJobFlowStepsCommand).callsFake(() => {
      order.push('AddJobFlowSteps')
      const error = submissions.shift()
      if (error) throw error
      return { StepIds: ['s-NEW'] }
    })
    const lookups = [
      serviceError('ThrottlingException', 'Rate exceeded'),
      serviceError('ServiceUnavailable', 'later', 503),
      undefined,
    ]
    mock.on(ListStepsCommand).callsFake(() => {
      order.push('ListSteps')
      const error = lookups.shift()
      if (error) throw error
      return { Steps: [summary('s-OTHER', 'other')] }
    })
    expect(await paced().addStep('j-1', spec)).toBe('s-NEW')
    expect(order).toEqual([
      'AddJobFlowSteps',
      'ListSteps',
      'ListSteps',
      'ListSteps',
      'AddJobFlowSteps',
    ])
  })

  it('retries until the current deadline, not for a fixed number of attempts', async () => {
    const at: number[] = []
    mock.on(AddJobFlowStepsCommand).callsFake(() => {
      at.push(clock.monotonic())
      throw serviceError('ThrottlingException', 'Rate exceeded')
    })
    const deadline = clock.monotonic() + 120_000
    const error = await withDeadline(deadline, () => paced().addStep('j-1', spec), {
      what: 'the submit deadline',
    }).catch((e: unknown) => e)
    expect(at.length).toBeGreaterThan(6)
    expect(Math.max(...at)).toBe(deadline)
    expect(error).toBeInstanceOf(EmrRetriesExhausted)
    expect(isTransient(error)).toBe(true)
    expect((error as Error).message).toMatch(
      new RegExp(
        `^EMR AddJobFlowSteps \\(cluster j-1\\) failed: Rate exceeded Tried ${at.length} times over 2m \\(${at.length} throttled\\), until the submit deadline\\. EMR's request quota is per AWS account and region and shared`,
      ),
    )
  })

  it('does not retry an error that is not transient', async () => {
    mock.on(AddJobFlowStepsCommand).rejects(serviceError('ValidationException', 'bad step'))
    await expect(paced().addStep('j-1', spec)).rejects.toThrow(/bad step/)
    expect(mock.commandCalls(AddJobFlowStepsCommand)).toHaveLength(1)
    expect(mock.commandCalls(ListStepsCommand)).toHaveLength(0)
  })

  it('stops waiting when the deadline scope is aborted', async () => {
    mock.on(AddJobFlowStepsCommand).rejects(serviceError('InternalServerError', 'boom', 500))
    mock.on(ListStepsCommand).resolves({ Steps: [] })
    const cancel = new AbortController()
    clock.auto = false
    const outcome = withDeadline(clock.monotonic() + 600_000, () => paced().addStep('j-1', spec), {
      signal: cancel.signal,
    }).catch((e: unknown) => e)
    await clock.advance(10_000)
    const before = mock.commandCalls(AddJobFlowStepsCommand).length
    cancel.abort(new Error('cancelled'))
    expect(await outcome).toMatchObject({ message: 'cancelled' })
    await clock.advance(600_000)
    expect(mock.commandCalls(AddJobFlowStepsCommand)).toHaveLength(before)
  })

  it('asks the port below before every attempt: a fence that closes stops the next one', async () => {
    mock.on(AddJobFlowStepsCommand).rejects(serviceError('ThrottlingException', 'Rate exceeded'))
    const aws = new AwsEmr(client)
    let open = true
    const fenced: EmrPort = {
      resolveCluster: (r) => aws.resolveCluster(r),
      listActiveSteps: (c) => aws.listActiveSteps(c),
      listRecentSteps: (c) => aws.listRecentSteps(c),
      describeStep: (c, s) => aws.describeStep(c, s),
      listStepsById: (c, ids) => aws.listStepsById(c, ids),
      cancelStep: (c, s) => aws.cancelStep(c, s),
      addStep: async (c, s, r) => {
        if (!open) throw new Error('Lost the deploy lock')
        open = false // lost while the first attempt is answered
        return aws.addStep(c, s, r)
      },
    }
    await expect(paced(fenced).addStep('j-1', spec)).rejects.toThrow('Lost the deploy lock')
    expect(mock.commandCalls(AddJobFlowStepsCommand)).toHaveLength(1)
  })
})
