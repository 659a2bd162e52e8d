// The standby strategy end to end (DESIGN.md, "`mode: standby`"): the bundled action against the
// local stack, on a cluster that runs two steps at once. The new driver is submitted with its
// marker in `mode: standby`, reports `.ready` without reading the checkpoint, and only then is
// the old driver stopped and the new marker switched to `run`. Proven from outside the action:
// the drivers' activity log (who processed what, when), the S3 requests the action made (through
// the stack's proxy, in the order it made them), the EMR emulator's steps and the invariants.
import { expect, it } from 'vitest'
import type { ActivityEvent } from '../emulator/contract.ts'
import { listAllKeys, readText } from '../emulator/s3-read.ts'
import {
  describeWithStack,
  errorOf,
  expectConverged,
  expectDataSafe,
  freshApp,
  transcript,
  type TestApp,
} from './faults-support.ts'

const STANDBY = { strategy: 'standby', 'stable-for': '2s' } as const

/**
 * A lease of seconds (ROLLOVER_TIMINGS) for a killed run and its re-run: a re-run waits the
 * killed attempt's lease out; the real one lasts a minute.
 */
const SHORT_LEASE = {
  ROLLOVER_TIMINGS: JSON.stringify({ lockLeaseMs: 6_000, lockRenewEveryMs: 2_000 }),
}

const isOf = (stepId: string | undefined, event: ActivityEvent['event']) => (e: ActivityEvent) =>
  e.stepId === stepId && e.event === event

/** The drivers' events of the app's stream, in time order. */
async function activity(t: TestApp): Promise<ActivityEvent[]> {
  return [...(await t.stack.readActivity(t.state))].sort((a, b) => a.t - b.t)
}

/** When the stack's S3 proxy received the action's first request matching, and its answer. */
function firstRequest(t: TestApp, method: string, key: string, status?: number) {
  return t.stack.s3Proxy.requests.find(
    (r) => r.method === method && r.key === key && (status === undefined || r.status === status),
  )
}

/** A pattern matching this one key only (not its `.stopped` or `.progress`). */
const exactly = (key: string) => new RegExp(`^${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)

/** The offsets a driver's committed batches cover, in order: [first start, end] if contiguous. */
function contiguousRange(
  events: readonly ActivityEvent[],
  stepId: string,
): [number, number] | undefined {
  const ends = events.filter(isOf(stepId, 'batch-end'))
  for (let i = 1; i < ends.length; i++) {
    if (ends[i]?.start !== ends[i - 1]?.end) return undefined
  }
  return ends.length > 0 ? [ends[0]?.start ?? -1, ends.at(-1)?.end ?? -1] : undefined
}

describeWithStack(
  'standby strategy end to end',
  (ctx) => {
    it('v1 -> v2 in standby: ready before the old marker is deleted, one driver processing at a time, every offset once', async () => {
      const t = await freshApp(ctx.stack, 'sb-good', { concurrency: 2 })
      const seed = await t.seed('v1')
      const run = await t.run(t.inputs({ ...STANDBY, jar: await t.jar('v2') }))

      expect(run.exitCode, transcript(run)).toBe(0)
      const newStep = run.outputs['step-id'] as string
      expect(newStep).toMatch(/^s-/)
      expect(newStep).not.toBe(seed.stepId)
      expect(run.outputs).toMatchObject({
        result: 'deployed',
        'cluster-id': t.clusterId,
        'previous-step-id': seed.stepId,
        'previous-step-state': 'COMPLETED',
        handoff: 'contiguous',
        'verified-by': 'progress',
      })
      const deploymentId = run.outputs['deployment-id'] as string
      const markerKey = `${t.appKey}/markers/${deploymentId}`
      expect(run.outputs['marker-uri']).toBe(`s3://${t.stack.bucket}/${markerKey}`)
      // The strategy is in the summary and in the deployment record.
      expect(run.summary).toContain('standby (started before the old driver stopped)')
      const record = JSON.parse(
        (await readText(
          t.stack.s3,
          t.stack.bucket,
          `${t.appKey}/deployments/${deploymentId}.json`,
        )) ?? '{}',
      ) as { strategy?: string; result?: string }
      expect(record).toMatchObject({ strategy: 'standby', result: 'deployed' })
      // Its phases in the standby order.
      expect(run.stdout.indexOf(`${newStep} is ready in standby`)).toBeGreaterThan(-1)
      expect(run.stdout.indexOf('Submitted step')).toBeLessThan(
        run.stdout.search(/Deleted \d+ marker\(s\)/),
      )

      // The two steps ran side by side: v2 was submitted while v1 still ran.
      const steps = t.steps()
      expect(steps.map((s) => s.id).sort()).toEqual([seed.stepId, newStep].sort())
      expect(steps.find((s) => s.id === seed.stepId)?.state).toBe('COMPLETED')
      await expectConverged(t, 'v2')

      const events = await activity(t)
      const ready = events.find(isOf(newStep, 'ready'))
      const resume = events.find(isOf(newStep, 'resume'))
      const oldStopRequested = events.find(isOf(seed.stepId, 'stop-requested'))
      const oldStopped = events.find(isOf(seed.stepId, 'stopped'))
      const oldExit = events.find(isOf(seed.stepId, 'app-exit'))
      const oldLastBatch = events.filter(isOf(seed.stepId, 'batch-end')).at(-1)
      const newStart = events.find(isOf(newStep, 'driver-start'))
      const newFirstBatch = events.find(isOf(newStep, 'batch-start'))
      for (const [name, e] of Object.entries({
        ready,
        resume,
        oldStopRequested,
        oldStopped,
        oldExit,
        oldLastBatch,
        newStart,
        newFirstBatch,
      })) {
        expect(e, `${name} in the activity log`).toBeDefined()
      }
      // The standby was up while v1 processed: ready, then v1 asked to stop.
      expect(ready?.t).toBeLessThan(oldStopRequested?.t ?? 0)
      const newAppStart = events.find(isOf(newStep, 'app-start'))
      expect(
        events.filter(
          (e) => isOf(seed.stepId, 'batch-end')(e) && e.t > (newAppStart?.t ?? Infinity),
        ).length,
        'v1 committed batches while v2 started beside it',
      ).toBeGreaterThan(0)
      // The action's requests in the order the proxy received them: `.ready` seen, then the old
      // marker deleted, then the new one switched to run.
      const readySeen = firstRequest(t, 'GET', `${markerKey}.ready`, 200)
      const oldDeleted = firstRequest(t, 'DELETE', seed.markerKey)
      expect(readySeen, 'the action read .ready').toBeDefined()
      expect(oldDeleted, 'the action deleted the old marker').toBeDefined()
      expect(readySeen?.t).toBeLessThanOrEqual(oldDeleted?.t ?? 0)
      expect(ready?.t).toBeLessThanOrEqual(oldDeleted?.t ?? 0)
      // Resumed only once v1 had acknowledged, read the checkpoint only after v1 was gone.
      expect(resume?.t).toBeGreaterThan(oldStopped?.t ?? Infinity)
      expect(newStart?.t).toBeGreaterThanOrEqual(oldExit?.t ?? Infinity)
      expect(newFirstBatch?.t).toBeGreaterThanOrEqual(oldLastBatch?.t ?? Infinity)
      expect(await t.markers()).toEqual([markerKey])
      expect(
        JSON.parse((await readText(t.stack.s3, t.stack.bucket, markerKey)) ?? '{}'),
      ).toMatchObject({ mode: 'run', stepId: newStep })

      const inv = await t.invariants()
      expectDataSafe(inv)
      expect(inv.handovers.map((h) => [h.from.stepId, h.to.stepId])).toEqual([
        [seed.stepId, newStep],
      ])
    }, 60_000)

    it('a bad build in standby never touches the running driver: retired, nothing changed', async () => {
      const t = await freshApp(ctx.stack, 'sb-bad', { concurrency: 2 })
      const seed = await t.seed('v1')
      const jar = await t.jar('v2', 'crash-after-start', { crashAfterMs: 300 })
      const before = (await activity(t)).filter(isOf(seed.stepId, 'batch-end')).length
      const runStart = Date.now()
      const run = await t.run(t.inputs({ ...STANDBY, jar }))
      const runEnd = Date.now()

      expect(run.exitCode, transcript(run)).toBe(1)
      const submitted = /Submitted step (s-\w+)/.exec(run.stdout)?.[1]
      expect(submitted, transcript(run)).toBeDefined()
      // No result: the run failed before one, and it says that nothing changed.
      expect(run.outputs.result).toBe('')
      expect(errorOf(run)).toMatch(
        new RegExp(
          `The new version's standby driver ${submitted} is not ready: its step ended FAILED before it was ready.*simulated crash.*It was retired\\. Nothing changed: the running driver \\(${seed.stepId} \\(RUNNING\\)\\) was never touched\\.`,
          's',
        ),
      )
      // A standby was submitted and retired: not "Nothing was stopped or submitted".
      expect(errorOf(run)).not.toMatch(/Nothing was stopped or submitted/)
      expect(run.outputs['previous-step-id']).toBe('')
      expect(run.summary).toContain(
        `unchanged: nothing was stopped (step \`${seed.stepId}\` runs as before). The new step \`${submitted}\` did not start.`,
      )
      expect(run.summary).toContain(`| New step | \`${submitted}\` — did not start |`)
      expect(run.summary).toContain(
        `| Stopped | nothing: \`${seed.stepId}\` still RUNNING (not touched) |`,
      )

      // The standby's step ended, its marker (and its reports) are gone; v1's marker is as it was.
      const standbyStep = t.steps().find((s) => s.id === submitted)
      expect(standbyStep?.state).toBe('FAILED')
      expect(t.steps().find((s) => s.id === seed.stepId)?.state).toBe('RUNNING')
      expect(await t.markers()).toEqual([seed.markerKey])
      const deploymentId = run.outputs['deployment-id'] as string
      expect(
        await listAllKeys(t.stack.s3, t.stack.bucket, `${t.appKey}/markers/${deploymentId}`),
      ).toEqual([])
      expect(await t.lockBody()).toBeUndefined()

      // v1 was never asked to stop and kept processing through the whole run.
      const events = await activity(t)
      expect(events.filter(isOf(seed.stepId, 'stop-requested'))).toEqual([])
      expect(events.filter(isOf(submitted, 'ready'))).toEqual([])
      expect(events.filter(isOf(submitted, 'driver-start'))).toEqual([])
      expect((await t.liveDrivers()).map((d) => [d.stepId, d.version])).toEqual([
        [seed.stepId, 'v1'],
      ])
      const committed = (await t.invariants()).committedOffset
      await t.until(
        async () => (await t.invariants()).committedOffset > committed,
        5000,
        'v1 to keep committing',
      )
      // No gap in v1's batches: it committed through the whole run, one batch after the other,
      // and it is the only driver that ever processed the stream.
      const after = await activity(t)
      const during = after.filter(
        (e) => isOf(seed.stepId, 'batch-end')(e) && e.t > runStart && e.t < runEnd,
      )
      expect(during.length, 'v1 committed batches while the action ran').toBeGreaterThan(0)
      expect(after.filter(isOf(seed.stepId, 'batch-end')).length).toBeGreaterThan(before)
      expect(contiguousRange(after, seed.stepId)?.[0]).toBe(0)
      expect(after.filter(isOf(seed.stepId, 'app-exit'))).toEqual([])
      const inv = await t.invariants()
      expectDataSafe(inv)
      expect(inv.handovers).toEqual([])
      expect(new Set(inv.batches.map((b) => b.stepId))).toEqual(new Set([seed.stepId]))
    }, 60_000)

    it('a run killed once its standby is ready: the re-run with the same jar adopts it and switches', async () => {
      const t = await freshApp(ctx.stack, 'sb-adopt', { concurrency: 2 })
      const seed = await t.seed('v1')
      const inputs = t.inputs({ ...STANDBY, jar: await t.jar('v2') })
      const runId = t.newRunId()
      // The kill comes as the action logs that the standby is ready; its next request, the old
      // marker's delete, is held at the proxy so that the kill always comes first (and then
      // dropped): the old driver runs on, untouched, beside the standby left waiting.
      const holdDelete = ctx.stack.failS3({
        method: 'DELETE',
        key: exactly(seed.markerKey),
        fault: 'hang',
      })
      const killed = await t.run(inputs, {
        runId,
        attempt: 1,
        extraEnv: SHORT_LEASE,
        signal: { signal: 'SIGKILL', onStdout: /is ready in standby/ },
      })
      holdDelete()
      expect(killed.signal, transcript(killed)).toBe('SIGKILL')
      expect(await t.markers()).toContain(seed.markerKey)
      const standbyStep = /Submitted step (s-\w+)/.exec(killed.stdout)?.[1]
      const killedDeployment = /^Deployment (\S+):/m.exec(killed.stdout)?.[1]
      expect(standbyStep, transcript(killed)).toBeDefined()
      expect(killedDeployment).toBeDefined()
      // Left waiting: RUNNING, ready, nothing read.
      expect(t.steps().find((s) => s.id === standbyStep)?.state).toBe('RUNNING')
      const waiting = await activity(t)
      expect(waiting.filter(isOf(standbyStep, 'ready'))).toHaveLength(1)
      expect(waiting.filter(isOf(standbyStep, 'driver-start'))).toEqual([])

      const rerun = await t.run(inputs, { runId, attempt: 2, extraEnv: SHORT_LEASE })
      expect(rerun.exitCode, transcript(rerun)).toBe(0)
      expect(rerun.stdout).toMatch(
        new RegExp(`Adopting ${standbyStep}.*\\(deployment ${killedDeployment}\\), left waiting`),
      )
      expect(rerun.stdout).not.toMatch(/Submitted step/)
      expect(rerun.outputs).toMatchObject({
        result: 'deployed',
        'step-id': standbyStep,
        'deployment-id': killedDeployment,
        'previous-step-id': seed.stepId,
        handoff: 'contiguous',
      })
      // Nothing submitted twice: the seed and the one standby.
      expect(
        t
          .steps()
          .map((s) => s.id)
          .sort(),
      ).toEqual([seed.stepId, standbyStep].sort())
      await expectConverged(t, 'v2')
      const events = await activity(t)
      expect(events.filter(isOf(standbyStep, 'resume'))).toHaveLength(1)
      const inv = await t.invariants()
      expect(inv.handovers.map((h) => [h.from.stepId, h.to.stepId])).toEqual([
        [seed.stepId, standbyStep],
      ])
    }, 90_000)
  },
  // Each driver takes a moment to start (as Spark's does): the standby has a real wait.
  { timings: { killGraceMs: 1000, driverStartDelayMs: [1500, 1500] } },
)
