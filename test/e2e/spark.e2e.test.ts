// End to end on real Spark: the bundled action rolls a real Structured Streaming application
// (test/spark-app: rate source → JSON file sink on S3 through S3A, with a checkpoint, and the
// driver library) from v1 to v2 on the local stack in its real-Spark mode (spark-submit from
// pyspark in local mode; test/emulator/spark-local.ts). The proof is Spark's own output: every
// value of the source up to v2's last commit is in the sink exactly once, v1 wrote the ones
// before the handoff the drivers reported and v2 the rest, and v1 had exited before v2 started.
// Then the stop paths on a real Spark process: CancelSteps ends a client-mode spark-submit's
// whole process tree; a cluster-mode driver outlives CancelSteps, and the action's kill step (by
// YARN tag, through the fake ResourceManager) ends it.
//
// Needs Java 17, Maven and Python 3.9+ (pyspark goes into the project venv on first use).
// Outside CI a machine without them skips, saying what to install; with CI=true it fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildKillStep } from '../../src/contract/kill-step.ts'
import { deploymentTag } from '../../src/contract/identity.ts'
import { buildSparkStep } from '../../src/contract/step.ts'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { readText } from '../emulator/s3-read.ts'
import { realSparkProblem } from '../emulator/spark-local.ts'
import { rollOverRealSpark, sparkProblems, valueAt } from '../emulator/spark-rollover.ts'
import { startStack, type Stack } from '../emulator/stack.ts'
import type { AppInfo } from '../emulator/yarn.ts'

const problem = process.env.CI === 'true' ? undefined : realSparkProblem()
if (problem) console.warn(`real-Spark e2e skipped: ${problem} (with CI=true it fails)`)

/** Bounds only: a loaded two-core machine takes longer, never makes a test wrong. */
const STACK_START_MS = 15 * 60_000 // the first run installs pyspark and builds with Maven
const ROLLOVER_MS = 10 * 60_000
const STOP_PATHS_MS = 5 * 60_000

/** True while any process of the group (spark-submit's bash, then its Java) exists. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0)
    return true
  } catch {
    return false
  }
}

async function exists(stack: Stack, key: string): Promise<boolean> {
  return (await readText(stack.s3, stack.bucket, key)) !== undefined
}

async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${ms / 1000} s waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/**
 * A driver of the default app submitted without the action (marker, then the step), on a stream
 * of its own, in the given deploy mode: the action always submits cluster mode.
 */
async function submit(
  stack: Stack,
  clusterId: string,
  jarUri: string,
  deployMode: 'client' | 'cluster',
): Promise<{ stepId: string; deploymentId: string; markerKey: string }> {
  const deploymentId = `${deployMode}-${Date.now().toString(36)}`
  const markerKey = `rollover/${stack.appName}/markers/${deploymentId}`
  const body = JSON.stringify({ version: 1, app: stack.appName, deploymentId, clusterId })
  await stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: markerKey, Body: body }))
  const spec = buildSparkStep({
    app: stack.app.identity,
    deploymentId,
    mainClass: stack.mainClass,
    sparkSubmitArgs: [],
    appArgs: ['--state', await stack.newStream(deploymentId)],
    jarUri,
    markerUri: `s3://${stack.bucket}/${markerKey}`,
  })
  const args = spec.args.map((arg, i) => (spec.args[i - 1] === '--deploy-mode' ? deployMode : arg))
  const step = stack.emr.state.addStep(clusterId, {
    name: spec.name,
    jar: spec.jar,
    args,
    actionOnFailure: spec.actionOnFailure,
    properties: {},
  })
  return { stepId: step.id, deploymentId, markerKey }
}

describe.skipIf(problem !== undefined)(
  `rollover on real Spark${problem ? ` [skipped: ${problem}]` : ''}`,
  () => {
    let stack: Stack

    beforeAll(async () => {
      stack = await startStack({ realSpark: true, appName: 'spark-e2e' })
    }, STACK_START_MS)
    afterAll(async () => {
      await stack?.stop()
    })

    it(
      'v1 → v2 with the action: every value exactly once, v1 then v2, split where the handoff was',
      async () => {
        const r = await rollOverRealSpark(stack)
        expect(r.first.outputs.result).toBe('first-deploy')
        expect(r.second.outputs).toMatchObject({ result: 'deployed', handoff: 'contiguous' })
        expect(r.record.handoff?.verdict).toBe('contiguous')
        expect(sparkProblems(r)).toEqual([])

        // The same facts, spelled out: what sparkProblems() checked.
        const end = valueAt(r.finalStopped.endOffset)
        const boundary = valueAt(r.record.handoff?.sources[0]?.oldEnd)
        expect(boundary).toBeGreaterThan(0)
        expect(end).toBeGreaterThan(boundary)
        expect(r.sink).toMatchObject({ rows: end, missing: [], duplicated: [] })
        expect(r.sink.ranges).toEqual([
          { version: 'v1', from: 0, to: boundary - 1 },
          { version: 'v2', from: boundary, to: end - 1 },
        ])
        const [v1, v2] = r.lifetimes
        expect(v1?.exitedAt).toBeLessThanOrEqual(v2?.startedAt ?? 0)
        const steps = [...stack.emr.state.steps.values()]
        expect(steps.find((s) => s.id === r.first.outputs['step-id'])?.state).toBe('COMPLETED')
        expect(steps.find((s) => s.id === r.second.outputs['step-id'])?.state).toBe('COMPLETED')
      },
      ROLLOVER_MS,
    )

    it(
      'CancelSteps ends a client-mode spark-submit tree; the kill step ends a cluster-mode driver',
      async () => {
        const cluster = stack.emr.state.addCluster({ name: 'stop-paths', stepConcurrencyLevel: 3 })
        const jar = await stack.makeJar('v3', 'ok', { upload: true })
        // Two drivers at once, one per deploy mode, each on its own stream.
        const clientDriver = await submit(stack, cluster.id, jar, 'client')
        const clustered = await submit(stack, cluster.id, jar, 'cluster')
        const client = clientDriver.stepId
        // Both are up and streaming (a .progress each) before anything stops them.
        await until(
          async () =>
            (await exists(stack, `${clientDriver.markerKey}.progress`)) &&
            (await exists(stack, `${clustered.markerKey}.progress`)),
          180_000,
          'both drivers to commit a batch',
        )
        const running = (stepId: string): AppInfo | undefined =>
          stack.emr.liveApps().find((a) => a.stepId === stepId && a.pid > 0)
        const clientPid = running(client)?.pid as number
        const clusterApp = running(clustered.stepId) as AppInfo
        expect(groupAlive(clientPid)).toBe(true)

        // Client mode: spark-submit is the driver; SEND_INTERRUPT ends its whole process tree.
        expect((await stack.emr.state.cancel(cluster.id, client)).Status).toBe('SUBMITTED')
        await stack.emr.waitFor(() => !groupAlive(clientPid), 60_000, 'the client tree to end')
        await stack.emr.waitFor(
          () => stack.emr.state.steps.get(client)?.state === 'CANCELLED',
          30_000,
          'the client step to be CANCELLED',
        )

        // Cluster mode: the step is cancelled, the driver is not (as on EMR) ...
        expect((await stack.emr.state.cancel(cluster.id, clustered.stepId)).Status).toBe(
          'SUBMITTED',
        )
        await stack.emr.waitFor(
          () => stack.emr.state.steps.get(clustered.stepId)?.state === 'CANCELLED',
          30_000,
          'the cluster step to be CANCELLED',
        )
        expect(groupAlive(clusterApp.pid)).toBe(true)
        expect(stack.emr.yarn.get(clusterApp.appId)?.alive).toBe(true)

        // ... until the action's kill step finds it by its YARN tag and kills it.
        const tag = deploymentTag(stack.app.identity, clustered.deploymentId)
        const kill = buildKillStep({ name: `rollover-kill:spark-e2e:${tag}`, tags: [tag] })
        const killStep = stack.emr.state.addStep(cluster.id, {
          name: kill.name,
          jar: kill.jar,
          args: kill.args,
          actionOnFailure: kill.actionOnFailure,
          properties: {},
        })
        await stack.emr.waitFor(
          () =>
            ['COMPLETED', 'FAILED'].includes(stack.emr.state.steps.get(killStep.id)?.state ?? ''),
          60_000,
          'the kill step',
        )
        expect(
          stack.emr.state.steps.get(killStep.id)?.state,
          stack.emr.stepLogs(killStep.id).join('\n'),
        ).toBe('COMPLETED')
        expect(stack.emr.yarn.get(clusterApp.appId)?.yarnState).toBe('KILLED')
        await stack.emr.waitFor(
          () => !groupAlive(clusterApp.pid),
          30_000,
          'the cluster driver to end',
        )
      },
      STOP_PATHS_MS,
    )
  },
)
