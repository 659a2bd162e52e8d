// The EMR emulator against the real @aws-sdk/client-emr: proves the wire shapes, and that the
// emulator keeps EMR's rules the rollover depends on (cancel leaves the driver alive, FIFO queue
// under StepConcurrencyLevel, runtime roles, ListSteps order and history, CancelSteps' answers)
// before any e2e test trusts it. YARN, the kill step and step logs: emulator-yarn.test.ts.
import {
  CancelStepsCommand,
  DescribeClusterCommand,
  DescribeStepCommand,
  ListClustersCommand,
  ListStepsCommand,
  ModifyClusterCommand,
  type StepSummary,
} from '@aws-sdk/client-emr'
import { expect, it } from 'vitest'
import { appTag } from '../../src/contract/identity.ts'
import { buildKillStep } from '../../src/contract/kill-step.ts'
import { parseStopped } from '../../src/contract/reports.ts'
import {
  RUNTIME_ROLE_NOT_SUPPORTED,
  RUNTIME_ROLE_REQUIRED,
  STEP_HISTORY_LIMIT,
} from '../emulator/emr-rules.ts'
import { ROLE, batchEnds, describeEmulator } from './emulator-support.ts'

const OTHER = {
  name: 'custom',
  jar: 's3://bucket/custom.jar',
  args: ['x'],
  actionOnFailure: 'CONTINUE' as const,
}

describeEmulator('EMR emulator', (t) => {
  it('describes and lists clusters in the SDK shapes, with LogUri and release', async () => {
    const { Cluster } = await t.emr.send(
      new DescribeClusterCommand({ ClusterId: t.stack.clusterId }),
    )
    expect(Cluster).toMatchObject({
      Id: 'j-EMULATOR00001',
      Name: 'streaming-staging',
      StepConcurrencyLevel: 1,
      ReleaseLabel: 'emr-7.5.0',
      LogUri: t.stack.logUri,
      Status: { State: 'WAITING' },
    })
    expect(Cluster?.SecurityConfiguration).toBeUndefined()
    expect(Cluster?.Status?.Timeline?.CreationDateTime).toBeInstanceOf(Date)
    const { Clusters } = await t.emr.send(new ListClustersCommand({ ClusterStates: ['WAITING'] }))
    expect(Clusters?.map((c) => c.Name)).toContain('streaming-staging')
    const none = await t.emr.send(new ListClustersCommand({ ClusterStates: ['TERMINATED'] }))
    expect(none.Clusters).toEqual([])
    await expect(
      t.emr.send(new DescribeClusterCommand({ ClusterId: 'j-NOPE' })),
    ).rejects.toMatchObject({ name: 'InvalidRequestException' })
  })

  it('runs a spark-submit step as a live driver that drains when its marker goes', async () => {
    const { clusterId, state } = await t.fresh('drain')
    const jar = await t.stack.makeJar('v1', 'ok', { upload: true })
    const { stepId, markerKey } = await t.submit(clusterId, jar, state)
    const running = await t.waitForStep(clusterId, stepId, ['RUNNING'])
    expect(running.Config?.Args?.[0]).toBe('spark-submit')
    expect(running.ExecutionRoleArn).toBeUndefined()
    expect(running.Status?.Timeline?.StartDateTime).toBeInstanceOf(Date)
    await t.waitForEvents(state, (events) => batchEnds(events) >= 2)

    await t.deleteMarker(markerKey)
    const done = await t.waitForStep(clusterId, stepId, ['COMPLETED', 'FAILED'])
    expect(done.Status?.State).toBe('COMPLETED')
    const stopped = parseStopped((await t.getText(`${markerKey}.stopped`)) ?? '')
    const invariants = await t.stack.checkInvariants({ state })
    expect(invariants).toMatchObject({ ok: true, lostOffsets: [], liveApps: [] })
    const stream = state.split('/').pop() as string
    expect(stopped?.sources[0]?.endOffset).toEqual({
      [stream]: { '0': invariants.committedOffset },
    })
    expect(invariants.committedOffset).toBeGreaterThanOrEqual(20)
    const app = t.stack.emr.apps().find((a) => a.stepId === stepId)
    expect(app).toMatchObject({
      alive: false,
      exitCode: 0,
      yarnState: 'FINISHED',
      tags: expect.arrayContaining([appTag(t.app())]),
    })
  })

  it('runtime roles: a role is required on such a cluster, refused elsewhere, and described', async () => {
    const roles = await t.fresh('roles', { runtimeRoles: true })
    const plain = await t.fresh('plain')
    const { Cluster } = await t.emr.send(new DescribeClusterCommand({ ClusterId: roles.clusterId }))
    expect(Cluster?.SecurityConfiguration).toBeTruthy()
    const kill = buildKillStep({ name: 'rollover-kill:x:1', tags: ['rollover-x-1'] })

    await expect(t.addStep(roles.clusterId, kill, null)).rejects.toMatchObject({
      name: 'ValidationException',
      message: RUNTIME_ROLE_REQUIRED,
      $metadata: { httpStatusCode: 400 },
    })
    await expect(t.addStep(plain.clusterId, kill, ROLE)).rejects.toMatchObject({
      name: 'ValidationException',
      message: RUNTIME_ROLE_NOT_SUPPORTED,
    })
    expect(t.stack.emr.steps(roles.clusterId)).toEqual([])
    expect(t.stack.emr.steps(plain.clusterId)).toEqual([])

    const killId = await t.addStep(roles.clusterId, kill, ROLE)
    const described = await t.waitForStep(roles.clusterId, killId, ['COMPLETED', 'FAILED'])
    expect(described.ExecutionRoleArn).toBe(ROLE)
    // StepSummary has no role in EMR's model: ListSteps cannot tell it.
    const listed = await t.emr.send(new ListStepsCommand({ ClusterId: roles.clusterId }))
    expect(listed.Steps?.map((s) => s.Id)).toEqual([killId])
    expect((listed.Steps?.[0] as Record<string, unknown>).ExecutionRoleArn).toBeUndefined()
  })

  it('CancelSteps ends a running step CANCELLED while its application keeps running', async () => {
    const { clusterId, state } = await t.fresh('cancel')
    const jar = await t.stack.makeJar('v1', 'ok', { upload: true })
    const { stepId } = await t.submit(clusterId, jar, state)
    await t.waitForStep(clusterId, stepId, ['RUNNING'])
    await t.waitForEvents(state, (events) => batchEnds(events) >= 1)

    const cancel = () =>
      t.emr.send(new CancelStepsCommand({ ClusterId: clusterId, StepIds: [stepId] }))
    expect((await cancel()).CancelStepsInfoList).toEqual([{ StepId: stepId, Status: 'SUBMITTED' }])
    await t.waitForStep(clusterId, stepId, ['CANCELLED'])
    expect(t.stack.emr.step(stepId)?.history.map((h) => h.state)).toEqual([
      'PENDING',
      'RUNNING',
      'CANCEL_PENDING',
      'CANCELLED',
    ])
    const again = (await cancel()).CancelStepsInfoList?.[0]
    expect(again).toMatchObject({ StepId: stepId, Status: 'FAILED' })
    expect(again?.Reason).toContain('CANCELLED')
    const cancelledAt = Date.now()
    await t.waitForEvents(state, (events) => batchEnds(events, cancelledAt) >= 2)
    expect(t.stack.emr.liveApps().map((a) => a.stepId)).toEqual([stepId])

    // The kill step runs: the cancelled step no longer holds the only slot.
    const killId = await t.addStep(
      clusterId,
      buildKillStep({ name: 'rollover-kill:d-kill', tags: [appTag(t.app())] }),
    )
    const kill = await t.waitForStep(clusterId, killId, ['COMPLETED', 'FAILED'])
    expect(kill.Status?.State).toBe('COMPLETED')
    expect(t.stack.emr.apps().find((a) => a.stepId === stepId)).toMatchObject({
      alive: false,
      yarnState: 'KILLED',
      exitCode: 143,
    })
    expect(t.stack.emr.step(stepId)?.state).toBe('CANCELLED')
    expect((await t.stack.checkInvariants({ state })).ok).toBe(true)
  })

  it('below emr-5.28.0 a RUNNING step cannot be cancelled (a PENDING one can)', async () => {
    const { clusterId, state } = await t.fresh('old-release', { releaseLabel: 'emr-5.27.0' })
    const jar = await t.stack.makeJar('v1', 'ok', { upload: true })
    const { stepId } = await t.submit(clusterId, jar, state)
    const queued = await t.addStep(clusterId, OTHER)
    await t.waitForStep(clusterId, stepId, ['RUNNING'])
    const out = await t.emr.send(
      new CancelStepsCommand({ ClusterId: clusterId, StepIds: [stepId, queued] }),
    )
    expect(out.CancelStepsInfoList?.[0]).toMatchObject({ StepId: stepId, Status: 'FAILED' })
    expect(out.CancelStepsInfoList?.[0]?.Reason).toContain('emr-5.28.0')
    expect(out.CancelStepsInfoList?.[1]).toEqual({ StepId: queued, Status: 'SUBMITTED' })
    expect(t.stack.emr.step(stepId)?.state).toBe('RUNNING')
    expect(t.stack.emr.step(queued)?.state).toBe('CANCELLED')
  })

  it('with cancelHangs, CANCEL_PENDING holds its slot as long as the application lives; a repeated cancel does no harm', async () => {
    const { clusterId, state } = await t.fresh('cancel-hangs')
    const jar = await t.stack.makeJar('v1', 'ok', { upload: true })
    const { stepId, markerKey } = await t.submit(clusterId, jar, state)
    await t.waitForStep(clusterId, stepId, ['RUNNING'])
    t.stack.emr.setFaults({ cancelHangs: true })
    const cancel = () =>
      t.emr.send(new CancelStepsCommand({ ClusterId: clusterId, StepIds: [stepId] }))
    expect((await cancel()).CancelStepsInfoList).toEqual([{ StepId: stepId, Status: 'SUBMITTED' }])
    // CancelSteps is idempotent: a repeat is SUBMITTED again, and nothing changes.
    expect((await cancel()).CancelStepsInfoList).toEqual([{ StepId: stepId, Status: 'SUBMITTED' }])
    const killId = await t.addStep(
      clusterId,
      buildKillStep({ name: 'rollover-kill:d-kill', tags: [appTag(t.app())] }),
    )
    // Past the cancel delay, the step is still CANCEL_PENDING and the kill step queues behind it.
    const cancelledAt = Date.now()
    await t.waitForEvents(state, (events) => batchEnds(events, cancelledAt) >= 3)
    expect(t.stack.emr.step(stepId)?.state).toBe('CANCEL_PENDING')
    expect(t.stack.emr.step(killId)?.state).toBe('PENDING')
    // Only the application's end ends it.
    await t.deleteMarker(markerKey)
    await t.waitForStep(clusterId, stepId, ['CANCELLED'])
    expect(t.stack.emr.step(stepId)?.history.map((h) => h.state)).toEqual([
      'PENDING',
      'RUNNING',
      'CANCEL_PENDING',
      'CANCELLED',
    ])
    expect(t.stack.emr.apps().find((a) => a.stepId === stepId)?.yarnState).toBe('FINISHED')
    await t.waitForStep(clusterId, killId, ['COMPLETED'])
  })

  it('with cancelRace, a step that ends as it is cancelled: the cancel answers FAILED naming COMPLETED', async () => {
    const { clusterId, state } = await t.fresh('cancel-race')
    const jar = await t.stack.makeJar('v1', 'ok', { upload: true })
    const { stepId, markerKey } = await t.submit(clusterId, jar, state)
    await t.waitForStep(clusterId, stepId, ['RUNNING'])
    await t.waitForEvents(state, (events) => batchEnds(events) >= 1)
    t.stack.emr.setFaults({ cancelRace: true })
    await t.deleteMarker(markerKey)
    const out = await t.emr.send(
      new CancelStepsCommand({ ClusterId: clusterId, StepIds: [stepId] }),
    )
    expect(out.CancelStepsInfoList?.[0]).toMatchObject({ StepId: stepId, Status: 'FAILED' })
    expect(out.CancelStepsInfoList?.[0]?.Reason).toContain('COMPLETED')
    expect(t.stack.emr.step(stepId)?.history.map((h) => h.state)).toEqual([
      'PENDING',
      'RUNNING',
      'COMPLETED',
    ])
  })

  it('queues FIFO under concurrency 1 until ModifyCluster; ListSteps is newest first, oldest first when filtered', async () => {
    const { clusterId, state } = await t.fresh('queue')
    const jar = await t.stack.makeJar('v1', 'ok', { upload: true })
    const first = await t.submit(clusterId, jar, state)
    await t.waitForStep(clusterId, first.stepId, ['RUNNING'])
    const second = await t.addStep(
      clusterId,
      buildKillStep({ name: 'rollover-kill:x', tags: [appTag(t.app('someone-else'))] }),
    )
    const third = await t.addStep(clusterId, OTHER)
    const listed = await t.emr.send(new ListStepsCommand({ ClusterId: clusterId }))
    expect(listed.Steps?.map((s) => [s.Id, s.Status?.State])).toEqual([
      [third, 'PENDING'],
      [second, 'PENDING'],
      [first.stepId, 'RUNNING'],
    ])
    const active = await t.emr.send(
      new ListStepsCommand({ ClusterId: clusterId, StepStates: ['PENDING', 'RUNNING'] }),
    )
    expect(active.Steps?.map((s) => s.Id)).toEqual([first.stepId, second, third])
    const byId = await t.emr.send(
      new ListStepsCommand({ ClusterId: clusterId, StepIds: [third, first.stepId] }),
    )
    expect(byId.Steps?.map((s) => s.Id)).toEqual([first.stepId, third])

    const modified = await t.emr.send(
      new ModifyClusterCommand({ ClusterId: clusterId, StepConcurrencyLevel: 2 }),
    )
    expect(modified.StepConcurrencyLevel).toBe(2)
    await t.waitForStep(clusterId, second, ['COMPLETED'])
    await t.waitForStep(clusterId, third, ['FAILED'])
    expect(t.stack.emr.step(first.stepId)?.state).toBe('RUNNING')
  })

  it('ListSteps pages by 50 with a Marker, and about 1,000 steps of history are kept', async () => {
    const { clusterId } = await t.fresh('history', { stepConcurrencyLevel: 256 })
    const all = Array.from({ length: STEP_HISTORY_LIMIT + 20 }, (_, i) =>
      t.stack.emr.state.addStep(clusterId, { ...OTHER, name: `s${i}`, properties: {} }),
    )
    await t.until(
      () => t.stack.emr.state.stepsOf(clusterId).every((s) => s.state === 'FAILED'),
      60_000,
      'every step to fail',
    )
    const last = await t.addStep(clusterId, { ...OTHER, name: 'last' })
    const pages: StepSummary[][] = []
    let marker: string | undefined
    do {
      const out = await t.emr.send(new ListStepsCommand({ ClusterId: clusterId, Marker: marker }))
      pages.push(out.Steps ?? [])
      marker = out.Marker
    } while (marker)
    expect(pages.map((p) => p.length)).toEqual(Array.from({ length: 20 }, () => 50))
    const listed = pages.flat().map((s) => s.Id)
    expect(listed[0]).toBe(last)
    expect(listed.at(-1)).toBe(all[21]?.id)
    expect(new Set(listed).size).toBe(STEP_HISTORY_LIMIT)
    await expect(
      t.emr.send(new DescribeStepCommand({ ClusterId: clusterId, StepId: all[0]?.id })),
    ).rejects.toMatchObject({ name: 'InvalidRequestException' })
    await expect(
      t.emr.send(
        new ListStepsCommand({
          ClusterId: clusterId,
          StepIds: Array.from({ length: 11 }, (_, i) => all[i + 100]?.id as string),
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' })
  })

  it('fails steps whose jar is missing (no YARN attempt), whose driver crashes (re-attempted), or that it cannot run', async () => {
    const { clusterId, state } = await t.fresh('fail', { stepConcurrencyLevel: 3 })
    const missing = await t.submit(clusterId, `s3://${t.stack.bucket}/jars/nope.jar`, state)
    const crashJar = await t.stack.makeJar('v2', 'crash-after-start', {
      upload: true,
      crashAfterMs: 300,
    })
    const crash = await t.submit(clusterId, crashJar, state)
    const other = await t.addStep(clusterId, OTHER)

    const missingStep = await t.waitForStep(clusterId, missing.stepId, ['FAILED', 'COMPLETED'])
    expect(missingStep.Status?.State).toBe('FAILED')
    expect(missingStep.Status?.FailureDetails?.Message).toMatch(/FileNotFoundException.*nope\.jar/)
    expect(missingStep.Status?.FailureDetails?.LogFile).toBe(
      `${t.stack.logUri}${clusterId}/steps/${missing.stepId}/stderr.gz`,
    )
    expect(t.stack.emr.apps().find((a) => a.stepId === missing.stepId)?.attempts).toHaveLength(1)
    const crashed = await t.waitForStep(clusterId, crash.stepId, ['FAILED', 'COMPLETED'])
    expect(crashed.Status?.State).toBe('FAILED')
    expect(crashed.Status?.FailureDetails?.Message).toMatch(/simulated crash/)
    expect(crashed.Status?.Timeline?.StartDateTime).toBeInstanceOf(Date)
    expect(t.stack.emr.apps().find((a) => a.stepId === crash.stepId)).toMatchObject({
      yarnState: 'FAILED',
      attempts: [
        { attempt: 1, exitCode: 1 },
        { attempt: 2, exitCode: 1 },
      ],
    })
    expect((await t.waitForStep(clusterId, other, ['FAILED'])).Status?.State).toBe('FAILED')
  })

  it('keeps working for drainMs after the marker is gone with slow-drain', async () => {
    const { clusterId, state } = await t.fresh('slow')
    const jar = await t.stack.makeJar('v1', 'slow-drain', { upload: true, drainMs: 1000 })
    const { stepId, markerKey } = await t.submit(clusterId, jar, state)
    await t.waitForStep(clusterId, stepId, ['RUNNING'])
    await t.waitForEvents(state, (events) => batchEnds(events) >= 1)
    await t.deleteMarker(markerKey)
    await t.waitForStep(clusterId, stepId, ['COMPLETED'])
    const events = await t.stack.readActivity(state)
    const requested = events.find((e) => e.event === 'stop-requested')?.t ?? 0
    const stopped = events.find((e) => e.event === 'stopped')?.t ?? 0
    expect(stopped - requested).toBeGreaterThanOrEqual(1000)
    expect(batchEnds(events, requested)).toBeGreaterThanOrEqual(2)
  })

  it('injects throttling and server errors the SDK recognises', async () => {
    const noRetry = t.client(1)
    try {
      const control = (body: unknown) =>
        fetch(`${t.stack.emrEndpoint}/__control`, { method: 'POST', body: JSON.stringify(body) })
      await control({ throttleRate: 1, resetCounts: true })
      await expect(
        noRetry.send(new DescribeClusterCommand({ ClusterId: t.stack.clusterId })),
      ).rejects.toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } })
      await control({ throttleRate: 0, errorRate: 1 })
      await expect(
        noRetry.send(new ListStepsCommand({ ClusterId: t.stack.clusterId })),
      ).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } })
      await control({ errorRate: 0, failNext: { ListSteps: { count: 2, kind: 'throttle' } } })
      // The default client retries our ThrottlingException: the action's SDK will too.
      await t.emr.send(new ListStepsCommand({ ClusterId: t.stack.clusterId }))
      const snapshot = (await (await fetch(`${t.stack.emrEndpoint}/__state`)).json()) as {
        counts: Record<string, number>
        throttled: Record<string, number>
        rateLimited: Record<string, number>
        serverErrors: Record<string, number>
      }
      expect(snapshot.counts).toEqual({ DescribeCluster: 1, ListSteps: 4 })
      expect(snapshot.throttled).toEqual({ DescribeCluster: 1, ListSteps: 2 })
      expect(snapshot.rateLimited).toEqual({})
      expect(snapshot.serverErrors).toEqual({ ListSteps: 1 })
    } finally {
      noRetry.destroy()
    }
  })
})
