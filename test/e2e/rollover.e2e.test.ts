// End to end: the bundled action (dist/index.js, run as the GitHub runner runs it) against moto's
// S3 and the EMR emulator, whose steps are real driver processes streaming a known source. Every
// test proves the data-safety contract from three witnesses (activity log, outputs, checkpoint):
// every record processed, none twice, never two drivers at once, and exactly one driver and one
// marker left behind, and checks that the outputs and the job summary say what happened.
import { createHash } from 'node:crypto'
import { appIdentity } from '../../src/contract/identity.ts'
import { readFile } from 'node:fs/promises'
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { markerKeyOfReport } from '../../src/contract/reports.ts'
import { buildSparkStep } from '../../src/contract/step.ts'
import { MOTO_MISSING, motoAvailable } from '../support/moto.ts'
import type { ActivityEvent, DriverBehavior, SourceConfig } from '../emulator/contract.ts'
import type { Invariants } from '../emulator/invariants.ts'
import type { ActionRun } from '../emulator/run-action.ts'
import { startStack, type JarOptions, type Stack } from '../emulator/stack.ts'

// Outside CI a missing moto_server skips the suite and says why; in CI the suite runs and fails.
const skip = !motoAvailable() && process.env.CI !== 'true'
if (skip) console.warn(`rollover e2e suite skipped: ${MOTO_MISSING} (with CI=true it fails)`)

const BATCH = 10
/** Small timeouts so that the suite stays fast; every wait below is bounded. */
const FAST = {
  'stable-for': '2s',
  'start-timeout': '30s',
  'stop-timeout': '20s',
  'lock-timeout': '10s',
} as const

interface App {
  readonly name: string
  readonly state: string
  readonly clusterId: string
  /** s3://bucket/rollover/<app>/markers/ */
  readonly markersKey: string
  inputs(overrides?: Readonly<Record<string, string>>): Record<string, string>
}

interface Seeded {
  readonly stepId: string
  readonly markerKey: string
  readonly markerUri: string
}

/** Per test: real processes on 2 shared cores; the slowest test takes ~15 s alone. */
const TIMEOUT = 60_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(skip)(`rollover end to end${skip ? ` [skipped: ${MOTO_MISSING}]` : ''}`, () => {
  let stack: Stack
  let seq = 0

  beforeAll(async () => {
    // A short kill grace: the kill test does not need to wait YARN's 2 s before SIGKILL.
    stack = await startStack({ timings: { killGraceMs: 1000 } })
  })
  afterAll(async () => {
    await stack?.stop()
  })
  afterEach(async () => {
    if (!stack) return
    await stack.reset()
  })

  // ---------------------------------------------------------------- helpers

  /** A fresh app, stream and cluster per test: steps cannot be deleted, and queues must not mix. */
  async function fresh(slug: string, source: Partial<SourceConfig> = {}): Promise<App> {
    seq += 1
    const name = `e2e-${seq}-${slug}`
    const state = await stack.newStream(name, { ratePerSec: 50, ...source })
    const cluster = stack.emr.state.addCluster({ name: `cluster-${name}`, stepConcurrencyLevel: 1 })
    return {
      name,
      state,
      clusterId: cluster.id,
      markersKey: `rollover/${name}/markers/`,
      inputs: (overrides = {}) =>
        stack.inputs({
          'app-name': name,
          'cluster-id': cluster.id,
          'app-args': `--state\n${state}`,
          ...FAST,
          ...overrides,
        }),
    }
  }

  /** A driver started without the action (an earlier deploy): marker first, then the step. */
  async function seed(app: App, jarUri: string): Promise<Seeded> {
    const deploymentId = `seed-${seq}`
    const markerKey = `${app.markersKey}${deploymentId}`
    const markerUri = `s3://${stack.bucket}/${markerKey}`
    const spec = buildSparkStep({
      app: appIdentity({ bucket: stack.bucket, key: 'rollover' }, app.name),
      deploymentId,
      mainClass: stack.mainClass,
      sparkSubmitArgs: [],
      appArgs: ['--state', app.state],
      jarUri,
      markerUri,
    })
    const body = (stepId?: string) =>
      JSON.stringify({
        version: 1,
        app: app.name,
        deploymentId,
        clusterId: app.clusterId,
        jar: jarUri,
        createdAt: new Date().toISOString(),
        ...(stepId ? { stepId } : {}),
      })
    await put(markerKey, body())
    const step = stack.emr.state.addStep(app.clusterId, {
      name: spec.name,
      jar: spec.jar,
      args: spec.args,
      actionOnFailure: spec.actionOnFailure,
      properties: {},
    })
    await put(markerKey, body(step.id))
    await waitForBatches(app, (b) => b.filter((e) => e.stepId === step.id).length >= 2)
    return { stepId: step.id, markerKey, markerUri }
  }

  const jar = (version: string, behavior: DriverBehavior = 'ok', options: JarOptions = {}) =>
    stack.makeJar(version, behavior, { upload: true, ...options })

  const put = (key: string, body: string) =>
    stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: body }))

  async function keys(prefix: string): Promise<string[]> {
    const out = await stack.s3.send(
      new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: prefix }),
    )
    return (out.Contents ?? []).map((o) => o.Key as string).sort()
  }

  async function exists(key: string): Promise<boolean> {
    try {
      await stack.s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: key }))
      return true
    } catch {
      return false
    }
  }

  async function text(key: string): Promise<string> {
    const out = await stack.s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: key }))
    return (await out.Body?.transformToString()) ?? ''
  }

  /** The marker objects of the app (the driver's reports, e.g. `.stopped`, are not markers). */
  async function markers(app: App): Promise<string[]> {
    return (await keys(app.markersKey))
      .filter((k) => markerKeyOfReport(k) === undefined)
      .map((k) => `s3://${stack.bucket}/${k}`)
  }

  async function until<T>(
    check: () => Promise<T | undefined | false>,
    what: string,
    ms = 15_000,
  ): Promise<T> {
    const deadline = Date.now() + ms
    for (;;) {
      const value = await check()
      if (value !== undefined && value !== false) return value
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
      await sleep(50)
    }
  }

  async function waitForBatches(
    app: App,
    check: (batchEnds: ActivityEvent[]) => boolean,
    what = 'batches',
  ): Promise<void> {
    await until(async () => {
      const events = await stack.readActivity(app.state)
      return check(events.filter((e) => e.event === 'batch-end'))
    }, `${app.name}: ${what}`)
  }

  /** Steps of the cluster that are not over: what runs or will run. */
  const activeSteps = (app: App) =>
    stack.emr
      .steps(app.clusterId)
      .filter((s) => ['PENDING', 'RUNNING', 'CANCEL_PENDING'].includes(s.state))

  /** The version the live driver of a step announced at start. */
  async function versionOf(app: App, stepId: string): Promise<string | undefined> {
    const events = await stack.readActivity(app.state)
    return events.find((e) => e.event === 'driver-start' && e.stepId === stepId)?.version
  }

  function expectSucceeded(run: ActionRun): void {
    if (run.exitCode !== 0) {
      throw new Error(
        `action exited ${run.exitCode}:\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`,
      )
    }
    expect(run.timedOut).toBe(false)
  }

  /**
   * After a successful run: exactly one step of the app runs, with `version`, under the run's
   * step id; exactly one marker exists, the run's; the lock is released.
   */
  async function expectOneDriver(app: App, run: ActionRun, version: string): Promise<void> {
    const stepId = run.outputs['step-id'] as string
    expect(stepId).toMatch(/^s-/)
    expect(activeSteps(app).map((s) => s.id)).toEqual([stepId])
    expect(stack.emr.step(stepId)?.state).toBe('RUNNING')
    expect(stack.emr.step(stepId)?.args).toContain(run.outputs['jar-uri'])
    const live = stack.emr.liveApps().filter((a) => a.state === app.state)
    expect(live.map((a) => a.stepId)).toEqual([stepId])
    await until(async () => (await versionOf(app, stepId)) !== undefined, 'driver-start')
    expect(await versionOf(app, stepId)).toBe(version)
    expect(await markers(app)).toEqual([run.outputs['marker-uri']])
    const marker = JSON.parse(await text(app.markersKey + run.outputs['deployment-id'])) as {
      stepId?: string
    }
    expect(marker.stepId).toBe(stepId)
    expect(await exists(`rollover/${app.name}/lock`)).toBe(false)
  }

  /**
   * Lets the new driver work off the backlog the rollover built up, then stops it the way the
   * contract says (marker deleted, drain, exit 0), so the verdict is taken on a quiet stream.
   */
  async function drainAndVerdict(app: App): Promise<Invariants> {
    const before = await stack.checkInvariants({ state: app.state })
    const target = Math.floor(before.sourceOffset / BATCH) * BATCH
    await until(
      async () => (await stack.checkInvariants({ state: app.state })).committedOffset >= target,
      `${app.name} to catch up to offset ${target}`,
      // A backlog of a long (throttled) rollover takes a while on a loaded machine.
      45_000,
    )
    for (const key of await keys(app.markersKey)) {
      await stack.s3.send(new DeleteObjectCommand({ Bucket: stack.bucket, Key: key }))
    }
    await stack.emr.waitFor(
      () => stack.emr.liveApps().filter((a) => a.state === app.state).length === 0,
      10_000,
      `${app.name}'s driver to stop`,
    )
    const verdict = await stack.checkInvariants({ state: app.state })
    expect(verdict.committedOffset).toBeGreaterThanOrEqual(target)
    return verdict
  }

  /**
   * Every record processed exactly once, in order: the completed batches tile [0, committed)
   * without gap or repeat, nothing lost or corrupt, and no two drivers ever alive at once.
   */
  function expectExactlyOnce(verdict: Invariants, versions: readonly string[]): void {
    expect(verdict.lostOffsets).toEqual([])
    expect(verdict.corruptBatches).toEqual([])
    expect(verdict.duplicateBatches).toEqual([])
    expect(verdict.overlaps).toEqual([])
    expect(verdict.driverOverlaps).toEqual([])
    expect(verdict.ok).toBe(true)
    const done = verdict.batches.filter((b) => b.completed).sort((a, b) => a.start - b.start)
    expect(done.length).toBeGreaterThan(0)
    let next = 0
    for (const b of done) {
      expect(b.start, `batch [${b.start}, ${b.end}) of ${b.version}`).toBe(next)
      next = b.end
    }
    expect(next).toBe(verdict.committedOffset)
    // One version after the other, in the order deployed: a clean handover, never interleaved.
    const order = done.map((b) => b.version).filter((v, i, all) => i === 0 || all[i - 1] !== v)
    expect(order).toEqual(versions)
    expect(verdict.handovers.length).toBeGreaterThanOrEqual(versions.length - 1)
    for (const h of verdict.handovers) expect(h.gapMs).toBeGreaterThanOrEqual(0)
  }

  const seconds = /^\d+(\.\d+)?$/

  // ---------------------------------------------------------------- tests

  it(
    'first deploy: submits v1 after writing its marker, verifies it, says so',
    async () => {
      const app = await fresh('first')
      const v1 = await jar('v1')
      stack.emr.resetCounts()
      const run = await stack.runAction(app.inputs({ jar: v1 }))
      expectSucceeded(run)

      expect(run.outputs).toMatchObject({
        result: 'first-deploy',
        'cluster-id': app.clusterId,
        'previous-step-id': '',
        'previous-step-state': '',
        'jar-uri': v1,
      })
      expect(run.outputs['marker-uri']).toBe(
        `s3://${stack.bucket}/${app.markersKey}${run.outputs['deployment-id']}`,
      )
      expect(run.outputs['stop-seconds']).toMatch(seconds)
      expect(run.outputs['downtime-seconds']).toMatch(seconds)
      await expectOneDriver(app, run, 'v1')
      expect(stack.emr.counts.AddJobFlowSteps).toBe(1)
      expect(stack.emr.counts.CancelSteps ?? 0).toBe(0)

      expect(run.summary).toContain(`First deploy: \`${app.name}\``)
      expect(run.summary).toContain('nothing was running')
      expect(run.summary).toContain(run.outputs['step-id'])
      expect(run.summary).toMatch(/\| Verify \|.*\| ok \|/)
      const current = JSON.parse(await text(`rollover/${app.name}/current.json`)) as object
      expect(JSON.stringify(current)).toContain(run.outputs['step-id'])

      await waitForBatches(app, (b) => b.length >= 3)
      expectExactlyOnce(await drainAndVerdict(app), ['v1'])
    },
    TIMEOUT,
  )

  it(
    'rolls v1 over to v2: graceful stop, one driver at a time, no record lost or repeated',
    async () => {
      const app = await fresh('rollover')
      const first = await stack.runAction(app.inputs({ jar: await jar('v1') }))
      expectSucceeded(first)
      await waitForBatches(app, (b) => b.length >= 3, 'v1 at work')

      const v2 = await jar('v2')
      stack.emr.resetCounts()
      const run = await stack.runAction(app.inputs({ jar: v2 }))
      expectSucceeded(run)

      expect(run.outputs).toMatchObject({
        result: 'deployed',
        'cluster-id': app.clusterId,
        'previous-step-id': first.outputs['step-id'],
        'previous-step-state': 'COMPLETED',
        'jar-uri': v2,
      })
      expect(Number(run.outputs['stop-seconds'])).toBeLessThan(10)
      expect(Number(run.outputs['downtime-seconds'])).toBeLessThan(10)
      await expectOneDriver(app, run, 'v2')
      // The old driver left by itself (exit 0 after its drain), acknowledged, and was not killed.
      const old = stack.emr.apps().find((a) => a.stepId === first.outputs['step-id'])
      expect(old).toMatchObject({ alive: false, exitCode: 0 })
      expect(stack.emr.step(first.outputs['step-id'] as string)?.state).toBe('COMPLETED')
      expect(stack.emr.counts).toMatchObject({ AddJobFlowSteps: 1 })
      expect(stack.emr.counts.CancelSteps ?? 0).toBe(0)
      // The acknowledgement of the stopped driver was cleaned up.
      expect((await keys(app.markersKey)).filter((k) => k.endsWith('.stopped'))).toEqual([])

      expect(run.summary).toContain(`Rolled over: \`${app.name}\``)
      expect(run.summary).toContain(`\`${first.outputs['step-id']}\` COMPLETED`)
      expect(run.summary).toContain(`\`${run.outputs['step-id']}\` — running`)
      expect(run.summary).toContain(`**Downtime ${run.outputs['downtime-seconds']} s**`)
      for (const phase of ['Preflight', 'Lock', 'Stop', 'Submit', 'Verify']) {
        expect(run.summary).toMatch(new RegExp(`\\| ${phase} \\|.*\\| ok \\|`))
      }
      const record = JSON.parse(
        await text(`rollover/${app.name}/deployments/${run.outputs['deployment-id']}.json`),
      ) as { status: string; result: string }
      expect(record).toMatchObject({ status: 'succeeded', result: 'deployed' })

      await waitForBatches(
        app,
        (b) => b.filter((e) => e.version === 'v2').length >= 3,
        'v2 at work',
      )
      const verdict = await drainAndVerdict(app)
      expectExactlyOnce(verdict, ['v1', 'v2'])
      expect(verdict.handovers).toHaveLength(1)
    },
    TIMEOUT,
  )

  it(
    'rolls over under EMR throttling (30% ThrottlingException and EMR’s real rate limits)',
    async () => {
      // 20 records/s, not 50: the emulated driver commits fewer than 10 batches of 10 a second
      // (a 100 ms batch plus two S3 writes), so at 50/s a loaded machine worked off the backlog
      // of a long throttled rollover at a batch or two a second and outlasted the wait (CI).
      const app = await fresh('throttled', { ratePerSec: 20 })
      const v1 = await seed(app, await jar('v1'))
      stack.emr.resetCounts()
      // Random throttling on every call, EMR's real token buckets, and for certain a throttled
      // first answer to the calls that matter most (an AddJobFlowSteps retry must not add twice).
      stack.emr.setFaults({
        throttleRate: 0.3,
        realRateLimits: true,
        failNext: {
          DescribeStep: { count: 2, kind: 'throttle' },
          AddJobFlowSteps: { count: 1, kind: 'throttle' },
        },
      })
      const run = await stack.runAction(app.inputs({ jar: await jar('v2') }), {
        timeoutMs: 150_000,
      })
      expectSucceeded(run)
      const throttled = Object.values(stack.emr.throttled).reduce((a, b) => a + b, 0)
      expect(throttled).toBeGreaterThan(0)
      expect(stack.emr.throttled.AddJobFlowSteps).toBeGreaterThanOrEqual(1)
      stack.emr.setFaults({ throttleRate: 0, realRateLimits: false })

      expect(run.outputs).toMatchObject({
        result: 'deployed',
        'previous-step-id': v1.stepId,
        'previous-step-state': 'COMPLETED',
      })
      await expectOneDriver(app, run, 'v2')
      // Throttled AddJobFlowSteps attempts were retried, never duplicated.
      expect(stack.emr.steps(app.clusterId)).toHaveLength(2)
      expect(await exists(v1.markerKey)).toBe(false)
      await waitForBatches(app, (b) => b.filter((e) => e.version === 'v2').length >= 2)
      expectExactlyOnce(await drainAndVerdict(app), ['v1', 'v2'])
    },
    // Slow by design: each throttle halves the run's rate of that EMR call (PacedEmr).
    3 * 60_000,
  )

  it(
    'stuck driver, on-stop-timeout fail: fails, submits nothing, the old driver keeps its marker',
    async () => {
      const app = await fresh('stuck-fail')
      const v1 = await seed(app, await jar('v1', 'ignore-marker'))
      const markerBefore = await text(v1.markerKey)
      stack.emr.resetCounts()
      const run = await stack.runAction(
        app.inputs({ jar: await jar('v2'), 'stop-timeout': '3s', 'on-stop-timeout': 'fail' }),
      )

      expect(run.exitCode).toBe(1)
      const error = /^::error::(.*)$/m.exec(run.stdout)?.[1] ?? ''
      expect(error).toContain('The running driver is not confirmed gone within stop-timeout')
      expect(error).toContain(`${v1.stepId} (RUNNING): its step is RUNNING`)
      expect(error).toContain('Nothing was submitted')
      expect(error).toContain(`marker was written back (${v1.markerUri})`)
      expect(error).toContain('on-stop-timeout: kill')
      expect(run.outputs).toMatchObject({ result: '', 'step-id': '', 'cluster-id': app.clusterId })
      expect(run.summary).toContain(`Rollover failed: \`${app.name}\``)
      expect(run.summary).toContain(v1.stepId)
      expect(run.summary).toMatch(/\| Stop \|.*\| failed \|/)

      // Nothing changed on EMR; the old driver still runs, with its marker back in place.
      expect(stack.emr.counts.AddJobFlowSteps ?? 0).toBe(0)
      expect(stack.emr.counts.CancelSteps ?? 0).toBe(0)
      expect(stack.emr.steps(app.clusterId).map((s) => [s.id, s.state])).toEqual([
        [v1.stepId, 'RUNNING'],
      ])
      expect(stack.emr.liveApps().map((a) => a.stepId)).toEqual([v1.stepId])
      expect(await markers(app)).toEqual([v1.markerUri])
      expect(await text(v1.markerKey)).toBe(markerBefore)
      expect(await exists(`rollover/${app.name}/lock`)).toBe(false)
      const record = JSON.parse(
        await text(`rollover/${app.name}/deployments/${run.outputs['deployment-id']}.json`),
      ) as { status: string }
      expect(record.status).toBe('failed')

      // ...and keeps processing.
      const after = Date.now()
      await waitForBatches(app, (b) => b.filter((e) => e.t > after).length >= 2, 'v1 goes on')
      const verdict = await stack.checkInvariants({ state: app.state })
      expect(verdict).toMatchObject({ ok: true, lostOffsets: [], overlaps: [], driverOverlaps: [] })
      expect(verdict.handovers).toEqual([])
    },
    TIMEOUT,
  )

  it(
    'stuck driver, on-stop-timeout kill: cancels, kills by YARN tag, confirms, then submits',
    async () => {
      const app = await fresh('stuck-kill')
      const v1 = await seed(app, await jar('v1', 'ignore-marker'))
      stack.emr.resetCounts()
      const run = await stack.runAction(
        app.inputs({ jar: await jar('v2'), 'stop-timeout': '2s', 'on-stop-timeout': 'kill' }),
      )
      expectSucceeded(run)

      expect(run.outputs).toMatchObject({
        result: 'deployed',
        'previous-step-id': v1.stepId,
        'previous-step-state': 'KILLED',
      })
      await expectOneDriver(app, run, 'v2')
      const steps = stack.emr.steps(app.clusterId)
      const kill = steps.find((s) => s.args[0] === 'bash')
      expect(kill?.state).toBe('COMPLETED')
      expect(stack.emr.step(v1.stepId)?.state).toBe('CANCELLED')
      const old = stack.emr.apps().find((a) => a.stepId === v1.stepId)
      expect(old?.alive).toBe(false)
      expect(old?.exitCode === 143 || old?.signal === 'SIGKILL').toBe(true)
      // The new step was submitted only after the old driver was gone.
      const submitted = stack.emr.step(run.outputs['step-id'] as string)?.createdAt ?? 0
      expect(old?.endedAt).toBeLessThanOrEqual(submitted)
      expect(steps.map((s) => s.id)).toEqual([run.outputs['step-id'], kill?.id, v1.stepId])
      expect(stack.emr.counts).toMatchObject({ CancelSteps: 1, AddJobFlowSteps: 2 })

      expect(run.stdout).toContain('Killing through YARN')
      expect(run.summary).toContain(`\`${v1.stepId}\` KILLED (forced: YARN kill)`)

      await waitForBatches(app, (b) => b.filter((e) => e.version === 'v2').length >= 2)
      // Killed mid-batch: that batch was not committed and is redone by v2, so still exactly once.
      expectExactlyOnce(await drainAndVerdict(app), ['v1', 'v2'])
    },
    TIMEOUT,
  )

  it(
    'local jar: staged content-addressed to S3 before the stop, and not uploaded again',
    async () => {
      const app = await fresh('local-jar')
      const local = await stack.makeJar('v1', 'ok')
      const bytes = await readFile(local)
      const sha = createHash('sha256').update(bytes).digest('hex')
      const staged = `rollover/artifacts/${app.name}/${sha}.jar`

      const run = await stack.runAction(app.inputs({ jar: local }))
      expectSucceeded(run)
      expect(run.outputs).toMatchObject({
        result: 'first-deploy',
        'jar-uri': `s3://${stack.bucket}/${staged}`,
      })
      const object = await stack.s3.send(
        new GetObjectCommand({ Bucket: stack.bucket, Key: staged }),
      )
      expect(Buffer.from((await object.Body?.transformToByteArray()) ?? [])).toEqual(bytes)
      expect(run.summary).toContain('(uploaded)')
      expect(run.summary).toMatch(/\| Stage \|.*\| ok \|/)
      await expectOneDriver(app, run, 'v1')
      await waitForBatches(app, (b) => b.length >= 2)

      // The same jar again (a re-run): already in S3, so no upload; a rollover to the same bytes.
      const again = await stack.runAction(app.inputs({ jar: local }))
      expectSucceeded(again)
      expect(again.outputs).toMatchObject({
        result: 'deployed',
        'jar-uri': run.outputs['jar-uri'],
        'previous-step-id': run.outputs['step-id'],
      })
      expect(again.summary).not.toContain('(uploaded)')
      expect(again.summary).toMatch(/\| Stage \|.*\| skipped \|/)
      await expectOneDriver(app, again, 'v1')
      expect(await keys(`rollover/artifacts/${app.name}/`)).toEqual([staged])
      await waitForBatches(
        app,
        (b) => b.filter((e) => e.stepId === again.outputs['step-id']).length >= 2,
      )
      const verdict = await drainAndVerdict(app)
      expectExactlyOnce(verdict, ['v1'])
      expect(verdict.handovers).toHaveLength(1)
    },
    TIMEOUT,
  )

  it(
    'dry run: prints the plan, adds no step and writes nothing to S3',
    async () => {
      const app = await fresh('dry-run')
      const v1 = await seed(app, await jar('v1'))
      const local = await stack.makeJar('v2', 'ok')
      const snapshot = async () => {
        const all: string[] = []
        let token: string | undefined
        do {
          const out = await stack.s3.send(
            new ListObjectsV2Command({ Bucket: stack.bucket, ContinuationToken: token }),
          )
          for (const o of out.Contents ?? []) {
            // The running driver's own stream output and progress reports are not the action's
            // doing (the action never writes a `.progress`).
            if (!o.Key?.startsWith(`streams/${app.name}/`) && !o.Key?.endsWith('.progress')) {
              all.push(`${o.Key} ${o.ETag} ${o.LastModified?.toISOString()}`)
            }
          }
          token = out.IsTruncated ? out.NextContinuationToken : undefined
        } while (token)
        return all.sort()
      }
      const before = await snapshot()
      stack.emr.resetCounts()
      const run = await stack.runAction(app.inputs({ jar: local, 'dry-run': 'true' }))
      expectSucceeded(run)

      expect(run.outputs.result).toBe('planned')
      expect(run.outputs['step-id']).toBe('')
      expect(run.outputs['marker-uri']).toMatch(
        new RegExp(`^s3://${stack.bucket}/${app.markersKey}`),
      )
      // Only reads on EMR: no step added, cancelled or modified.
      const counts = { ...stack.emr.counts }
      // The dry run observes the world as a run would (the ledger's steps are described).
      expect(Object.keys(counts).sort()).toEqual(['DescribeCluster', 'DescribeStep', 'ListSteps'])
      expect(stack.emr.steps(app.clusterId).map((s) => s.id)).toEqual([v1.stepId])
      // Nothing written to S3: no lock, no marker, no record, no staged jar.
      expect(await snapshot()).toEqual(before)
      expect(await markers(app)).toEqual([v1.markerUri])
      expect(stack.emr.liveApps().map((a) => a.stepId)).toEqual([v1.stepId])

      expect(run.summary).toContain(`Dry run: plan: \`${app.name}\``)
      expect(run.summary).toContain(
        `Would stop: step ${v1.stepId} (RUNNING), marker ${v1.markerUri}`,
      )
      expect(run.summary).toContain(run.outputs['marker-uri'])
      expect(run.summary).toContain('"spark-submit"')
      expect(run.stdout).toContain(`upload ${local}`)
    },
    TIMEOUT,
  )
})
