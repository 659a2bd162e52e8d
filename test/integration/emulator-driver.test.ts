// The simulated driver honours the contract as the driver library does (the documents parsed by
// src/contract's own parsers), misbehaves on request (test jars), and the invariant checker
// tells every misbehaviour that matters apart.
import { appendFile } from 'node:fs/promises'
import { expect, it } from 'vitest'
import { parseProgress, parseReady, parseStopped } from '../../src/contract/reports.ts'
import { outputKey, parseS3Uri, recordValue, sourceOffset } from '../emulator/contract.ts'
import { batchEnds, describeEmulator } from './emulator-support.ts'

describeEmulator('EMR emulator: the simulated driver', (t) => {
  const events = (state: string, name: string) =>
    t.stack.readActivity(state).then((list) => list.filter((e) => e.event === name))

  it('reports .progress (first batch at once, then rate-limited) and .stopped with the final offsets', async () => {
    const { clusterId } = await t.fresh('progress')
    const state = await t.stack.newStream(`progress-${Date.now()}`, { progressMs: 60_000 })
    const jar = await t.stack.makeJar('v1', 'ok', { upload: true })
    const first = await t.submit(clusterId, jar, state)
    const progressKey = `${first.markerKey}.progress`
    const p1 = await t.until(
      async () => parseProgress((await t.getText(progressKey)) ?? ''),
      15_000,
      'the first .progress',
    )
    const app1 = t.stack.emr.apps().find((a) => a.stepId === first.stepId)?.appId
    expect(p1).toMatchObject({
      applicationId: app1,
      deploymentId: first.deploymentId,
      batchId: 0,
      firstBatchId: 0,
      firstBatch: { batchId: 0, sources: [{ startOffset: sourceOffset(state, 0) }] },
    })
    expect(p1.sources).toEqual([
      {
        description: `VirtualSource[${state}]`,
        startOffset: sourceOffset(state, 0),
        endOffset: sourceOffset(state, 10),
        numInputRows: 10,
      },
    ])
    // More batches commit; within progressMs the report is not rewritten.
    await t.waitForEvents(state, (e) => batchEnds(e) >= 4)
    expect(parseProgress((await t.getText(progressKey)) ?? '')?.batchId).toBe(0)

    await t.deleteMarker(first.markerKey)
    await t.waitForStep(clusterId, first.stepId, ['COMPLETED'])
    const stopped = parseStopped((await t.getText(`${first.markerKey}.stopped`)) ?? '')
    const committed = (await t.stack.checkInvariants({ state })).committedOffset
    expect(stopped).toMatchObject({
      applicationId: app1,
      batchId: committed / 10 - 1,
      graceful: true,
    })
    expect(stopped?.sources[0]?.endOffset).toEqual(sourceOffset(state, committed))
    expect(JSON.parse((await t.getText(`${first.markerKey}.stopped`)) ?? '{}')).toMatchObject({
      version: 1,
      offset: committed,
      jarVersion: 'v1',
    })

    // The next driver's first batch starts where the last one's final offsets end.
    const second = await t.submit(clusterId, jar, state)
    const p2 = await t.until(
      async () => parseProgress((await t.getText(`${second.markerKey}.progress`)) ?? ''),
      15_000,
      'the second driver’s .progress',
    )
    expect(p2.firstBatchId).toBe((stopped?.batchId as number) + 1)
    expect(p2.firstBatch?.sources[0]?.startOffset).toEqual(stopped?.sources[0]?.endOffset)
  })

  it('standby: writes .ready, reads no checkpoint and processes nothing until the marker says run', async () => {
    const { clusterId, state } = await t.fresh('standby')
    const key = parseS3Uri(state).key
    await t.putObject(`${key}/checkpoint.json`, JSON.stringify({ offset: 30, batchId: 2 }))
    const jar = await t.stack.makeJar('v1', 'ok', { upload: true })
    const body = { version: 1, app: t.stack.appName, deploymentId: 'standby-1', mode: 'standby' }
    const { stepId, markerKey } = await t.submit(clusterId, jar, state, { markerBody: body })
    const ready = await t.until(
      async () => parseReady((await t.getText(`${markerKey}.ready`)) ?? ''),
      15_000,
      '.ready',
    )
    expect(ready).toMatchObject({ deploymentId: 'standby-1' })
    expect(ready.applicationId).toMatch(/^application_\d+_\d+$/)
    // Records are there to process, the driver is up, and yet nothing happens.
    await t.until(
      async () => (await t.stack.checkInvariants({ state })).sourceOffset >= 60,
      15_000,
      'records to wait',
    )
    expect(await events(state, 'driver-start')).toEqual([])
    expect(await events(state, 'batch-start')).toEqual([])
    expect(t.stack.emr.step(stepId)?.state).toBe('RUNNING')

    await t.putObject(markerKey, JSON.stringify({ ...body, mode: 'run' }))
    const resumedAt = Date.now()
    await t.waitForEvents(state, (e) => batchEnds(e, resumedAt) >= 2)
    const [start] = await events(state, 'driver-start')
    expect(start?.offset).toBe(30)
    expect((await events(state, 'resume')).length).toBe(1)
    const firstBatch = (await events(state, 'batch-start'))[0]
    expect(firstBatch?.start).toBe(30)
  })

  it('standby whose marker disappears returns cleanly, retired: no checkpoint read, no batch', async () => {
    const { clusterId, state } = await t.fresh('standby-gone')
    const jar = await t.stack.makeJar('v1', 'ok', { upload: true })
    const body = { version: 1, app: t.stack.appName, deploymentId: 'standby-2', mode: 'standby' }
    const { stepId, markerKey } = await t.submit(clusterId, jar, state, { markerBody: body })
    await t.until(
      async () => (await t.getText(`${markerKey}.ready`)) !== undefined,
      15_000,
      '.ready',
    )
    await t.deleteMarker(markerKey)
    await t.waitForStep(clusterId, stepId, ['COMPLETED', 'FAILED'])
    expect(t.stack.emr.step(stepId)?.state).toBe('COMPLETED')
    expect((await events(state, 'standby-exit')).length).toBe(1)
    expect(await events(state, 'driver-start')).toEqual([])
    const stopped = JSON.parse((await t.getText(`${markerKey}.stopped`)) ?? '{}') as unknown
    expect(stopped).toMatchObject({ version: 1, batchId: null, sources: [], retired: true })
    expect(await t.getText(`${parseS3Uri(state).key}/checkpoint.json`)).toBeUndefined()
  })

  it('ack-and-stay acknowledges its stop but neither exits nor processes', async () => {
    const { clusterId, state } = await t.fresh('ack-stay')
    const jar = await t.stack.makeJar('v1', 'ack-and-stay', { upload: true })
    const { stepId, markerKey } = await t.submit(clusterId, jar, state)
    await t.waitForEvents(state, (e) => batchEnds(e) >= 1)
    await t.deleteMarker(markerKey)
    await t.until(
      async () => (await t.getText(`${markerKey}.stopped`)) !== undefined,
      15_000,
      '.stopped',
    )
    const [stoppedEvent] = await events(state, 'stopped')
    const ackedAt = stoppedEvent?.t ?? 0
    await t.until(
      async () =>
        (await t.stack.checkInvariants({ state })).sourceOffset > (stoppedEvent?.offset ?? 0) + 30,
      15_000,
      'records to wait',
    )
    expect(batchEnds(await t.stack.readActivity(state), ackedAt)).toBe(0)
    expect(t.stack.emr.step(stepId)?.state).toBe('RUNNING')
    expect(t.stack.emr.apps().find((a) => a.stepId === stepId)?.alive).toBe(true)
  })

  it('stuck-after-start is RUNNING but commits nothing and reports no progress', async () => {
    const { clusterId, state } = await t.fresh('stuck')
    const jar = await t.stack.makeJar('v1', 'stuck-after-start', { upload: true })
    const { stepId, markerKey } = await t.submit(clusterId, jar, state)
    await t.waitForEvents(state, (e) => e.some((x) => x.event === 'driver-start'))
    await t.until(
      async () => (await t.stack.checkInvariants({ state })).sourceOffset >= 40,
      15_000,
      'records to wait',
    )
    expect(await events(state, 'batch-start')).toEqual([])
    expect(await t.getText(`${markerKey}.progress`)).toBeUndefined()
    expect(t.stack.emr.step(stepId)?.state).toBe('RUNNING')
    await t.deleteMarker(markerKey)
    await t.waitForStep(clusterId, stepId, ['COMPLETED'])
    expect(parseStopped((await t.getText(`${markerKey}.stopped`)) ?? '')?.batchId).toBeNull()
  })

  it('silent processes correctly but writes neither .progress nor .stopped', async () => {
    const { clusterId, state } = await t.fresh('silent')
    const jar = await t.stack.makeJar('v1', 'silent', { upload: true })
    const { stepId, markerKey } = await t.submit(clusterId, jar, state)
    await t.waitForEvents(state, (e) => batchEnds(e) >= 3)
    await t.deleteMarker(markerKey)
    await t.waitForStep(clusterId, stepId, ['COMPLETED'])
    expect(await t.getText(`${markerKey}.progress`)).toBeUndefined()
    expect(await t.getText(`${markerKey}.stopped`)).toBeUndefined()
    expect(await t.stack.checkInvariants({ state })).toMatchObject({ ok: true, lostOffsets: [] })
  })

  it('the invariants tell a gap, an overlap and two drivers at once apart from a clean handover', async () => {
    const run = async (behavior: 'ok' | 'gap' | 'overlap', state: string, clusterId: string) => {
      const jar = await t.stack.makeJar(`v-${behavior}`, behavior, { upload: true, records: 5 })
      const { stepId, markerKey } = await t.submit(clusterId, jar, state)
      await t.waitForEvents(state, (e) => batchEnds(e, 0, stepId) >= 2)
      await t.deleteMarker(markerKey)
      await t.waitForStep(clusterId, stepId, ['COMPLETED'])
    }
    const clean = await t.fresh('clean')
    await run('ok', clean.state, clean.clusterId)
    await run('ok', clean.state, clean.clusterId)
    expect(await t.stack.checkInvariants({ state: clean.state })).toMatchObject({
      ok: true,
      lostOffsets: [],
      overlappingBatches: [],
      duplicateBatches: [],
      driverOverlaps: [],
    })

    const gap = await t.fresh('gap')
    await run('ok', gap.state, gap.clusterId)
    const before = (await t.stack.checkInvariants({ state: gap.state })).committedOffset
    await run('gap', gap.state, gap.clusterId)
    const g = await t.stack.checkInvariants({ state: gap.state })
    expect(g.ok).toBe(false)
    expect(g.lostOffsets).toEqual([before, before + 1, before + 2, before + 3, before + 4])

    const overlap = await t.fresh('overlap')
    await run('ok', overlap.state, overlap.clusterId)
    await run('overlap', overlap.state, overlap.clusterId)
    const o = await t.stack.checkInvariants({ state: overlap.state })
    expect(o.ok).toBe(false)
    expect(o.lostOffsets).toEqual([])
    expect(o.overlappingBatches.length).toBeGreaterThan(0)
    const [a, b] = o.overlappingBatches[0] ?? []
    expect(a?.stepId).not.toBe(b?.stepId)

    const twice = await t.fresh('twice', { stepConcurrencyLevel: 2 })
    const jar = await t.stack.makeJar('v1', 'ok', { upload: true })
    const one = await t.submit(twice.clusterId, jar, twice.state)
    const two = await t.submit(twice.clusterId, jar, twice.state)
    await t.waitForEvents(
      twice.state,
      (e) => batchEnds(e, 0, one.stepId) >= 2 && batchEnds(e, 0, two.stepId) >= 2,
    )
    const both = await t.stack.checkInvariants({ state: twice.state })
    expect(both.driverOverlaps.map(([x, y]) => [x.stepId, y.stepId].sort())).toEqual([
      [one.stepId, two.stepId].sort(),
    ])
    expect(both.overlaps.length + both.duplicateBatches.length).toBeGreaterThan(0)
  })

  it('checkInvariants reports a fabricated lost offset, overlap, duplicate and corrupt batch', async () => {
    const state = await t.stack.newStream(`fabricated-${Date.now()}`)
    const key = parseS3Uri(state).key
    const put = (k: string, body: unknown) => t.putObject(k, JSON.stringify(body))
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
    const line = (pid: number, t0: number, event: string, start: number) =>
      JSON.stringify({ t: t0, pid, event, state, stepId: `s-${pid}`, start, end: start + 10 }) +
      '\n'
    await appendFile(
      t.stack.activityLog,
      line(101, 1000, 'batch-start', 0) +
        line(102, 1050, 'batch-start', 10) +
        line(101, 1100, 'batch-end', 0) +
        line(102, 1150, 'batch-end', 10) +
        line(101, 1200, 'batch-start', 20) +
        line(101, 1250, 'batch-end', 20) +
        line(102, 1300, 'batch-start', 20) +
        line(102, 1350, 'batch-end', 20) +
        line(103, 1400, 'batch-start', 25) +
        line(103, 1450, 'batch-end', 25),
    )
    const invariants = await t.stack.checkInvariants({ state })
    expect(invariants.ok).toBe(false)
    expect(invariants.committedOffset).toBe(30)
    expect(invariants.lostOffsets).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19])
    expect(invariants.overlaps).toHaveLength(1)
    expect(invariants.overlaps[0]?.map((b) => [b.pid, b.start])).toEqual([
      [101, 0],
      [102, 10],
    ])
    expect(invariants.duplicateBatches).toEqual([{ start: 20, end: 30, times: 2 }])
    expect(invariants.overlappingBatches.map(([x, y]) => [x.start, y.start])).toEqual([
      [20, 25],
      [20, 25],
    ])
    expect(invariants.corruptBatches).toEqual([
      { key: outputKey(key, 20, 30), reason: 'record 23 is garbage' },
    ])
  })
})
