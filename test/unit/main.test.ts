// Drives run() from src/main.ts exactly as the runner does: inputs as INPUT_<NAME> environment
// variables (with action.yml's defaults filled in, as the runner fills them), outputs and the job
// summary through the GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, workflow commands on stdout, and
// AWS behind aws-sdk-client-mock (which mocks every client instance main.ts creates).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { appIdentity } from '../../src/contract/identity.ts'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import {
  AddJobFlowStepsCommand,
  CancelStepsCommand,
  DescribeClusterCommand,
  DescribeStepCommand,
  EMRClient,
  ListClustersCommand,
  ListStepsCommand,
  ModifyClusterCommand,
  type StepSummary,
} from '@aws-sdk/client-emr'
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NotFound,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3'
import { mockClient } from 'aws-sdk-client-mock'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { run } from '../../src/main.ts'
import { buildSparkStep } from '../../src/contract/step.ts'

const s3 = mockClient(S3Client)
const emr = mockClient(EMRClient)

const ACTION_YML = readFileSync(new URL('../../action.yml', import.meta.url), 'utf8')
const TOKEN = 'ghs_T0k3nFromTheRunner0123456789abcdef'

/** Input defaults from action.yml, as the runner fills them in (github.token evaluated). */
function actionDefaults(): Record<string, string> {
  const block = /^inputs:\n([\s\S]*?)^\S/m.exec(ACTION_YML)?.[1] ?? ''
  const defaults: Record<string, string> = {}
  let current: string | undefined
  for (const line of block.split('\n')) {
    const name = /^ {2}([a-z][a-z-]*):\s*$/.exec(line)
    if (name) current = name[1]
    const value = /^ {4}default:\s*(.*)$/.exec(line)
    if (value && current) {
      const raw = (value[1] ?? '').trim().replace(/^'(.*)'$/, '$1')
      defaults[current] = raw === '${{ github.token }}' ? TOKEN : raw
    }
  }
  return defaults
}

const DEFAULTS = actionDefaults()

const CLUSTER_ID = 'j-2AXXXXXXGAPLF'
const JAR = 's3://acme-artifacts/releases/clickstream-1.4.2.jar'
const VALID: Readonly<Record<string, string>> = {
  'app-name': 'clickstream',
  'cluster-id': CLUSTER_ID,
  jar: JAR,
  'main-class': 'com.acme.clickstream.Main',
  'marker-prefix': 's3://acme-rollover/streaming',
}

let tmp: string
let outputFile: string
let summaryFile: string
let stateFile: string
let savedEnv: NodeJS.ProcessEnv
let stdout: string[]

beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'rollover-main-'))
  // core.summary caches the summary path on first use, so one file serves every test.
  outputFile = path.join(tmp, 'github-output')
  summaryFile = path.join(tmp, 'step-summary.md')
  stateFile = path.join(tmp, 'github-state')
})

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true })
})

beforeEach(() => {
  savedEnv = { ...process.env }
  for (const name of Object.keys(process.env)) {
    if (/^(INPUT_|AWS_|GITHUB_|RUNNER_)/.test(name)) delete process.env[name]
  }
  for (const file of [outputFile, summaryFile, stateFile]) writeFileSync(file, '')
  process.env.GITHUB_OUTPUT = outputFile
  process.env.GITHUB_STEP_SUMMARY = summaryFile
  process.env.GITHUB_STATE = stateFile
  process.env.GITHUB_REPOSITORY = 'acme/clickstream'
  process.env.GITHUB_RUN_ID = '4242'
  process.env.GITHUB_RUN_ATTEMPT = '1'
  process.env.GITHUB_SERVER_URL = 'https://github.com'
  s3.reset()
  emr.reset()
  // As S3 answers for a key that is not there; tests mock the objects they put there.
  s3.on(GetObjectCommand).rejects(
    Object.assign(new Error('NoSuchKey'), {
      name: 'NoSuchKey',
      $metadata: { httpStatusCode: 404 },
    }),
  )
  stdout = []
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
    return true
  })
})

afterEach(() => {
  vi.restoreAllMocks()
  for (const name of Object.keys(process.env)) {
    if (!(name in savedEnv)) delete process.env[name]
  }
  Object.assign(process.env, savedEnv)
  process.exitCode = undefined
})

/** Sets every input the way the runner does: action.yml defaults, then the workflow's `with:`. */
function setInputs(inputs: Record<string, string>): void {
  for (const [name, value] of Object.entries({ ...DEFAULTS, ...inputs })) {
    process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
  }
}

/** The workflow command messages on stdout, decoded (core escapes %, CR and LF). */
function commands(kind: 'error' | 'warning'): string[] {
  const prefix = `::${kind}::`
  return stdout
    .join('')
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) =>
      line.slice(prefix.length).replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%'),
    )
}

function outputs(): Record<string, string> {
  const text = readFileSync(outputFile, 'utf8')
  const result: Record<string, string> = {}
  for (const match of text.matchAll(/^([^\n<]+)<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n\2$/gm)) {
    result[match[1] as string] = match[3] as string
  }
  return result
}

function summary(): string {
  return readFileSync(summaryFile, 'utf8')
}

function expectNoMutations(): void {
  expect(s3).not.toHaveReceivedCommand(PutObjectCommand)
  expect(s3).not.toHaveReceivedCommand(DeleteObjectCommand)
  expect(s3).not.toHaveReceivedCommand(CreateMultipartUploadCommand)
  expect(s3).not.toHaveReceivedCommand(UploadPartCommand)
  expect(s3).not.toHaveReceivedCommand(CompleteMultipartUploadCommand)
  expect(emr).not.toHaveReceivedCommand(AddJobFlowStepsCommand)
  expect(emr).not.toHaveReceivedCommand(CancelStepsCommand)
  expect(emr).not.toHaveReceivedCommand(ModifyClusterCommand)
}

function body(text: string): GetObjectCommandOutput['Body'] {
  return { transformToString: async () => text } as unknown as GetObjectCommandOutput['Body']
}

function notFound(): NotFound {
  return new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } })
}

function mockCluster(state = 'WAITING', stepConcurrencyLevel = 1): void {
  emr.on(DescribeClusterCommand).resolves({
    Cluster: {
      Id: CLUSTER_ID,
      Name: 'analytics-prod',
      Status: { State: state as 'WAITING' },
      StepConcurrencyLevel: stepConcurrencyLevel,
      ReleaseLabel: 'emr-7.5.0',
    },
  })
}

function mockNothingRunning(): void {
  s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: false })
  emr.on(ListStepsCommand).resolves({ Steps: [] })
}

interface BadInput {
  /** The input named in the message. */
  readonly input: string
  readonly value: string
  /** What the message must quote; the value itself when not given. */
  readonly mentions?: readonly string[]
  readonly also?: Readonly<Record<string, string>>
  readonly env?: Readonly<Record<string, string>>
}

const BAD_INPUTS: readonly BadInput[] = [
  { input: 'app-name', value: 'click stream' },
  { input: 'app-name', value: '.hidden' },
  { input: 'app-name', value: 'a'.repeat(65) },
  { input: 'app-name', value: 'app%20name' },
  { input: 'app-name', value: '', mentions: ["''", 'required'] },
  { input: 'cluster-id', value: 'j-abc' },
  { input: 'cluster-id', value: 'cluster-1' },
  {
    input: 'cluster-id',
    value: CLUSTER_ID,
    also: { 'cluster-name': 'analytics-prod' },
    mentions: [CLUSTER_ID, "'cluster-name'", 'analytics-prod'],
  },
  { input: 'jar', value: 'ftp://ci.acme.example/clickstream.jar' },
  { input: 'jar', value: 's3://acme-artifacts/releases/' },
  { input: 'jar', value: 's3://Acme_Artifacts/clickstream.jar' },
  { input: 'jar', value: 'build/libs/' },
  { input: 'jar', value: '~/clickstream.jar' },
  { input: 'jar', value: 'build/libs/*.jar' },
  { input: 'main-class', value: 'com.acme.Click-Stream' },
  { input: 'main-class', value: '1com.acme.Main' },
  { input: 'marker-prefix', value: 'acme-rollover/streaming' },
  { input: 'marker-prefix', value: 's3://acme-rollover/a//b' },
  { input: 'marker-prefix', value: 's3://acme-rollover/streaming?versionId=1' },
  { input: 'artifact-prefix', value: 's3://acme-rollover/streaming/clickstream/markers/jars' },
  { input: 'stop-timeout', value: '15' },
  { input: 'stop-timeout', value: '-5m' },
  { input: 'start-timeout', value: '7h' },
  { input: 'stable-for', value: 'two minutes' },
  { input: 'lock-timeout', value: '500ms' },
  { input: 'on-stop-timeout', value: 'force' },
  { input: 'strategy', value: 'rolling' },
  { input: 'verify-by', value: 'vibes' },
  { input: 'ready-batches', value: '-1' },
  { input: 'heartbeat-timeout', value: '1' },
  { input: 'rollback', value: 'maybe' },
  { input: 'dry-run', value: 'on' },
  { input: 'execution-role-arn', value: 'emr-step-runner' },
  { input: 'expected-bucket-owner', value: '12345' },
  { input: 'sse-kms-key-id', value: 'my-key' },
  { input: 'aws-region', value: 'Europe' },
  { input: 'aws-region', value: '', env: { AWS_REGION: 'eu_west_1' }, mentions: ['eu_west_1'] },
  { input: 'environment', value: 'production', also: { 'github-token': '' } },
  { input: 'spark-submit-args', value: '--num-executors 4' },
  {
    input: 'spark-submit-args',
    value: '--deploy-mode\nclient',
    mentions: ['--deploy-mode client'],
  },
  {
    input: 'spark-submit-args',
    value: '--conf\nspark.yarn.submit.waitAppCompletion=false',
    mentions: ['spark.yarn.submit.waitAppCompletion=false'],
  },
  {
    input: 'spark-submit-args',
    value: '--conf=spark.rollover.marker=s3://elsewhere/marker',
    mentions: ['spark.rollover.marker'],
  },
  { input: 'spark-submit-args', value: '--class\ncom.acme.Other', mentions: ['--class'] },
  { input: 'spark-submit-args', value: '--master\nlocal[4]', mentions: ['--master local[4]'] },
  { input: 'spark-submit-args', value: '--supervise', mentions: ['--supervise'] },
  { input: 'spark-submit-args', value: 'target/clickstream.jar' },
  { input: 'spark-submit-args', value: '--num-executors', mentions: ["'--num-executors'"] },
]

describe('run: bad inputs fail before any AWS call', () => {
  it('has a table of at least 25 bad inputs', () => {
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(25)
  })

  it.each(BAD_INPUTS)('$input = $value', async ({ input, value, mentions, also, env }) => {
    setInputs({ ...VALID, [input]: value, ...also })
    for (const [name, v] of Object.entries(env ?? {})) process.env[name] = v

    await run(process.env)

    expect(process.exitCode).toBe(1)
    const errors = commands('error')
    expect(errors).toHaveLength(1)
    const message = errors[0] as string
    expect(message).toContain(`'${input}'`)
    for (const text of mentions ?? [`'${value}'`]) expect(message).toContain(text)
    // Exactly one problem: the valid inputs around it were accepted.
    expect(message).not.toMatch(/problems with the inputs/)
    expectNoMutations()
    expect(s3.calls()).toHaveLength(0)
    expect(emr.calls()).toHaveLength(0)
    expect(readFileSync(outputFile, 'utf8')).toBe('')
  })

  it('names every bad input in one error, so one push fixes them all', async () => {
    setInputs({
      ...VALID,
      'app-name': 'click stream',
      'stop-timeout': '15',
      rollback: 'maybe',
    })
    await run(process.env)
    expect(process.exitCode).toBe(1)
    const [message] = commands('error')
    expect(message).toMatch(/^3 problems with the inputs:\n- /)
    expect(message).toContain("Input 'app-name': 'click stream'")
    expect(message).toContain("Input 'stop-timeout': '15'")
    expect(message).toContain("Input 'rollback': 'maybe'")
    expect(s3.calls()).toHaveLength(0)
    expect(emr.calls()).toHaveLength(0)
  })

  it('never prints the github token, even when it was pasted into another input', async () => {
    setInputs({ ...VALID, 'expected-bucket-owner': TOKEN })
    await run(process.env)
    expect(process.exitCode).toBe(1)
    const [message] = commands('error')
    expect(message).toContain("Input 'expected-bucket-owner': '***'")
    expect(stdout.join('')).not.toContain(TOKEN)
    expect(s3.calls()).toHaveLength(0)
    expect(emr.calls()).toHaveLength(0)
  })
})

describe('run: preflight rejections change nothing', () => {
  function expectFailedBeforeChanges(): string {
    expect(process.exitCode).toBe(1)
    const errors = commands('error')
    expect(errors).toHaveLength(1)
    expectNoMutations()
    const out = outputs()
    expect(out.result).toBe('')
    expect(out['deployment-id']).toMatch(/^[0-9]{8}t[0-9]{6}z-[0-9a-f]{6}$/)
    expect(out['step-id']).toBe('')
    expect(summary()).toContain('## ❌ Rollover failed: `clickstream`')
    return errors[0] as string
  }

  it('cluster-name that matches no active cluster', async () => {
    setInputs({ ...VALID, 'cluster-id': '', 'cluster-name': 'analytics-prod' })
    emr.on(ListClustersCommand).resolves({
      Clusters: [
        { Id: 'j-1STAGING0000', Name: 'analytics-staging', Status: { State: 'WAITING' } },
        { Id: 'j-2ADHOC000000', Name: 'analytics-prod-old', Status: { State: 'RUNNING' } },
      ],
    })

    await run(process.env)

    const message = expectFailedBeforeChanges()
    expect(message).toContain("cluster-name 'analytics-prod': no active cluster")
    expect(message).toContain("'analytics-staging' (j-1STAGING0000)")
    expect(emr).toHaveReceivedCommandWith(ListClustersCommand, {
      ClusterStates: ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING'],
    })
    expect(emr).not.toHaveReceivedCommand(DescribeClusterCommand)
    expect(s3.calls()).toHaveLength(0)
    expect(outputs()['cluster-id']).toBe('')
    expect(summary()).toContain('| Cluster | not resolved |')
  })

  it('a terminated cluster', async () => {
    setInputs(VALID)
    mockCluster('TERMINATED')

    await run(process.env)

    const message = expectFailedBeforeChanges()
    expect(message).toContain(`cluster-id '${CLUSTER_ID}': cluster ${CLUSTER_ID} is TERMINATED`)
    expect(s3.calls()).toHaveLength(0)
  })

  it('an s3 jar that does not exist (HeadObject 404)', async () => {
    setInputs(VALID)
    mockCluster()
    s3.on(HeadObjectCommand).rejects(notFound())

    await run(process.env)

    const message = expectFailedBeforeChanges()
    expect(message).toContain(`Input 'jar': ${JAR} does not exist`)
    expect(s3).toHaveReceivedCommandWith(HeadObjectCommand, {
      Bucket: 'acme-artifacts',
      Key: 'releases/clickstream-1.4.2.jar',
    })
    expect(outputs()['cluster-id']).toBe(CLUSTER_ID)
  })

  it('a local jar path that does not exist', async () => {
    const workspace = path.join(tmp, 'workspace-missing')
    mkdirSync(workspace, { recursive: true })
    process.env.GITHUB_WORKSPACE = workspace
    setInputs({ ...VALID, jar: 'build/libs/clickstream.jar' })
    mockCluster()

    await run(process.env)

    const message = expectFailedBeforeChanges()
    expect(message).toContain(
      `Input 'jar': local file '${path.join(workspace, 'build/libs/clickstream.jar')}' does not exist`,
    )
    expect(s3.calls()).toHaveLength(0)
  })

  it('a local file that is not a zip', async () => {
    const workspace = path.join(tmp, 'workspace-notzip')
    mkdirSync(path.join(workspace, 'build'), { recursive: true })
    const file = path.join(workspace, 'build', 'clickstream.jar')
    writeFileSync(file, '<html>404 Not Found</html>')
    process.env.GITHUB_WORKSPACE = workspace
    setInputs({ ...VALID, jar: 'build/clickstream.jar' })
    mockCluster()

    await run(process.env)

    const message = expectFailedBeforeChanges()
    expect(message).toContain(`Input 'jar': '${file}' is not a jar (no zip header)`)
    expect(s3.calls()).toHaveLength(0)
  })
})

describe('run: dry run', () => {
  const OLD_ID = '20240101t000000z-abcdef'
  const OLD_MARKER_KEY = `streaming/clickstream/markers/${OLD_ID}`
  const OLD_MARKER_URI = `s3://acme-rollover/${OLD_MARKER_KEY}`

  function oldStep(): StepSummary {
    const spec = buildSparkStep({
      app: appIdentity({ bucket: 'acme-rollover', key: 'streaming' }, 'clickstream'),
      deploymentId: OLD_ID,
      mainClass: 'com.acme.clickstream.Main',
      sparkSubmitArgs: [],
      appArgs: [],
      jarUri: 's3://acme-artifacts/releases/clickstream-1.4.1.jar',
      markerUri: OLD_MARKER_URI,
    })
    return {
      Id: 's-OLDSTEP0001',
      Name: spec.name,
      ActionOnFailure: 'CONTINUE',
      Config: { Jar: spec.jar, Args: [...spec.args] },
      Status: { State: 'RUNNING' },
    }
  }

  it('prints the plan and the exact step, and changes nothing', async () => {
    setInputs({
      ...VALID,
      'dry-run': 'true',
      'spark-submit-args': [
        '# sized for prod',
        '--conf',
        'spark.executor.memory=4g',
        '--conf',
        'spark.driver.extraJavaOptions=-Dconfig.file=prod.conf -Xss4m',
        '--num-executors',
        '12',
      ].join('\n'),
      'app-args': '--topic\nclick events\n--since\n2024-01-01',
      'aws-region': 'eu-west-1',
    })
    // Two apps run: the cluster runs two steps at a time.
    mockCluster('WAITING', 2)
    s3.on(HeadObjectCommand).resolves({ ETag: '"jar"', ContentLength: 123_456 })
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: OLD_MARKER_KEY, ETag: '"m1"', Size: 100 }],
      IsTruncated: false,
    })
    const markerBody = JSON.stringify({
      version: 1,
      app: 'clickstream',
      deploymentId: OLD_ID,
      clusterId: CLUSTER_ID,
      jar: 's3://acme-artifacts/releases/clickstream-1.4.1.jar',
      createdAt: '2024-01-01T00:00:00.000Z',
      stepId: 's-OLDSTEP0001',
    })
    s3.on(GetObjectCommand, { Key: OLD_MARKER_KEY }).resolves({
      Body: body(markerBody),
      ETag: '"m1"',
      ContentLength: markerBody.length,
    })
    const otherApp: StepSummary = {
      Id: 's-OTHERAPP001',
      Name: 'rollover:sessions:20240101t000000z-123456',
      ActionOnFailure: 'CONTINUE',
      Config: { Jar: 'command-runner.jar', Args: ['spark-submit', 's3://b/sessions.jar'] },
      Status: { State: 'RUNNING' },
    }
    emr.on(ListStepsCommand).resolves({ Steps: [otherApp, oldStep()] })

    await run(process.env)

    expect(commands('error')).toEqual([])
    expect(process.exitCode).not.toBe(1)
    expectNoMutations()
    expect(emr).toHaveReceivedCommandTimes(DescribeClusterCommand, 1)
    expect(emr).toHaveReceivedCommandWith(ListStepsCommand, {
      ClusterId: CLUSTER_ID,
      StepStates: ['PENDING', 'CANCEL_PENDING', 'RUNNING'],
    })

    const out = outputs()
    const deploymentId = out['deployment-id'] as string
    expect(deploymentId).toMatch(/^[0-9]{8}t[0-9]{6}z-[0-9a-f]{6}$/)
    const markerUri = `s3://acme-rollover/streaming/clickstream/markers/${deploymentId}`
    expect(out).toEqual({
      result: 'planned',
      'deployment-id': deploymentId,
      'cluster-id': CLUSTER_ID,
      'step-id': '',
      'previous-step-id': '',
      'previous-step-state': '',
      'marker-uri': markerUri,
      'jar-uri': JAR,
      'stop-seconds': '',
      'downtime-seconds': '',
      handoff: '',
      'verified-by': '',
    })

    const text = summary()
    expect(text).toContain('## 📝 Dry run: plan: `clickstream`')
    expect(text).toContain(`Would stop: step s-OLDSTEP0001 (RUNNING), marker ${OLD_MARKER_URI}`)
    expect(text).not.toContain('s-OTHERAPP001')
    expect(text).toContain(`Would write the marker \`${markerUri}\` and submit:`)
    expect(text).toContain('region=eu-west-1#/clusterDetails/j-2AXXXXXXGAPLF')
    const json = /```json\n([\s\S]*?)\n```/.exec(text)?.[1]
    expect(JSON.parse(json as string)).toEqual({
      name: `rollover:clickstream:4f16da1acc:${deploymentId}`,
      jar: 'command-runner.jar',
      actionOnFailure: 'CONTINUE',
      args: [
        'spark-submit',
        '--deploy-mode',
        'cluster',
        '--master',
        'yarn',
        '--class',
        'com.acme.clickstream.Main',
        '--conf',
        'spark.executor.memory=4g',
        '--conf',
        'spark.driver.extraJavaOptions=-Dconfig.file=prod.conf -Xss4m',
        '--num-executors',
        '12',
        '--conf',
        'spark.yarn.submit.waitAppCompletion=true',
        '--conf',
        `spark.rollover.marker=${markerUri}`,
        '--conf',
        `spark.yarn.appMasterEnv.ROLLOVER_MARKER=${markerUri}`,
        '--conf',
        `spark.yarn.tags=rollover-4f16da1acc,rollover-4f16da1acc-${deploymentId}`,
        JAR,
        '--topic',
        'click events',
        '--since',
        '2024-01-01',
      ],
    })
    // Dry run takes no lock, so there is no lock state for the post step.
    expect(readFileSync(stateFile, 'utf8')).toBe('')
  })
})

describe('run: first deploy through mocked AWS', () => {
  it('writes the marker before submitting, verifies, records and releases the lock', async () => {
    setInputs({ ...VALID, 'stable-for': '0s', 'start-timeout': '30s' })
    mockCluster()
    mockNothingRunning()
    s3.on(HeadObjectCommand).resolves({ ETag: '"jar"', ContentLength: 10 })
    s3.on(PutObjectCommand).callsFake((input: { Key: string }) => ({ ETag: `"${input.Key}"` }))
    const lockKey = 'streaming/clickstream/lock'
    s3.on(GetObjectCommand).rejects(
      Object.assign(new Error('NoSuchKey'), {
        name: 'NoSuchKey',
        $metadata: { httpStatusCode: 404 },
      }),
    )
    s3.on(GetObjectCommand, { Key: lockKey }).resolves({
      Body: body('{}'),
      ETag: `"${lockKey}"`,
      ContentLength: 2,
    })
    s3.on(DeleteObjectCommand).resolves({})
    emr.on(AddJobFlowStepsCommand).resolves({ StepIds: ['s-NEWSTEP0001'] })
    emr.on(DescribeStepCommand).resolves({
      Step: {
        Id: 's-NEWSTEP0001',
        Name: 'rollover:clickstream:x',
        ActionOnFailure: 'CONTINUE',
        Config: { Jar: 'command-runner.jar', Args: [] },
        Status: { State: 'RUNNING' },
      },
    })

    await run(process.env)

    expect(commands('error')).toEqual([])
    expect(process.exitCode).not.toBe(1)
    const out = outputs()
    const id = out['deployment-id'] as string
    const markerKey = `streaming/clickstream/markers/${id}`
    expect(out).toMatchObject({
      result: 'first-deploy',
      'cluster-id': CLUSTER_ID,
      'step-id': 's-NEWSTEP0001',
      'previous-step-id': '',
      'marker-uri': `s3://acme-rollover/${markerKey}`,
      'jar-uri': JAR,
    })

    // The lock is created create-only, the marker too, and before the step is submitted.
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Key: lockKey, IfNoneMatch: '*' })
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Key: markerKey, IfNoneMatch: '*' })
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Key: markerKey,
      IfMatch: `"${markerKey}"`,
    })
    const markerPut = s3
      .commandCalls(PutObjectCommand)
      .find((c) => c.args[0].input.Key === markerKey && c.args[0].input.IfNoneMatch === '*')
    const submit = emr.commandCalls(AddJobFlowStepsCommand)[0]
    expect(markerPut).toBeDefined()
    expect(submit).toBeDefined()
    if (!markerPut || !submit) return
    expect(markerPut.calledBefore(submit)).toBe(true)
    expect(emr).toHaveReceivedCommandTimes(AddJobFlowStepsCommand, 1)
    const args = submit.args[0].input.Steps?.[0]?.HadoopJarStep?.Args ?? []
    expect(args).toContain(`spark.rollover.marker=s3://acme-rollover/${markerKey}`)
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Key: 'streaming/clickstream/current.json',
    })
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Key: `streaming/clickstream/deployments/${id}.json`,
    })
    expect(s3).toHaveReceivedCommandWith(DeleteObjectCommand, {
      Key: lockKey,
      IfMatch: `"${lockKey}"`,
    })
    expect(emr).not.toHaveReceivedCommand(CancelStepsCommand)
    expect(summary()).toContain('## ✅ First deploy: `clickstream`')
    expect(commands('warning')).toEqual([])
  })
})
