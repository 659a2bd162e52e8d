import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  AddJobFlowStepsCommand,
  CancelStepsCommand,
  DescribeClusterCommand,
  DescribeStepCommand,
  EMRClient,
  EMRServiceException,
  InvalidRequestException,
  ListClustersCommand,
  ListStepsCommand,
  type ClusterSummary,
  type StepSummary,
} from '@aws-sdk/client-emr'
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  AwsEmr,
  CancelStepFailed,
  configuredEndpoint,
  createEmrClient,
} from '../../../src/aws/emr.ts'
import { isTransient } from '../../../src/aws/transient.ts'
import type { StepSpec } from '../../../src/aws/emr-port.ts'
import { UserError } from '../../../src/errors.ts'

let client: EMRClient
let mock: AwsClientStub<EMRClient>
let emr: AwsEmr
let logged: string[]

beforeEach(() => {
  client = new EMRClient({ region: 'us-east-1' })
  mock = mockClient(client)
  logged = []
  emr = new AwsEmr(client, { log: { info: (m) => logged.push(m) } })
})

afterEach(() => {
  mock.restore()
})

/** The matchers compare top-level keys only; this checks that nothing else was sent. */
function inputOf(command: Parameters<typeof mock.commandCalls>[0], n = 0): unknown {
  return mock.commandCalls(command)[n]?.args[0].input
}

function serviceError(name: string, message: string, status = 400): EMRServiceException {
  return new EMRServiceException({
    name,
    message,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  })
}

function cluster(id: string, name: string, state = 'WAITING'): ClusterSummary {
  return { Id: id, Name: name, Status: { State: state as 'WAITING' } }
}

const created = new Date('2025-01-02T03:04:05Z')
const started = new Date('2025-01-02T03:05:00Z')
const ended = new Date('2025-01-02T04:00:00Z')

function stepSummary(id: string, state: string, extra: Partial<StepSummary> = {}): StepSummary {
  return {
    Id: id,
    Name: `app ${id}`,
    ActionOnFailure: 'CONTINUE',
    Config: {
      Jar: 'command-runner.jar',
      Args: ['spark-submit', '--class', 'Main', 's3://b/a.jar'],
    },
    Status: { State: state as 'RUNNING', Timeline: { CreationDateTime: created } },
    ...extra,
  }
}

describe('createEmrClient', () => {
  it('takes the region from the option, then AWS_REGION, then AWS_DEFAULT_REGION', async () => {
    const env = { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-central-1' }
    expect(await createEmrClient({ region: 'ap-south-1', env }).config.region()).toBe('ap-south-1')
    expect(await createEmrClient({ env }).config.region()).toBe('eu-west-1')
    expect(
      await createEmrClient({ env: { AWS_DEFAULT_REGION: 'eu-central-1' } }).config.region(),
    ).toBe('eu-central-1')
    expect(await createEmrClient({ region: '', env: {} }).config.region()).toBe('us-east-1')
  })

  it('makes one attempt per call in standard mode, with the action user agent', async () => {
    const c = createEmrClient({ env: {} })
    const strategy = await c.config.retryStrategy()
    // Adaptive mode would add the SDK's own rate limiter (real-time sleeps) to the budget's.
    expect(strategy).toHaveProperty('mode', 'standard')
    expect(await c.config.maxAttempts()).toBe(1)
    expect(c.config.customUserAgent).toEqual([['emr-streaming-rollover']])
    expect(c.config.isCustomEndpoint).toBe(false)
    expect(await createEmrClient({ env: {}, maxAttempts: 3 }).config.maxAttempts()).toBe(3)
  })

  it('takes the endpoint from AWS_ENDPOINT_URL_EMR before AWS_ENDPOINT_URL', async () => {
    const both = { AWS_ENDPOINT_URL: 'http://global:1', AWS_ENDPOINT_URL_EMR: 'http://emr:2' }
    expect(configuredEndpoint(both)).toBe('http://emr:2')
    expect(configuredEndpoint({ AWS_ENDPOINT_URL: 'http://global:1' })).toBe('http://global:1')
    expect(configuredEndpoint({ ...both, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toBe(
      undefined,
    )
    const c = createEmrClient({ env: both })
    expect(c.config.isCustomEndpoint).toBe(true)
    expect(await c.config.endpoint?.()).toMatchObject({ hostname: 'emr', port: 2 })
  })
})

describe('against a local HTTP endpoint', () => {
  let requests: { headers: IncomingHttpHeaders; body: string }[]
  let replies: { status: number; body: object }[]
  let url: string
  let close: () => Promise<void>

  beforeEach(async () => {
    requests = []
    replies = []
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk: Buffer) => (body += chunk.toString()))
      req.on('end', () => {
        requests.push({ headers: req.headers, body })
        const reply = replies.shift() ?? { status: 500, body: { __type: 'InternalServerError' } }
        res.writeHead(reply.status, { 'content-type': 'application/x-amz-json-1.1' })
        res.end(JSON.stringify(reply.body))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    close = () => new Promise((resolve) => server.close(() => resolve()))
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST')
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret')
    vi.stubEnv('AWS_SESSION_TOKEN', '')
    vi.stubEnv('AWS_PROFILE', '')
  })

  afterEach(async () => {
    vi.unstubAllEnvs()
    await close()
  })

  const describeReply = {
    status: 200,
    body: { Cluster: { Id: 'j-1', Name: 'c', Status: { State: 'WAITING' } } },
  }

  // A canary for SDK upgrades: createEmrClient passes the endpoint itself, but the SDK alone
  // honours the variable too (read from process.env at the first request).
  it('the SDK itself honours AWS_ENDPOINT_URL_EMR from process.env', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_EMR', url)
    replies.push(describeReply)
    const plain = new EMRClient({ region: 'us-east-1' })
    const out = await plain.send(new DescribeClusterCommand({ ClusterId: 'j-1' }))
    expect(out.Cluster?.Id).toBe('j-1')
    expect(requests).toHaveLength(1)
  })

  it('reaches an endpoint given only in the injected env, with the user agent', async () => {
    replies.push(describeReply)
    const real = new AwsEmr(createEmrClient({ env: { AWS_ENDPOINT_URL_EMR: url } }))
    await real.resolveCluster({ kind: 'id', id: 'j-1' })
    expect(requests[0]?.headers['x-amz-target']).toBe('ElasticMapReduce.DescribeCluster')
    expect(requests[0]?.headers['user-agent']).toContain('emr-streaming-rollover')
  })

  it('hands a throttle back after one request, for PacedEmr to pace and retry', async () => {
    replies.push(
      { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } },
      describeReply,
    )
    const real = new AwsEmr(createEmrClient({ env: { AWS_ENDPOINT_URL: url } }))
    const error = await real.resolveCluster({ kind: 'id', id: 'j-1' }).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'ThrottlingException' })
    expect(requests).toHaveLength(1)
    expect(real.calls.get('DescribeCluster')).toBe(1)
  })

  it('counts the requests of a client that retries by itself', async () => {
    replies.push(
      { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } },
      describeReply,
    )
    const real = new AwsEmr(createEmrClient({ env: { AWS_ENDPOINT_URL: url }, maxAttempts: 2 }))
    await real.resolveCluster({ kind: 'id', id: 'j-1' })
    expect(requests).toHaveLength(2)
    expect(real.calls.get('DescribeCluster')).toBe(2)
  })
})

describe('resolveCluster by id', () => {
  it('describes the cluster and maps it', async () => {
    mock.on(DescribeClusterCommand).resolves({
      Cluster: {
        Id: 'j-ABC',
        Name: 'streaming',
        Status: { State: 'RUNNING' },
        StepConcurrencyLevel: 2,
        ReleaseLabel: 'emr-7.5.0',
      },
    })
    const info = await emr.resolveCluster({ kind: 'id', id: 'j-ABC' })
    expect(info).toEqual({
      id: 'j-ABC',
      name: 'streaming',
      state: 'RUNNING',
      stepConcurrencyLevel: 2,
      releaseLabel: 'emr-7.5.0',
    })
    expect(mock).toHaveReceivedCommandExactlyOnceWith(DescribeClusterCommand, {
      ClusterId: 'j-ABC',
    })
    expect(inputOf(DescribeClusterCommand)).toEqual({ ClusterId: 'j-ABC' })
    expect(mock).not.toHaveReceivedCommand(ListClustersCommand)
    expect(emr.calls).toEqual(new Map([['DescribeCluster', 1]]))
    expect(logged).toEqual([])
  })

  it('defaults the step concurrency to 1', async () => {
    mock.on(DescribeClusterCommand).resolves({
      Cluster: { Id: 'j-ABC', Name: 'old', Status: { State: 'WAITING' } },
    })
    const info = await emr.resolveCluster({ kind: 'id', id: 'j-ABC' })
    expect(info.stepConcurrencyLevel).toBe(1)
    expect(info.releaseLabel).toBeUndefined()
  })

  it.each(['TERMINATING', 'TERMINATED', 'TERMINATED_WITH_ERRORS'])(
    'refuses a %s cluster',
    async (state) => {
      mock.on(DescribeClusterCommand).resolves({
        Cluster: { Id: 'j-GONE', Name: 'x', Status: { State: state as 'TERMINATED' } },
      })
      const error = await emr.resolveCluster({ kind: 'id', id: 'j-GONE' }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(UserError)
      expect((error as Error).message).toContain('j-GONE')
      expect((error as Error).message).toContain(state)
      expect((error as Error).message).toContain('`cluster-id`')
    },
  )

  it.each(['STARTING', 'BOOTSTRAPPING'])('accepts a %s cluster and notes it', async (state) => {
    mock.on(DescribeClusterCommand).resolves({
      Cluster: { Id: 'j-NEW', Name: 'x', Status: { State: state as 'STARTING' } },
    })
    const info = await emr.resolveCluster({ kind: 'id', id: 'j-NEW' })
    expect(info.state).toBe(state)
    expect(logged).toHaveLength(1)
    expect(logged[0]).toContain(state)
    expect(logged[0]).toContain('queue')
  })

  it('turns an unknown cluster id into a UserError naming the input', async () => {
    mock.on(DescribeClusterCommand).rejects(
      new InvalidRequestException({
        message: "Cluster id 'j-NOPE' is not valid.",
        $metadata: { httpStatusCode: 400 },
      }),
    )
    const error = await emr.resolveCluster({ kind: 'id', id: 'j-NOPE' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UserError)
    expect((error as Error).message).toMatch(/^cluster-id 'j-NOPE': .*no cluster j-NOPE/)
  })

  it('lets other InvalidRequestExceptions through unchanged', async () => {
    const original = new InvalidRequestException({
      message: 'something else',
      $metadata: { httpStatusCode: 400 },
    })
    mock.on(DescribeClusterCommand).rejects(original)
    await expect(emr.resolveCluster({ kind: 'id', id: 'j-1' })).rejects.toBe(original)
  })
})

describe('resolveCluster by name', () => {
  const activeStates = ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING']

  it('finds the one exact match across pages, then describes it', async () => {
    mock
      .on(ListClustersCommand, { Marker: undefined })
      .resolves({
        Clusters: [cluster('j-1', 'streaming-staging'), cluster('j-2', 'Streaming')],
        Marker: 'page2',
      })
      .on(ListClustersCommand, { Marker: 'page2' })
      .resolves({ Clusters: [cluster('j-3', 'streaming')] })
    mock.on(DescribeClusterCommand).resolves({
      Cluster: { Id: 'j-3', Name: 'streaming', Status: { State: 'WAITING' } },
    })
    const info = await emr.resolveCluster({ kind: 'name', name: 'streaming' })
    expect(info.id).toBe('j-3')
    expect(mock).toHaveReceivedCommandTimes(ListClustersCommand, 2)
    expect(inputOf(ListClustersCommand, 0)).toEqual({ ClusterStates: activeStates })
    expect(inputOf(ListClustersCommand, 1)).toEqual({
      ClusterStates: activeStates,
      Marker: 'page2',
    })
    expect(mock).toHaveReceivedCommandExactlyOnceWith(DescribeClusterCommand, { ClusterId: 'j-3' })
    expect(emr.calls).toEqual(
      new Map([
        ['ListClusters', 2],
        ['DescribeCluster', 1],
      ]),
    )
  })

  it('lists up to 10 active names when nothing matches', async () => {
    const clusters = Array.from({ length: 12 }, (_, i) => cluster(`j-${i}`, `other-${i}`))
    mock.on(ListClustersCommand).resolves({ Clusters: clusters })
    const error = await emr
      .resolveCluster({ kind: 'name', name: 'streaming' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UserError)
    const message = (error as Error).message
    expect(message).toContain("cluster-name 'streaming'")
    expect(message).toContain("'other-9' (j-9)")
    expect(message).not.toContain('other-10')
    expect(message).toContain('and 2 more')
    expect(mock).not.toHaveReceivedCommand(DescribeClusterCommand)
  })

  it('says so when there is no active cluster at all', async () => {
    mock.on(ListClustersCommand).resolves({})
    await expect(emr.resolveCluster({ kind: 'name', name: 'streaming' })).rejects.toThrow(
      /no active cluster in this account/,
    )
  })

  it('refuses two clusters with the same name and points at cluster-id', async () => {
    mock
      .on(ListClustersCommand)
      .resolves({ Clusters: [cluster('j-A', 'streaming'), cluster('j-B', 'streaming', 'RUNNING')] })
    const error = await emr
      .resolveCluster({ kind: 'name', name: 'streaming' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UserError)
    expect((error as Error).message).toContain('j-A, j-B')
    expect((error as Error).message).toContain('`cluster-id`')
    expect(mock).not.toHaveReceivedCommand(DescribeClusterCommand)
  })

  it('refuses a match that terminated between the list and the describe', async () => {
    mock.on(ListClustersCommand).resolves({ Clusters: [cluster('j-A', 'streaming')] })
    mock.on(DescribeClusterCommand).resolves({
      Cluster: { Id: 'j-A', Name: 'streaming', Status: { State: 'TERMINATING' } },
    })
    await expect(emr.resolveCluster({ kind: 'name', name: 'streaming' })).rejects.toThrow(
      /j-A is TERMINATING/,
    )
  })
})

describe('listActiveSteps', () => {
  it('asks for active steps on every page and maps them in EMR order', async () => {
    mock
      .on(ListStepsCommand, { Marker: undefined })
      .resolves({ Steps: [stepSummary('s-3', 'PENDING')], Marker: 'm1' })
      .on(ListStepsCommand, { Marker: 'm1' })
      .resolves({
        Steps: [
          stepSummary('s-2', 'CANCEL_PENDING'),
          stepSummary('s-1', 'RUNNING', {
            ActionOnFailure: 'TERMINATE_JOB_FLOW',
            Status: {
              State: 'RUNNING',
              Timeline: { CreationDateTime: created, StartDateTime: started },
            },
          }),
        ],
      })
    const steps = await emr.listActiveSteps('j-1')
    expect(steps.map((s) => [s.id, s.state])).toEqual([
      ['s-3', 'PENDING'],
      ['s-2', 'CANCEL_PENDING'],
      ['s-1', 'RUNNING'],
    ])
    expect(steps[2]).toEqual({
      id: 's-1',
      name: 'app s-1',
      jar: 'command-runner.jar',
      args: ['spark-submit', '--class', 'Main', 's3://b/a.jar'],
      actionOnFailure: 'TERMINATE_CLUSTER',
      state: 'RUNNING',
      createdAt: created,
      startedAt: started,
    })
    expect(inputOf(ListStepsCommand, 0)).toEqual({
      ClusterId: 'j-1',
      StepStates: ['PENDING', 'CANCEL_PENDING', 'RUNNING'],
    })
    expect(inputOf(ListStepsCommand, 1)).toEqual({
      ClusterId: 'j-1',
      StepStates: ['PENDING', 'CANCEL_PENDING', 'RUNNING'],
      Marker: 'm1',
    })
    expect(emr.calls.get('ListSteps')).toBe(2)
  })

  it('returns an empty list for a cluster with no active steps', async () => {
    mock.on(ListStepsCommand).resolves({ Steps: [] })
    expect(await emr.listActiveSteps('j-1')).toEqual([])
  })
})

describe('listStepsById', () => {
  it('asks ListSteps for exactly those steps (ListSteps quota, not DescribeStep) and maps them', async () => {
    mock.on(ListStepsCommand).resolves({ Steps: [stepSummary('s-1', 'COMPLETED')] })
    const steps = await emr.listStepsById('j-1', ['s-1'])
    expect(steps.map((s) => [s.id, s.state])).toEqual([['s-1', 'COMPLETED']])
    expect(inputOf(ListStepsCommand, 0)).toEqual({ ClusterId: 'j-1', StepIds: ['s-1'] })
    expect(emr.calls.get('ListSteps')).toBe(1)
    expect(emr.calls.get('DescribeStep')).toBeUndefined()
  })
})

describe('describeStep', () => {
  it('maps a failed step with its timeline and failure details', async () => {
    mock.on(DescribeStepCommand).resolves({
      Step: {
        Id: 's-9',
        Name: 'app',
        ActionOnFailure: 'CONTINUE',
        Config: { Jar: 'command-runner.jar', Args: ['spark-submit'] },
        Status: {
          State: 'FAILED',
          Timeline: { CreationDateTime: created, StartDateTime: started, EndDateTime: ended },
          FailureDetails: {
            Reason: 'Unknown Error.',
            Message: 'Exit code 1',
            LogFile: 's3://logs/j-1/steps/s-9/stderr.gz',
          },
        },
      },
    })
    const step = await emr.describeStep('j-1', 's-9')
    expect(inputOf(DescribeStepCommand)).toEqual({ ClusterId: 'j-1', StepId: 's-9' })
    expect(step).toEqual({
      id: 's-9',
      name: 'app',
      jar: 'command-runner.jar',
      args: ['spark-submit'],
      actionOnFailure: 'CONTINUE',
      state: 'FAILED',
      createdAt: created,
      startedAt: started,
      endedAt: ended,
      failure: {
        reason: 'Unknown Error.',
        message: 'Exit code 1',
        logFile: 's3://logs/j-1/steps/s-9/stderr.gz',
      },
    })
  })

  it.each([
    'PENDING',
    'CANCEL_PENDING',
    'RUNNING',
    'COMPLETED',
    'CANCELLED',
    'FAILED',
    'INTERRUPTED',
  ])('keeps the state %s', async (state) => {
    mock.on(DescribeStepCommand).resolves({ Step: stepSummary('s-1', state) })
    expect((await emr.describeStep('j-1', 's-1')).state).toBe(state)
  })

  it('rejects a state it does not know rather than guess', async () => {
    mock.on(DescribeStepCommand).resolves({ Step: stepSummary('s-1', 'EXPLODED') })
    await expect(emr.describeStep('j-1', 's-1')).rejects.toThrow(/unknown state: EXPLODED/)
  })
})

describe('addStep', () => {
  const spec: StepSpec = {
    name: 'rollover app d-1',
    jar: 'command-runner.jar',
    args: ['spark-submit', '--deploy-mode', 'cluster', 's3://b/app.jar'],
    actionOnFailure: 'CONTINUE',
  }
  const expectedStep = {
    Name: 'rollover app d-1',
    ActionOnFailure: 'CONTINUE' as const,
    HadoopJarStep: {
      Jar: 'command-runner.jar',
      Args: ['spark-submit', '--deploy-mode', 'cluster', 's3://b/app.jar'],
    },
  }

  it('submits one step without an execution role', async () => {
    mock.on(AddJobFlowStepsCommand).resolves({ StepIds: ['s-NEW'] })
    expect(await emr.addStep('j-1', spec)).toBe('s-NEW')
    expect(mock).toHaveReceivedCommandExactlyOnceWith(AddJobFlowStepsCommand, {
      JobFlowId: 'j-1',
      Steps: [expectedStep],
    })
    expect(inputOf(AddJobFlowStepsCommand)).toEqual({ JobFlowId: 'j-1', Steps: [expectedStep] })
  })

  it('passes the execution role when given', async () => {
    mock.on(AddJobFlowStepsCommand).resolves({ StepIds: ['s-NEW'] })
    await emr.addStep('j-1', spec, 'arn:aws:iam::123456789012:role/step')
    expect(inputOf(AddJobFlowStepsCommand)).toEqual({
      JobFlowId: 'j-1',
      Steps: [expectedStep],
      ExecutionRoleArn: 'arn:aws:iam::123456789012:role/step',
    })
  })

  it('fails when EMR returns no step id', async () => {
    mock.on(AddJobFlowStepsCommand).resolves({})
    await expect(emr.addStep('j-1', spec)).rejects.toThrow(/no step id/)
  })

  it('names iam:PassRole when that is what was denied', async () => {
    mock
      .on(AddJobFlowStepsCommand)
      .rejects(
        serviceError(
          'AccessDeniedException',
          'User: arn:aws:sts::1:assumed-role/ci/x is not authorized to perform: iam:PassRole on resource: arn:aws:iam::1:role/step',
        ),
      )
    const error = await emr.addStep('j-1', spec, 'arn:aws:iam::1:role/step').catch((e) => e)
    expect(error).toBeInstanceOf(UserError)
    expect((error as Error).message).toContain('may not call iam:PassRole on cluster j-1')
  })
})

describe('cancelStep', () => {
  it('sends SEND_INTERRUPT for the one step', async () => {
    mock.on(CancelStepsCommand).resolves({
      CancelStepsInfoList: [{ StepId: 's-1', Status: 'SUBMITTED' }],
    })
    await emr.cancelStep('j-1', 's-1')
    expect(inputOf(CancelStepsCommand)).toEqual({
      ClusterId: 'j-1',
      StepIds: ['s-1'],
      StepCancellationOption: 'SEND_INTERRUPT',
    })
    expect(emr.calls.get('CancelSteps')).toBe(1)
  })

  it('throws with the reason when EMR answers FAILED', async () => {
    mock.on(CancelStepsCommand).resolves({
      CancelStepsInfoList: [
        { StepId: 's-1', Status: 'FAILED', Reason: 'Step is in COMPLETED state.' },
      ],
    })
    const error = await emr.cancelStep('j-1', 's-1').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CancelStepFailed)
    expect(error).toMatchObject({ stepId: 's-1', reason: 'Step is in COMPLETED state.' })
    expect((error as Error).message).toContain('Step is in COMPLETED state.')
  })
})

describe('errors', () => {
  it.each([
    ['ListSteps', (e: AwsEmr) => e.listActiveSteps('j-1')],
    ['DescribeStep', (e: AwsEmr) => e.describeStep('j-1', 's-1')],
    ['CancelSteps', (e: AwsEmr) => e.cancelStep('j-1', 's-1')],
    ['DescribeCluster', (e: AwsEmr) => e.resolveCluster({ kind: 'id', id: 'j-1' })],
  ] as const)('maps AccessDenied on %s to a UserError naming the IAM action', async (op, run) => {
    mock.rejects(serviceError('AccessDeniedException', 'User: x is not authorized', 403))
    const error = await run(emr).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UserError)
    expect((error as Error).message).toContain(`elasticmapreduce:${op}`)
    expect((error as Error).message).toContain('j-1')
    expect((error as Error).cause).toBeInstanceOf(EMRServiceException)
    expect(emr.calls.get(op)).toBe(1)
  })

  it('names the cluster-name input when ListClusters is denied', async () => {
    mock.on(ListClustersCommand).rejects(serviceError('AccessDeniedException', 'denied', 403))
    await expect(emr.resolveCluster({ kind: 'name', name: 'streaming' })).rejects.toThrow(
      /elasticmapreduce:ListClusters on cluster-name 'streaming'/,
    )
  })

  it('lets ThrottlingException through by name, so poll treats it as transient', async () => {
    mock.on(DescribeStepCommand).rejects(
      Object.assign(serviceError('ThrottlingException', 'Rate exceeded'), {
        $metadata: { httpStatusCode: 400, attempts: 6 },
      }),
    )
    const error = await emr.describeStep('j-1', 's-1').catch((e: unknown) => e)
    expect(error).not.toBeInstanceOf(UserError)
    expect((error as Error).name).toBe('ThrottlingException')
    expect(isTransient(error)).toBe(true)
    // All six attempts the SDK made count against EMR's rate limit.
    expect(emr.calls.get('DescribeStep')).toBe(6)
  })

  it('lets server errors through for poll to retry', async () => {
    mock.on(ListStepsCommand).rejects(serviceError('InternalServerError', 'oops', 500))
    const error = await emr.listActiveSteps('j-1').catch((e: unknown) => e)
    expect(isTransient(error)).toBe(true)
  })
})
