// Shared by the emulator's integration suites (test/integration/emulator*.test.ts): one local
// stack per file, the real @aws-sdk/client-emr against it, a fresh cluster and stream per test,
// and bounded waits on conditions (never on durations).
import {
  AddJobFlowStepsCommand,
  DescribeStepCommand,
  EMRClient,
  type Step,
} from '@aws-sdk/client-emr'
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, afterEach, beforeAll, describe } from 'vitest'
import type { StepSpec } from '../../src/aws/emr-port.ts'
import { appIdentity, type AppIdentity } from '../../src/contract/identity.ts'
import { buildSparkStep } from '../../src/contract/step.ts'
import type { ActivityEvent } from '../emulator/contract.ts'
import type { ClusterSpec } from '../emulator/emr-state.ts'
import { startStack, type Stack, type StackOptions } from '../emulator/stack.ts'
import { MOTO_MISSING, motoAvailable } from '../support/moto.ts'

export const ROLE = 'arn:aws:iam::123456789012:role/emr-step'
const skip = !motoAvailable() && process.env.CI !== 'true'

export interface EmulatorContext {
  readonly stack: Stack
  readonly emr: EMRClient
  client(maxAttempts: number): EMRClient
  /** The identity the action gives `appName` (default the stack's) under the stack's prefix. */
  app(appName?: string): AppIdentity
  /** A fresh cluster and stream: steps cannot be deleted, and queues must not mix. */
  fresh(
    name: string,
    cluster?: Partial<ClusterSpec>,
  ): Promise<{ clusterId: string; state: string; runtimeRoles: boolean }>
  /** AddJobFlowSteps with the SDK; `role` defaults to one on runtime-role clusters only. */
  addStep(clusterId: string, spec: StepSpec, role?: string | null): Promise<string>
  /** Writes the marker first (as the action does), then submits the spark step. */
  submit(
    clusterId: string,
    jarUri: string,
    state: string,
    options?: { sparkSubmitArgs?: string[]; markerBody?: unknown; appName?: string },
  ): Promise<{ stepId: string; markerKey: string; deploymentId: string }>
  waitForStep(clusterId: string, stepId: string, states: string[], ms?: number): Promise<Step>
  waitForEvents(
    state: string,
    check: (events: ActivityEvent[]) => boolean,
    ms?: number,
  ): Promise<ActivityEvent[]>
  until<T>(
    check: () => Promise<T | undefined | false> | T | undefined | false,
    ms: number,
    what: string,
  ): Promise<T>
  deleteMarker(key: string): Promise<void>
  putObject(key: string, body: string, bucket?: string): Promise<void>
  getText(key: string, bucket?: string): Promise<string | undefined>
}

export const batchEnds = (events: ActivityEvent[], after = 0, stepId?: string) =>
  events.filter(
    (e) => e.event === 'batch-end' && e.t > after && (stepId === undefined || e.stepId === stepId),
  ).length

export function describeEmulator(
  name: string,
  body: (ctx: EmulatorContext) => void,
  options: StackOptions = {},
): void {
  if (skip) console.warn(`${name} skipped: ${MOTO_MISSING}`)
  describe.skipIf(skip)(`${name}${skip ? ` [skipped: ${MOTO_MISSING}]` : ''}`, () => {
    let stack: Stack | undefined
    let emr: EMRClient | undefined
    let seq = 0
    const runtimeRoleClusters = new Set<string>()

    beforeAll(async () => {
      stack = await startStack({ timings: { killGraceMs: 250 }, ...options })
      emr = ctx.client(3)
    })
    afterAll(async () => {
      emr?.destroy()
      await stack?.stop()
    })
    afterEach(async () => {
      await stack?.reset()
    })

    const ctx: EmulatorContext = {
      get stack(): Stack {
        if (!stack) throw new Error('the stack is not running (use it inside tests only)')
        return stack
      },
      get emr(): EMRClient {
        if (!emr) throw new Error('the stack is not running (use it inside tests only)')
        return emr
      },
      app(appName) {
        return appIdentity(
          { bucket: ctx.stack.bucket, key: 'rollover' },
          appName ?? ctx.stack.appName,
        )
      },
      client(maxAttempts) {
        return new EMRClient({
          endpoint: ctx.stack.emrEndpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
          maxAttempts,
        })
      },
      async fresh(slug, cluster = {}) {
        seq += 1
        const created = ctx.stack.emr.state.addCluster({
          name: `t-${slug}-${seq}`,
          stepConcurrencyLevel: 1,
          ...cluster,
        })
        if (created.runtimeRoles) runtimeRoleClusters.add(created.id)
        const state = await ctx.stack.newStream(`${slug}-${seq}`)
        return { clusterId: created.id, state, runtimeRoles: created.runtimeRoles }
      },
      async addStep(clusterId, spec, role) {
        const arn =
          role === undefined ? (runtimeRoleClusters.has(clusterId) ? ROLE : undefined) : role
        const out = await ctx.emr.send(
          new AddJobFlowStepsCommand({
            JobFlowId: clusterId,
            Steps: [
              {
                Name: spec.name,
                ActionOnFailure: spec.actionOnFailure,
                HadoopJarStep: { Jar: spec.jar, Args: [...spec.args] },
              },
            ],
            ...(arn ? { ExecutionRoleArn: arn } : {}),
          }),
        )
        return out.StepIds?.[0] as string
      },
      async submit(clusterId, jarUri, state, options = {}) {
        seq += 1
        const appName = options.appName ?? ctx.stack.appName
        const deploymentId = `d${seq}`
        const markerKey = `rollover/${appName}/markers/${deploymentId}`
        const body = options.markerBody ?? { version: 1, app: appName, deploymentId }
        await ctx.putObject(markerKey, JSON.stringify(body))
        const spec = buildSparkStep({
          app: ctx.app(appName),
          deploymentId,
          mainClass: ctx.stack.mainClass,
          sparkSubmitArgs: options.sparkSubmitArgs ?? ['--conf', 'spark.executor.memory=2g'],
          appArgs: ['--state', state],
          jarUri,
          markerUri: `s3://${ctx.stack.bucket}/${markerKey}`,
        })
        return { stepId: await ctx.addStep(clusterId, spec), markerKey, deploymentId }
      },
      async waitForStep(clusterId, stepId, states, ms = 15_000) {
        const deadline = Date.now() + ms
        for (;;) {
          const { Step: step } = await ctx.emr.send(
            new DescribeStepCommand({ ClusterId: clusterId, StepId: stepId }),
          )
          if (states.includes(step?.Status?.State ?? '')) return step as Step
          if (Date.now() > deadline) {
            const logs = ctx.stack.emr.stepLogs(stepId).slice(-10).join('\n')
            throw new Error(`step ${stepId} is ${step?.Status?.State}, not ${states}\n${logs}`)
          }
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      },
      async waitForEvents(state, check, ms = 15_000) {
        const deadline = Date.now() + ms
        for (;;) {
          const events = await ctx.stack.readActivity(state)
          if (check(events)) return events
          if (Date.now() > deadline) {
            throw new Error(`activity not reached:\n${JSON.stringify(events.slice(-30))}`)
          }
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      },
      async until(check, ms, what) {
        const deadline = Date.now() + ms
        for (;;) {
          const value = await check()
          if (value !== undefined && value !== false) return value
          if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      },
      async deleteMarker(key) {
        await ctx.stack.s3.send(new DeleteObjectCommand({ Bucket: ctx.stack.bucket, Key: key }))
      },
      async putObject(key, body, bucket) {
        await ctx.stack.s3.send(
          new PutObjectCommand({ Bucket: bucket ?? ctx.stack.bucket, Key: key, Body: body }),
        )
      },
      async getText(key, bucket) {
        try {
          const out = await ctx.stack.s3.send(
            new GetObjectCommand({ Bucket: bucket ?? ctx.stack.bucket, Key: key }),
          )
          return await out.Body?.transformToString()
        } catch (error) {
          if ((error as { name?: string }).name === 'NoSuchKey') return undefined
          throw error
        }
      },
    }
    body(ctx)
  })
}
