// The EMR emulator against the real @aws-sdk/client-emr: proves the wire shapes, and that the
// emulator keeps EMR's rules the rollover depends on (cancel leaves the driver alive, FIFO queue
// under StepConcurrencyLevel, kill by tag) before any e2e test trusts it.
import { appendFile } from 'node:fs/promises'
import { appIdentity, appTag } from '../../src/contract/identity.ts'
import {
  AddJobFlowStepsCommand,
  CancelStepsCommand,
  DescribeClusterCommand,
  DescribeStepCommand,
  EMRClient,
  ListClustersCommand,
  ListStepsCommand,
  ModifyClusterCommand,
  type Step,
} from '@aws-sdk/client-emr'
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildKillStep } from '../../src/contract/kill-step.ts'
import { buildSparkStep } from '../../src/contract/step.ts'
import type { StepSpec } from '../../src/aws/emr-port.ts'
import { MOTO_MISSING, motoAvailable } from '../support/moto.ts'
import { outputKey, parseS3Uri, recordValue, type ActivityEvent } from '../emulator/contract.ts'
import { startStack, type Stack } from '../emulator/stack.ts'

const skip = !motoAvailable() && process.env.CI !== 'true'
if (skip) console.warn(`emulator suite skipped: ${MOTO_MISSING}`)

describe.skipIf(skip)(`EMR emulator${skip ? ` [skipped: ${MOTO_MISSING}]` : ''}`, () => {
  let stack: Stack
  let emr: EMRClient
  let seq = 0

  beforeAll(async () => {
    stack = await startStack({ timings: { killGraceMs: 1000 } })
    emr = client(3)
  })
  afterAll(async () => {
    emr?.destroy()
    await stack?.stop()
  })
  afterEach(async () => {
    await stack.reset()
  })

  const client = (maxAttempts: number) =>
    new EMRClient({
      endpoint: stack.emrEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts,
    })

  /** A fresh cluster and stream per test: steps cannot be deleted, and queues must not mix. */
  async function fresh(name: string, concurrency = 1) {
    seq += 1
    const cluster = stack.emr.state.addCluster({
      name: `t-${name}`,
      stepConcurrencyLevel: concurrency,
    })
    const state = await stack.newStream(`${name}-${seq}`)
    return { clusterId: cluster.id, state }
  }

  async function addStep(clusterId: string, spec: StepSpec): Promise<string> {
    const out = await emr.send(
      new AddJobFlowStepsCommand({
        JobFlowId: clusterId,
        Steps: [
          {
            Name: spec.name,
            ActionOnFailure: spec.actionOnFailure,
            HadoopJarStep: { Jar: spec.jar, Args: [...spec.args] },
          },
        ],
        ExecutionRoleArn: 'arn:aws:iam::123456789012:role/emr-step',
      }),
    )
    return out.StepIds?.[0] as string
  }

  /** Writes the marker first, as the action does, then submits the step. */
  async function submit(clusterId: string, jarUri: string, state: string) {
    seq += 1
    const deploymentId = `d${seq}`
    const markerKey = `rollover/${stack.appName}/markers/${deploymentId}`
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: markerKey, Body: '{}' }))
    const spec = buildSparkStep({
      app: appIdentity({ bucket: stack.bucket, key: 'rollover' }, stack.appName),
      deploymentId,
      mainClass: stack.mainClass,
      sparkSubmitArgs: ['--conf', 'spark.executor.memory=2g'],
      appArgs: ['--state', state],
      jarUri,
      markerUri: `s3://${stack.bucket}/${markerKey}`,
    })
    return { stepId: await addStep(clusterId, spec), markerKey, deploymentId }
  }

  async function waitForStep(clusterId: string, stepId: string, states: string[], ms = 8000) {
    const deadline = Date.now() + ms
    for (;;) {
      const { Step: step } = await emr.send(
        new DescribeStepCommand({ ClusterId: clusterId, StepId: stepId }),
      )
      if (states.includes(step?.Status?.State ?? '')) return step as Step
      if (Date.now() > deadline) {
        const logs = stack.emr.stepLogs(stepId).slice(-10).join('\n')
        throw new Error(`step ${stepId} is ${step?.Status?.State}, not ${states}\n${logs}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  async function waitForEvents(
    state: string,
    check: (events: ActivityEvent[]) => boolean,
    ms = 8000,
  ): Promise<ActivityEvent[]> {
    const deadline = Date.now() + ms
    for (;;) {
      const events = await stack.readActivity(state)
      if (check(events)) return events
      if (Date.now() > deadline) throw new Error(`activity not reached:\n${JSON.stringify(events)}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  const batchEnds = (events: ActivityEvent[], after = 0) =>
    events.filter((e) => e.event === 'batch-end' && e.t > after).length

  const deleteMarker = (key: string) =>
    stack.s3.send(new DeleteObjectCommand({ Bucket: stack.bucket, Key: key }))

  it('describes and lists clusters in the SDK shapes', async () => {
    const { Cluster } = await emr.send(new DescribeClusterCommand({ ClusterId: stack.clusterId }))
    expect(Cluster).toMatchObject({
      Id: 'j-EMULATOR00001',
      Name: 'streaming-staging',
      StepConcurrencyLevel: 1,
      Status: { State: 'WAITING' },
    })
    expect(Cluster?.Status?.Timeline?.CreationDateTime).toBeInstanceOf(Date)
    const { Clusters } = await emr.send(new ListClustersCommand({ ClusterStates: ['WAITING'] }))
    expect(Clusters?.map((c) => c.Name)).toContain('streaming-staging')
    const none = await emr.send(new ListClustersCommand({ ClusterStates: ['TERMINATED'] }))
    expect(none.Clusters).toEqual([])
    await expect(
      emr.send(new DescribeClusterCommand({ ClusterId: 'j-NOPE' })),
    ).rejects.toMatchObject({ name: 'InvalidRequestException' })
  })

  it('runs a spark-submit step as a live driver that drains when its marker goes', async () => {
    const { clusterId, state } = await fresh('drain')
    const jar = await stack.makeJar('v1', 'ok', { upload: true })
    const { stepId, markerKey } = await submit(clusterId, jar, state)
    const running = await waitForStep(clusterId, stepId, ['RUNNING'])
    expect(running.Config?.Args?.[0]).toBe('spark-submit')
    expect(running.ExecutionRoleArn).toBe('arn:aws:iam::123456789012:role/emr-step')
    expect(running.Status?.Timeline?.StartDateTime).toBeInstanceOf(Date)
    await waitForEvents(state, (events) => batchEnds(events) >= 2)

    await deleteMarker(markerKey)
    const done = await waitForStep(clusterId, stepId, ['COMPLETED', 'FAILED'])
    expect(done.Status?.State).toBe('COMPLETED')
    const ack = await stack.s3.send(
      new GetObjectCommand({ Bucket: stack.bucket, Key: `${markerKey}.stopped` }),
    )
    const stopped = JSON.parse(await (ack.Body?.transformToString() ?? '')) as { offset: number }
    const invariants = await stack.checkInvariants({ state })
    expect(invariants).toMatchObject({ ok: true, lostOffsets: [], liveApps: [] })
    expect(invariants.committedOffset).toBe(stopped.offset)
    expect(invariants.committedOffset).toBeGreaterThanOrEqual(20)
    const app = stack.emr.apps().find((a) => a.stepId === stepId)
    expect(app).toMatchObject({
      alive: false,
      exitCode: 0,
      tags: expect.arrayContaining([
        appTag(appIdentity({ bucket: stack.bucket, key: 'rollover' }, stack.appName)),
      ]),
    })
  })

  it('CancelSteps ends a running step CANCELLED while its application keeps running', async () => {
    const { clusterId, state } = await fresh('cancel')
    const jar = await stack.makeJar('v1', 'ok', { upload: true })
    const { stepId } = await submit(clusterId, jar, state)
    await waitForStep(clusterId, stepId, ['RUNNING'])
    await waitForEvents(state, (events) => batchEnds(events) >= 1)

    const out = await emr.send(new CancelStepsCommand({ ClusterId: clusterId, StepIds: [stepId] }))
    expect(out.CancelStepsInfoList).toEqual([{ StepId: stepId, Status: 'SUBMITTED' }])
    await waitForStep(clusterId, stepId, ['CANCELLED'])
    expect(stack.emr.step(stepId)?.history.map((h) => h.state)).toEqual([
      'PENDING',
      'RUNNING',
      'CANCEL_PENDING',
      'CANCELLED',
    ])
    const cancelledAt = Date.now()
    await waitForEvents(state, (events) => batchEnds(events, cancelledAt) >= 2)
    expect(stack.emr.liveApps().map((a) => a.stepId)).toEqual([stepId])

    // The kill step runs: the cancelled step no longer holds the only slot.
    const killId = await addStep(
      clusterId,
      buildKillStep({
        name: 'rollover-kill:d-kill',
        tags: [appTag(appIdentity({ bucket: stack.bucket, key: 'rollover' }, stack.appName))],
      }),
    )
    const kill = await waitForStep(clusterId, killId, ['COMPLETED', 'FAILED'])
    expect(kill.Status?.State).toBe('COMPLETED')
    expect(stack.emr.apps().find((a) => a.stepId === stepId)).toMatchObject({
      alive: false,
      exitCode: 143,
    })
    expect(stack.emr.step(stepId)?.state).toBe('CANCELLED')
    expect((await stack.checkInvariants({ state })).ok).toBe(true)
  })

  it('kills by tag with SIGKILL when the driver ignores its marker and SIGTERM', async () => {
    const { clusterId, state } = await fresh('kill', 2)
    const jar = await stack.makeJar('v1', 'ignore-marker', { upload: true, ignoreSigterm: true })
    const { stepId, markerKey } = await submit(clusterId, jar, state)
    await waitForStep(clusterId, stepId, ['RUNNING'])
    await deleteMarker(markerKey)
    const deletedAt = Date.now()
    await waitForEvents(state, (events) => batchEnds(events, deletedAt + 300) >= 1)
    expect(stack.emr.step(stepId)?.state).toBe('RUNNING')

    const killId = await addStep(
      clusterId,
      buildKillStep({
        name: 'rollover-kill:d-kill',
        tags: [appTag(appIdentity({ bucket: stack.bucket, key: 'rollover' }, stack.appName))],
      }),
    )
    const kill = await waitForStep(clusterId, killId, ['COMPLETED', 'FAILED'])
    expect(kill.Status?.State).toBe('COMPLETED')
    const streaming = await waitForStep(clusterId, stepId, ['FAILED'])
    expect(streaming.Status?.FailureDetails?.Message).toMatch(/SIGKILL/)
    expect(stack.emr.apps().find((a) => a.stepId === stepId)?.signal).toBe('SIGKILL')
    expect(stack.emr.stepLogs(killId).join('\n')).toMatch(/killed: application_/)
    const invariants = await stack.checkInvariants({ state })
    expect(invariants).toMatchObject({ ok: true, lostOffsets: [] })
  })

  it('queues a second step PENDING under concurrency 1, FIFO, until ModifyCluster', async () => {
    const { clusterId, state } = await fresh('queue', 1)
    const jar = await stack.makeJar('v1', 'ok', { upload: true })
    const first = await submit(clusterId, jar, state)
    await waitForStep(clusterId, first.stepId, ['RUNNING'])
    const killOther = await addStep(
      clusterId,
      buildKillStep({ name: 'rollover-kill:x', tags: ['rollover-someone-else'] }),
    )
    await new Promise((resolve) => setTimeout(resolve, 500))
    const listed = await emr.send(new ListStepsCommand({ ClusterId: clusterId }))
    expect(listed.Steps?.map((s) => [s.Id, s.Status?.State])).toEqual([
      [killOther, 'PENDING'],
      [first.stepId, 'RUNNING'],
    ])
    const pending = await emr.send(
      new ListStepsCommand({
        ClusterId: clusterId,
        StepStates: ['PENDING', 'RUNNING'],
        StepIds: [killOther],
      }),
    )
    expect(pending.Steps?.map((s) => s.Id)).toEqual([killOther])

    const modified = await emr.send(
      new ModifyClusterCommand({ ClusterId: clusterId, StepConcurrencyLevel: 2 }),
    )
    expect(modified.StepConcurrencyLevel).toBe(2)
    await waitForStep(clusterId, killOther, ['COMPLETED'])
    expect(stack.emr.step(first.stepId)?.state).toBe('RUNNING')
  })

  it('fails steps whose jar is missing, whose driver crashes, or that it cannot run', async () => {
    const { clusterId, state } = await fresh('fail', 3)
    const missing = await submit(clusterId, `s3://${stack.bucket}/jars/nope.jar`, state)
    const crashJar = await stack.makeJar('v2', 'crash-after-start', {
      upload: true,
      crashAfterMs: 300,
    })
    const crash = await submit(clusterId, crashJar, state)
    const other = await addStep(clusterId, {
      name: 'custom',
      jar: 's3://bucket/custom.jar',
      args: ['x'],
      actionOnFailure: 'CONTINUE',
    })

    const missingStep = await waitForStep(clusterId, missing.stepId, ['FAILED', 'COMPLETED'])
    expect(missingStep.Status?.State).toBe('FAILED')
    expect(missingStep.Status?.FailureDetails?.Message).toMatch(/FileNotFoundException.*nope\.jar/)
    expect(missingStep.Status?.FailureDetails?.LogFile).toMatch(/stderr\.gz$/)
    const crashed = await waitForStep(clusterId, crash.stepId, ['FAILED', 'COMPLETED'])
    expect(crashed.Status?.State).toBe('FAILED')
    expect(crashed.Status?.FailureDetails?.Message).toMatch(/simulated crash/)
    expect(crashed.Status?.Timeline?.StartDateTime).toBeInstanceOf(Date)
    expect((await waitForStep(clusterId, other, ['FAILED'])).Status?.State).toBe('FAILED')
  })

  it('keeps working for drainMs after the marker is gone with slow-drain', async () => {
    const { clusterId, state } = await fresh('slow', 1)
    const jar = await stack.makeJar('v1', 'slow-drain', { upload: true, drainMs: 1000 })
    const { stepId, markerKey } = await submit(clusterId, jar, state)
    await waitForStep(clusterId, stepId, ['RUNNING'])
    await waitForEvents(state, (events) => batchEnds(events) >= 1)
    await deleteMarker(markerKey)
    await waitForStep(clusterId, stepId, ['COMPLETED'])
    const events = await stack.readActivity(state)
    const requested = events.find((e) => e.event === 'stop-requested')?.t ?? 0
    const stopped = events.find((e) => e.event === 'stopped')?.t ?? 0
    expect(stopped - requested).toBeGreaterThanOrEqual(1000)
    expect(batchEnds(events, requested)).toBeGreaterThanOrEqual(2)
  })

  it('injects throttling and server errors the SDK recognises', async () => {
    const noRetry = client(1)
    try {
      const control = (body: unknown) =>
        fetch(`${stack.emrEndpoint}/__control`, { method: 'POST', body: JSON.stringify(body) })
      await control({ throttleRate: 1, resetCounts: true })
      await expect(
        noRetry.send(new DescribeClusterCommand({ ClusterId: stack.clusterId })),
      ).rejects.toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } })
      await control({ throttleRate: 0, errorRate: 1 })
      await expect(
        noRetry.send(new ListStepsCommand({ ClusterId: stack.clusterId })),
      ).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } })
      await control({ errorRate: 0, failNext: { ListSteps: { count: 2, kind: 'throttle' } } })
      // The default client retries our ThrottlingException: the action's SDK will too.
      await emr.send(new ListStepsCommand({ ClusterId: stack.clusterId }))
      const snapshot = (await (await fetch(`${stack.emrEndpoint}/__state`)).json()) as {
        counts: Record<string, number>
        throttled: Record<string, number>
        serverErrors: Record<string, number>
      }
      expect(snapshot.counts).toEqual({ DescribeCluster: 1, ListSteps: 4 })
      expect(snapshot.throttled).toEqual({ DescribeCluster: 1, ListSteps: 2 })
      expect(snapshot.serverErrors).toEqual({ ListSteps: 1 })

      // EMR's own limits: a burst of 10 on ListSteps, then throttled.
      await control({ failNext: {}, realRateLimits: true })
      const burst = await Promise.allSettled(
        Array.from({ length: 12 }, () =>
          noRetry.send(new ListStepsCommand({ ClusterId: stack.clusterId })),
        ),
      )
      expect(burst.filter((r) => r.status === 'rejected').length).toBeGreaterThanOrEqual(2)
    } finally {
      noRetry.destroy()
    }
  })

  it('checkInvariants reports a fabricated lost offset, overlap, duplicate and corrupt batch', async () => {
    const state = await stack.newStream(`fabricated-${++seq}`)
    const key = parseS3Uri(state).key
    const put = (k: string, body: unknown) =>
      stack.s3.send(
        new PutObjectCommand({ Bucket: stack.bucket, Key: k, Body: JSON.stringify(body) }),
      )
    const records = (start: number) => Array.from({ length: 10 }, (_, i) => recordValue(start + i))
    await put(outputKey(key, 0, 10), {
      version: 'v1',
      stepId: 's-A',
      start: 0,
      end: 10,
      records: records(0),
    })
    const bad = [...records(20)]
    bad[3] = 'garbage'
    await put(outputKey(key, 20, 30), {
      version: 'v2',
      stepId: 's-B',
      start: 20,
      end: 30,
      records: bad,
    })
    await put(`${key}/checkpoint.json`, { offset: 30 })
    const line = (pid: number, t: number, event: string, start: number) =>
      JSON.stringify({ t, pid, event, state, stepId: `s-${pid}`, start, end: start + 10 }) + '\n'
    await appendFile(
      stack.activityLog,
      line(101, 1000, 'batch-start', 0) +
        line(102, 1050, 'batch-start', 10) +
        line(101, 1100, 'batch-end', 0) +
        line(102, 1150, 'batch-end', 10) +
        line(101, 1200, 'batch-start', 20) +
        line(101, 1250, 'batch-end', 20) +
        line(102, 1300, 'batch-start', 20) +
        line(102, 1350, 'batch-end', 20),
    )
    const invariants = await stack.checkInvariants({ state })
    expect(invariants.ok).toBe(false)
    expect(invariants.committedOffset).toBe(30)
    expect(invariants.lostOffsets).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19])
    expect(invariants.overlaps).toHaveLength(1)
    expect(invariants.overlaps[0]?.map((b) => [b.pid, b.start])).toEqual([
      [101, 0],
      [102, 10],
    ])
    expect(invariants.duplicateBatches).toEqual([{ start: 20, end: 30, times: 2 }])
    expect(invariants.handovers.map((h) => [h.from.pid, h.to.pid, h.gapMs])).toEqual([
      [101, 102, -50],
      [102, 101, 50],
      [101, 102, 50],
    ])
    expect(invariants.corruptBatches).toEqual([
      { key: outputKey(key, 20, 30), reason: 'record 23 is garbage' },
    ])
  })
})
