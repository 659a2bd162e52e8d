// Shared by the fault e2e suites (test/e2e/faults*.e2e.test.ts): one local stack per file, and per
// test a fresh cluster, app name and stream, so that no test sees another's steps, markers, lock
// or drivers. Every helper reads the real state (emulator, S3, activity log): nothing is mocked.
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { appIdentity } from '../../src/contract/identity.ts'
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest'
import { markerKeyOfReport } from '../../src/contract/reports.ts'
import { buildSparkStep } from '../../src/contract/step.ts'
import type { DriverBehavior } from '../emulator/contract.ts'
import type { Invariants } from '../emulator/invariants.ts'
import type { ActionRun, RunActionOptions } from '../emulator/run-action.ts'
import { listAllKeys, readText } from '../emulator/s3-read.ts'
import { startStack, type JarOptions, type Stack, type StackOptions } from '../emulator/stack.ts'
import type { FaultKind, StepView } from '../emulator/emr-server.ts'
import { MOTO_MISSING, motoAvailable } from '../support/moto.ts'

/** Outside CI a missing moto_server skips with the reason in the title; in CI the suite fails. */
export const skipE2E = !motoAvailable() && process.env.CI !== 'true'

/**
 * `describe` with one stack for the whole file, started in beforeAll and stopped in afterAll.
 * After each test every driver still alive on the test's clusters is SIGKILLed and all faults
 * are cleared, so a failing test cannot slow down or poison the next one.
 */
export function describeWithStack(
  name: string,
  body: (ctx: { readonly stack: Stack }) => void,
  options: StackOptions = {},
): void {
  if (skipE2E) console.warn(`[${name}] skipped: ${MOTO_MISSING} (with CI=true this fails instead)`)
  describe.skipIf(skipE2E)(`${name}${skipE2E ? ` [skipped: ${MOTO_MISSING}]` : ''}`, () => {
    let stack: Stack | undefined
    const ctx = {
      get stack(): Stack {
        if (!stack) throw new Error('the stack is not running (use it inside tests only)')
        return stack
      },
    }
    beforeAll(async () => {
      stack = await startStack({ timings: { killGraceMs: 1000 }, ...options })
    })
    afterAll(async () => {
      await stack?.stop()
    })
    afterEach(async () => {
      if (!stack) return
      await stack.reset()
    })
    body(ctx)
  })
}

let seq = 0

/** Fast but realistic timings: short watch window, bounded waits everywhere. */
export const FAST: Readonly<Record<string, string>> = {
  'stable-for': '1s',
  'start-timeout': '30s',
  'stop-timeout': '30s',
  'lock-timeout': '30s',
}

export interface TestApp {
  readonly stack: Stack
  readonly app: string
  readonly clusterId: string
  /** s3://bucket/streams/<app>: the stream this app's drivers process. */
  readonly state: string
  /** Key prefix of the app under the marker prefix: rollover/<app>. */
  readonly appKey: string
  /** A fresh GITHUB_RUN_ID for this test (pass it to `run` as runId). */
  newRunId(): string
  inputs(overrides?: Readonly<Record<string, string>>): Record<string, string>
  /** Runs the bundled action as a workflow run (runId, attempt), with the stack's endpoints. */
  run(
    inputs: Readonly<Record<string, string>>,
    options?: RunActionOptions & { runId?: string; attempt?: number },
  ): Promise<ActionRun>
  jar(version: string, behavior?: DriverBehavior, options?: JarOptions): Promise<string>
  /**
   * Starts `version` as a deployment made earlier by the action (its marker body, step name, tags
   * and args), waits until it is RUNNING and has committed a few batches.
   */
  seed(
    version: string,
    behavior?: DriverBehavior,
    options?: JarOptions,
  ): Promise<{ stepId: string; markerKey: string }>
  /** Marker keys of the app (acknowledgements excluded). */
  markers(): Promise<string[]>
  lockBody(): Promise<string | undefined>
  steps(): StepView[]
  /** Live drivers of this app's stream with the jar version each runs. */
  liveDrivers(): Promise<Array<{ stepId: string; pid: number; version: string | undefined }>>
  invariants(): Promise<Invariants>
  /** Waits until `check` holds (polling every 100 ms) or fails with `what`. */
  until(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void>
  deleteMarker(key: string): Promise<void>
  /** Writes any object of the bucket (markers, the lock, current.json). */
  putObject(key: string, body: string): Promise<void>
}

export async function freshApp(
  stack: Stack,
  name: string,
  options: { concurrency?: number } = {},
): Promise<TestApp> {
  seq += 1
  const app = `${name}-${seq}`
  const cluster = stack.emr.state.addCluster({
    name: `c-${app}`,
    stepConcurrencyLevel: options.concurrency ?? 1,
  })
  const clusterId = cluster.id
  const state = await stack.newStream(app)
  const appKey = `rollover/${app}`
  let runSeq = 0

  const t: TestApp = {
    stack,
    app,
    clusterId,
    state,
    appKey,
    newRunId() {
      runSeq += 1
      return String(700_000_000 + process.pid * 1000 + seq * 20 + runSeq)
    },
    inputs(overrides = {}) {
      return stack.inputs({
        'app-name': app,
        'cluster-id': clusterId,
        'app-args': `--state\n${state}`,
        // A fresh artifact prefix: the local jar is staged (uploaded) by the first run of each test.
        'artifact-prefix': `s3://${stack.bucket}/artifacts/${app}`,
        ...FAST,
        ...overrides,
      })
    },
    run(inputs, runOptions = {}) {
      const { runId, attempt, ...rest } = runOptions
      return stack.runAction(inputs, {
        timeoutMs: 90_000,
        ...rest,
        extraEnv: {
          GITHUB_RUN_ID: runId ?? t.newRunId(),
          GITHUB_RUN_ATTEMPT: String(attempt ?? 1),
          ...rest.extraEnv,
        },
      })
    },
    jar(version, behavior = 'ok', jarOptions = {}) {
      return stack.makeJar(version, behavior, jarOptions)
    },
    async seed(version, behavior = 'ok', jarOptions = {}) {
      const jarUri = await stack.makeJar(version, behavior, { ...jarOptions, upload: true })
      const deploymentId = `seed-${app}`
      const markerKey = `${appKey}/markers/${deploymentId}`
      const markerUri = `s3://${stack.bucket}/${markerKey}`
      const body = {
        version: 1,
        app,
        deploymentId,
        clusterId,
        jar: jarUri,
        createdAt: new Date().toISOString(),
      }
      await t.putObject(markerKey, JSON.stringify(body))
      const spec = buildSparkStep({
        app: appIdentity({ bucket: stack.bucket, key: 'rollover' }, app),
        deploymentId,
        mainClass: stack.mainClass,
        sparkSubmitArgs: [],
        appArgs: ['--state', state],
        jarUri,
        markerUri,
      })
      const step = stack.emr.state.addStep(clusterId, {
        name: spec.name,
        jar: spec.jar,
        args: spec.args,
        actionOnFailure: spec.actionOnFailure,
        properties: {},
      })
      await t.putObject(markerKey, JSON.stringify({ ...body, stepId: step.id }))
      // What the action records after a verified deploy (records.ts writeCurrent).
      const current = { version: 1, app, clusterId, deploymentId, stepId: step.id, jarUri }
      await t.putObject(`${appKey}/current.json`, JSON.stringify({ ...current, markerUri }))
      await t.until(
        async () =>
          (await stack.readActivity(state)).filter(
            (e) => e.event === 'batch-end' && e.stepId === step.id,
          ).length >= 2,
        15_000,
        `seeded ${version} to commit two batches`,
      )
      return { stepId: step.id, markerKey }
    },
    async markers() {
      const keys = await listAllKeys(stack.s3, stack.bucket, `${appKey}/markers/`)
      // The driver's reports (.stopped, .progress, .ready) are not markers.
      return keys.filter((k) => markerKeyOfReport(k) === undefined)
    },
    lockBody() {
      return readText(stack.s3, stack.bucket, `${appKey}/lock`)
    },
    steps() {
      return stack.emr.steps(clusterId)
    },
    async liveDrivers() {
      const events = await stack.readActivity(state)
      const versionOf = new Map(
        events.filter((e) => e.event === 'driver-start').map((e) => [e.pid, e.version]),
      )
      return stack.emr
        .liveApps()
        .filter((a) => a.clusterId === clusterId && a.state === state)
        .map((a) => ({ stepId: a.stepId, pid: a.pid, version: versionOf.get(a.pid) }))
    },
    invariants() {
      return stack.checkInvariants({ state })
    },
    async until(check, ms, what) {
      const deadline = Date.now() + ms
      for (;;) {
        if (await check()) return
        if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    },
    async deleteMarker(key) {
      await stack.s3.send(new DeleteObjectCommand({ Bucket: stack.bucket, Key: key }))
    },
    async putObject(key, body) {
      await stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: body }))
    },
  }
  return t
}

/** What a failed run printed, for assertion messages. */
export function transcript(run: ActionRun): string {
  return `exit ${run.exitCode} signal ${run.signal}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`
}

/** The `::error::` annotation core.setFailed printed (the run's final message). */
export function errorOf(run: ActionRun): string {
  const lines = run.stdout.split('\n').filter((l) => l.startsWith('::error'))
  return lines
    .map((l) => l.replace(/^::error[^:]*::/, ''))
    .join('\n')
    .replace(/%0A/g, '\n')
    .replace(/%25/g, '%')
}

/** No record lost or corrupted, no batch redone, never two drivers of the stream at once. */
export function expectDataSafe(inv: Invariants): void {
  expect(inv.lostOffsets, 'lost offsets').toEqual([])
  expect(inv.corruptBatches, 'corrupt batches').toEqual([])
  expect(inv.duplicateBatches, 'batches committed twice').toEqual([])
  expect(
    inv.overlaps.map(([a, b]) => [a.stepId, b.stepId]),
    'batches of two drivers in flight at once',
  ).toEqual([])
  expect(
    inv.driverOverlaps.map(([a, b]) => [a.stepId, b.stepId]),
    'two drivers alive at once',
  ).toEqual([])
  expect(inv.ok).toBe(true)
}

/**
 * The converged state: exactly one live driver of the app, running `version`, its step RUNNING,
 * exactly one marker (the one its step was given), no lock left, and the data safe. Waits a
 * little for a driver that is still starting or a drained one that is still exiting.
 */
export async function expectConverged(t: TestApp, version: string): Promise<void> {
  await t.until(
    async () => {
      const live = await t.liveDrivers()
      return live.length === 1 && live[0]?.version === version
    },
    10_000,
    `exactly one live driver on ${version}: ${JSON.stringify(await t.liveDrivers())}`,
  )
  const [driver] = await t.liveDrivers()
  const step = t.steps().find((s) => s.id === driver?.stepId)
  expect(step?.state).toBe('RUNNING')
  const active = t
    .steps()
    .filter((s) => ['PENDING', 'RUNNING', 'CANCEL_PENDING'].includes(s.state))
    .map((s) => s.id)
  expect(active, 'active steps').toEqual([driver?.stepId])
  const markers = await t.markers()
  expect(markers).toHaveLength(1)
  const markerConf = step?.args.find((a) => a.startsWith('spark.rollover.marker='))
  expect(markerConf).toBe(`spark.rollover.marker=s3://${t.stack.bucket}/${markers[0]}`)
  expect(await t.lockBody(), 'the deploy lock is released').toBeUndefined()
  // Let the new driver commit past the handover before judging the data.
  const committed = (await t.invariants()).committedOffset
  await t.until(
    async () => (await t.invariants()).committedOffset > committed,
    5000,
    'the new driver to commit a batch',
  )
  expectDataSafe(await t.invariants())
}

/** Answers the next `count` calls of an EMR operation with a fault (count 0 clears it). */
export function failNext(stack: Stack, op: string, count: number, kind: FaultKind): void {
  stack.emr.setFaults({ failNext: { [op]: { count, kind } } })
}

/**
 * An `onOutput` callback that runs `inject` once, the moment the action prints `line`: the fault
 * then hits the phase that follows that line. The emulator runs in this process, so it is at once.
 */
export function injectOn(
  line: string | RegExp,
  inject: (match: readonly string[]) => void,
): (chunk: string) => void {
  let done = false
  let seen = ''
  return (chunk) => {
    seen += chunk
    if (done) return
    const match = typeof line === 'string' ? (seen.includes(line) ? [line] : null) : line.exec(seen)
    if (match) {
      done = true
      inject(match)
    }
  }
}
